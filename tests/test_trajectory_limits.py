"""Bounded plans: a speed that would make the plan longer than trajectory.max_duration is
refused (before solving, and on the assembled plan with its transfer), paths too long for
any allowed speed are refused before resampling, slow speeds are printed with their
digits, and a path or a pose outside the safety workspace box is refused naming where."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from robot_us.cli import main
from robot_us.config import Config
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.core.types import SegmentKind, SurfacePath
from sim.phantom_geometry import PhantomGeometry
from trajectory.errors import FailureReason, PlanningError
from trajectory.formats import path_to_dict
from trajectory.path_geometry import longest_path, spline_resample
from trajectory.planner import ScanPlanner
from trajectory.workspace import WorkspaceBox

CFG = Config()


@pytest.fixture(scope="module")
def kin():
    return ArmKinematics("panda", probe_transform(CFG.probe.tip_offset))


@pytest.fixture(scope="module")
def path():
    """Over the near side of the body and along it (about 90 mm)."""
    geo = PhantomGeometry.from_config(CFG.sim.phantom, CFG.sim.bed)
    return SurfacePath(*geo.surface_point(np.linspace(-0.3, 0.0, 60), np.linspace(-0.06, 0.06, 60)))


def test_a_speed_too_slow_for_max_duration_is_refused_before_solving(kin, path):
    planner = ScanPlanner(kin, CFG.trajectory)
    with pytest.raises(PlanningError) as e:
        planner.plan(path, kin.q_ready, speed=1e-7)
    assert e.value.reason is FailureReason.TOO_LONG
    msg = str(e.value)
    assert (
        "at 0.0001 mm/s the 134.2 mm sweep makes the plan at least" in msg
        and "longest allowed is 600 s" in msg
    )
    assert "trajectory.max_duration" in msg and "scan at about 0.228 mm/s or faster" in msg


def test_the_assembled_plan_with_its_transfer_is_held_to_max_duration(kin, path):
    plan = ScanPlanner(kin, CFG.trajectory).plan(path, kin.q_ready)
    transfer = plan.segment_durations_s["transfer"]
    assert transfer > 1.0
    cfg = dataclasses.replace(CFG.trajectory, max_duration=plan.duration_s - transfer / 2)
    with pytest.raises(PlanningError, match=r"the plan takes .* s \(transfer .*longest allowed"):
        ScanPlanner(kin, cfg).plan(path, kin.q_ready)
    cfg = dataclasses.replace(CFG.trajectory, max_duration=plan.duration_s + 0.1)
    assert ScanPlanner(kin, cfg).plan(path, kin.q_ready).duration_s == plan.duration_s


def test_a_path_longer_than_any_speed_sweeps_is_refused_before_resampling():
    cfg = CFG.trajectory
    x = np.linspace(0.0, 1.0, 4)
    # 3 points zig-zagging 1 m 100 times: 200 m of path
    pts = np.column_stack([np.tile(np.r_[x, x[::-1]], 100), np.zeros(800), np.zeros(800)])
    with pytest.raises(PlanningError, match=r"path is 200\.00 m long; the longest .* is 30 m") as e:
        spline_resample(SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (800, 1))), cfg)
    assert e.value.reason is FailureReason.TOO_LONG and longest_path(cfg) == 30.0


def test_path_outside_the_workspace_box_names_the_span(kin, path):
    box = WorkspaceBox(
        np.array([0.2, -0.02, 0.0]), np.array([0.95, 0.5, 0.8]), "safety.workspace_min/max"
    )
    with pytest.raises(PlanningError) as e:
        ScanPlanner(kin, CFG.trajectory, workspace=box).plan(path, kin.q_ready)
    assert e.value.reason is FailureReason.WORKSPACE
    a, b = e.value.span_m
    assert a == 0.0 and 0.02 < b < 0.07  # the first part, y < -20 mm
    msg = str(e.value)
    assert msg.startswith("the path leaves the workspace by 40.0 mm along y")
    assert "(safety.workspace_min/max: x 0.2..0.95, y -0.02..0.5, z 0..0.8 m)" in msg
    assert f"between 0.0 and {b * 1e3:.1f} mm from the start" in msg


def test_approach_and_transfer_outside_the_workspace_box_are_refused(kin, path):
    plan = ScanPlanner(kin, CFG.trajectory).plan(path, kin.q_ready)
    lo = np.array([0.2, -0.5, 0.0])
    top = float(path.points[:, 2].max()) + 0.02  # the path fits; the 50 mm stand-off not
    box = WorkspaceBox(lo, np.array([0.95, 0.5, top]))
    with pytest.raises(PlanningError, match="the approach to the path start leaves the work"):
        ScanPlanner(kin, CFG.trajectory, workspace=box).plan(path, kin.q_ready)
    # high enough for approach and retract, not for the transfer's raised via pose
    normal = np.r_[plan.segment(SegmentKind.APPROACH), plan.segment(SegmentKind.RETRACT)]
    high = plan.poses[normal, 2, 3].max() + 0.01
    box = WorkspaceBox(lo, np.array([0.95, 0.5, high]))
    with pytest.raises(PlanningError, match="the transfer move to the approach leaves the"):
        ScanPlanner(kin, CFG.trajectory, workspace=box).plan(path, kin.q_ready)


def test_bad_workspace_boxes():
    with pytest.raises(ValueError, match="is not a box"):
        WorkspaceBox(np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="3 finite numbers"):
        WorkspaceBox(np.array([0.0, np.nan, 0.0]), np.ones(3))


def test_plan_command_speed_duration_and_workspace(tmp_path, path, capsys):
    src, out = tmp_path / "path.json", tmp_path / "plan.json"
    src.write_text(json.dumps(path_to_dict(path)))
    args = ["plan", "--path", str(src), "--out", str(out)]
    assert main([*args, "--speed", "0.0001"]) != 0
    err = capsys.readouterr().err
    assert "at 0.0001 mm/s" in err and "trajectory.max_duration" in err
    assert not out.exists()
    assert main([*args, "--speed", "0.25"]) == 0, capsys.readouterr().err
    assert " at 0.25 mm/s " in capsys.readouterr().out
    # the same path 300 mm lower: below the bed, outside safety.workspace_min
    low = SurfacePath(path.points - [0.0, 0.0, 0.3], path.normals)
    low_src, low_out = tmp_path / "low.json", tmp_path / "low_plan.json"
    low_src.write_text(json.dumps(path_to_dict(low)))
    assert main(["plan", "--path", str(low_src), "--out", str(low_out)]) != 0
    err = capsys.readouterr().err
    assert "leaves the workspace by" in err and "along z (safety.workspace_min/max" in err
    assert "mm from the start" in err and not low_out.exists()
