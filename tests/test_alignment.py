"""Probe alignment from the contact moments (``force_control.alignment``): the direction
and rate of the tilt, its bounds (cone, dead band, minimum force, axes), and the
controller with it on (tilts towards the moment, stops at the bound, resets at the next
approach) and off (nothing changes)."""

import dataclasses
import math

import numpy as np
import pytest

from force_control import Event, ForceControlConfig, Mode
from force_control.alignment import AlignmentConfig, ProbeAlignment
from force_control.pose_error import rotation_log
from tests.kinematic_plant import PlanePlant, probe_down_pose
from tests.test_force_controller import run, start_above

DT = 1e-3


def make(**kw) -> ProbeAlignment:
    args = {"gain": 20.0, "deadband": 0.0, "max_tilt": 0.05, "min_force": 2.0, "dt": DT}
    args.update(kw)
    return ProbeAlignment(**args)


def test_tilt_lifts_the_edge_that_presses_harder():
    al = make()
    # centre of pressure 2 mm towards +x at 5 N: my = -F c_x; tilt about +y lifts +x
    tx, ty = al.update(5.0, 0.0, -5.0 * 0.002)
    assert tx == 0.0 and ty == pytest.approx(20.0 * DT * 0.002)
    # 2 mm towards +y: mx = F c_y; tilt about -x lifts +y
    al.reset()
    tx, ty = al.update(5.0, 5.0 * 0.002, 0.0)
    assert ty == 0.0 and tx == pytest.approx(-20.0 * DT * 0.002)


def test_tilt_is_bounded_by_a_cone():
    al = make(max_tilt=0.04)
    for _ in range(20000):  # 20 s of a 10 mm offset on both axes
        tx, ty = al.update(5.0, 0.05, -0.05)
    assert math.hypot(tx, ty) == pytest.approx(0.04, rel=1e-12)
    assert tx == pytest.approx(-ty)  # the direction is kept


def test_dead_band_minimum_force_and_axes():
    al = make(deadband=0.001)
    assert al.update(5.0, 5.0 * 0.0009, -5.0 * 0.0009) == (0.0, 0.0)  # inside the band
    tx, ty = al.update(5.0, 0.0, -5.0 * 0.003)  # 3 mm: 2 mm beyond the band
    assert ty == pytest.approx(20.0 * DT * 0.002)
    held = al.update(1.0, 0.0, -1.0 * 0.01)  # below min_force: held
    assert held == (tx, ty)
    gated = make(min_stiffness=4000.0)
    assert gated.update(5.0, 0.0, -0.05, 3000.0) == (0.0, 0.0)  # soft tissue: held
    assert gated.update(5.0, 0.0, -0.05, 5000.0)[1] > 0.0
    y_only = make(axes=(0.0, 1.0))
    tx, ty = y_only.update(5.0, 0.05, -0.05)
    assert tx == 0.0 and ty > 0.0


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="max_tilt"):
        make(max_tilt=-0.1)
    with pytest.raises(ValueError, match="min_force"):
        make(min_force=0.0)
    with pytest.raises(ValueError, match="axes"):
        make(axes=(0.0, 2.0))


def _tilt_after_moment(cfg: ForceControlConfig, my: float, seconds: float = 4.0):
    """Settle at 5 N on the plane, then press with a moment ``my`` about probe y (N·m);
    returns the plant and the probe's rotation since then (rotation vector, probe frame)."""
    plant = PlanePlant(cfg=cfg)
    start_above(plant)
    plant.ctl.approach()
    run(plant, 2.0)
    assert plant.ctl.mode is Mode.CONTACT
    R0 = plant.inp.T_base_probe[:3, :3].copy()
    plant.moment[:] = (0.0, my)
    run(plant, seconds)
    rot = rotation_log(R0.T @ plant.inp.T_base_probe[:3, :3], np.zeros(3))
    return plant, rot


def _enabled(**kw) -> ForceControlConfig:
    cfg = ForceControlConfig()
    al = dataclasses.replace(cfg.alignment, enabled=True, **kw)
    return dataclasses.replace(cfg, alignment=al)


def test_controller_tilts_towards_the_moment_up_to_the_bound_and_resets():
    cfg = _enabled(max_tilt=0.03, min_stiffness=0.0)  # the plane is 2000 N/m
    # centre of pressure 5 mm towards +x (4 mm beyond the dead band): 20 * 0.004 =
    # 0.08 rad/s, the 0.03 rad bound in ~0.4 s
    plant, rot = _tilt_after_moment(cfg, -5.0 * 0.005)
    assert rot[1] == pytest.approx(0.03, abs=2e-3)
    assert abs(rot[0]) < 1e-3 and abs(rot[2]) < 1e-3
    assert plant.ctl.mode is Mode.CONTACT and abs(plant.force - 5.0) < 0.3
    # the next approach starts from the planned orientation
    plant.moment[:] = 0.0
    plant.ctl.retract()
    run(plant, 3.0)
    plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0)
    plant.ctl.approach()
    events = run(plant, 0.01)
    assert plant.ctl.alignment.tilt_x == 0.0 and plant.ctl.alignment.tilt_y == 0.0
    assert Event.CONTACT_MADE not in [e for _, e in events]


def test_controller_holds_the_plan_on_tissue_softer_than_min_stiffness():
    plant, rot = _tilt_after_moment(_enabled(min_stiffness=4000.0), -5.0 * 0.005)
    assert plant.ctl.out.stiffness < 4000.0
    assert np.abs(rot).max() < 1e-4


def test_disabled_alignment_changes_nothing():
    assert ForceControlConfig().alignment == AlignmentConfig()
    assert AlignmentConfig().enabled is False
    plant, rot = _tilt_after_moment(ForceControlConfig(), -5.0 * 0.005)
    assert plant.ctl.alignment is None
    assert np.abs(rot).max() < 1e-4
    # on with zero gain: the same commands as off
    off = PlanePlant()
    on = PlanePlant(cfg=_enabled(gain=0.0))
    for p in (off, on):
        start_above(p)
        p.moment[:] = (0.01, -0.02)
        p.ctl.approach()
    for _ in range(1500):
        assert np.array_equal(off.step().qd, on.step().qd)
