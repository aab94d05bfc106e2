"""The force-tracking benchmark's reference path: 100 mm on the exact phantom skin, probe
z on the inward normal, smooth constant-speed time law, consistent twist."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from robot_us.config import load_config
from sim.phantom_geometry import PhantomGeometry

_PATH = Path(__file__).resolve().parents[1] / "bench" / "force_tracking.py"


@pytest.fixture(scope="module")
def ft():
    spec = importlib.util.spec_from_file_location("force_tracking_bench", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_time_law_is_smooth_and_reaches_the_end(ft):
    s, v = ft.time_law(0.1, 0.01, 0.5, 1e-3)
    assert s[-1] == pytest.approx(0.1, abs=1e-6)
    assert v.max() == pytest.approx(0.01)
    assert np.abs(np.diff(v)).max() < 0.01 * math.pi / 2 / 0.5 * 1e-3 * 1.01  # accel bound
    assert np.all(np.diff(s) >= 0)
    with pytest.raises(ValueError, match="too short"):
        ft.time_law(0.001, 0.01, 0.5, 1e-3)


def test_reference_lies_on_the_skin_with_probe_on_the_normal(ft):
    cfg = load_config()
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    ref = ft.reference(g, 1e-3)
    assert ref["length"] == pytest.approx(0.1)
    T, p, n = ref["T"], ref["points"], ref["normals"]
    assert np.abs(g.signed_distance(p)).max() < 1e-12
    assert np.allclose(T[:, :3, 2], -n)  # probe z = inward normal
    R = T[:, :3, :3]
    assert np.allclose(np.einsum("kji,kjl->kil", R, R), np.eye(3), atol=1e-12)
    # the twist integrates to the next pose (position and orientation)
    dt = 1e-3
    dp = (T[1:, :3, 3] - T[:-1, :3, 3]) / dt
    assert np.abs(dp - ref["twist"][:-1, :3]).max() < 1e-4
    z_pred = T[:-1, :3, 2] + np.cross(ref["twist"][:-1, 3:], T[:-1, :3, 2]) * dt
    assert np.abs(z_pred - T[1:, :3, 2]).max() < 1e-8


def test_tilted_plan_turns_about_the_probe_y_axis_at_the_tip(ft):
    cfg = load_config()
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    ref = ft.reference(g, 1e-3)
    T0 = ref["T"].copy()
    ft.tilt_plan(ref, math.radians(2.0))
    T = ref["T"]
    assert np.array_equal(T[:, :3, 3], T0[:, :3, 3])  # the tip stays on the path
    assert np.allclose(T[:, :3, 1], T0[:, :3, 1])  # about the probe's y axis
    cos = np.einsum("ki,ki->k", T[:, :3, 2], T0[:, :3, 2])
    assert np.allclose(np.degrees(np.arccos(np.clip(cos, -1, 1))), 2.0, atol=1e-6)
    # +x edge lifted: the x axis turns away from the tissue (towards -z of the plan)
    assert np.all(np.einsum("ki,ki->k", T[:, :3, 0], T0[:, :3, 2]) < 0)
