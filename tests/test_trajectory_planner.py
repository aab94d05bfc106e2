"""The scan planner on the simulated phantom: consistent plans (joints reproduce the
poses, approach/retract along the normal), imaging planes, the failing span of an
unreachable path, the probe flip, and the loop-side pose interpolation."""

import numpy as np
import pytest

from robot_us.config import Config
from robot_us.control_cycle import probe_transform
from robot_us.core.kinematics import ArmKinematics
from robot_us.core.types import SegmentKind, SurfacePath
from sim.phantom_geometry import PhantomGeometry
from trajectory.errors import FailureReason, PlanningError
from trajectory.planner import ScanPlanner
from trajectory.probe_path import ProbePath

CFG = Config()


def _kin(model: str) -> ArmKinematics:
    return ArmKinematics(model, probe_transform(CFG.probe.tip_offset))


@pytest.fixture(scope="module")
def panda():
    kin = _kin("panda")
    return kin, ScanPlanner(kin, CFG.trajectory)


@pytest.fixture(scope="module")
def phantom():
    return PhantomGeometry.from_config(CFG.sim.phantom, CFG.sim.bed)


def _phantom_path(phantom, n=120):
    """Over the near side of the body and along it (about 190 mm)."""
    theta = np.linspace(-0.5, 0.1, n)
    y = np.linspace(-0.08, 0.08, n)
    return SurfacePath(*phantom.surface_point(theta, y))


def _rot_err(A, B):
    c = (np.trace(A[:3, :3].T @ B[:3, :3]) - 1) / 2
    return np.arccos(np.clip(c, -1, 1))


def test_plan_is_consistent(panda, phantom):
    kin, planner = panda
    plan = planner.plan(_phantom_path(phantom), kin.q_ready)
    kinds = plan.kinds
    order = [SegmentKind.TRANSFER, SegmentKind.APPROACH, SegmentKind.SWEEP, SegmentKind.RETRACT]
    assert [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k] == order
    np.testing.assert_allclose(plan.joints[0], kin.q_ready, atol=1e-9)
    # joints reproduce the poses wherever the probe must be exact
    for i in np.flatnonzero([k != SegmentKind.TRANSFER for k in kinds]):
        T = kin.fk(plan.joints[i])
        assert np.linalg.norm(T[:3, 3] - plan.poses[i, :3, 3]) < 1e-4
        assert _rot_err(T, plan.poses[i]) < 1e-3
    lim = kin.limits
    margin = CFG.trajectory.joint_limit_margin
    assert np.all(plan.joints[len(plan.segment(SegmentKind.TRANSFER)) :] >= lim.lower + margin)
    assert np.all(plan.joints <= lim.upper)
    sweep = plan.segment(SegmentKind.SWEEP)
    s = plan.arc_length[sweep]
    assert s[0] == 0 and np.all(np.diff(s) > 0)
    np.testing.assert_allclose(np.diff(s)[:-1], CFG.trajectory.resample_step, atol=1e-9)
    # probe z on the skin normal along the sweep
    _, n = phantom.closest_point(plan.poses[sweep, :3, 3])
    cos = np.einsum("ij,ij->i", plan.poses[sweep, :3, 2], -n)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5
    # approach from the stand-off along the normal, retract back out
    app, ret = plan.segment(SegmentKind.APPROACH), plan.segment(SegmentKind.RETRACT)
    T0, T1 = plan.poses[sweep[0]], plan.poses[sweep[-1]]
    np.testing.assert_allclose(plan.poses[app[0], :3, 3], T0[:3, 3] - 0.05 * T0[:3, 2], atol=1e-9)
    np.testing.assert_allclose(plan.poses[ret[-1], :3, 3], T1[:3, 3] - 0.05 * T1[:3, 2], atol=1e-9)
    assert np.all(plan.arc_length[app] == 0) and np.all(plan.arc_length[ret] == s[-1])
    # timing
    d = plan.segment_durations_s
    assert set(d) == {"transfer", "approach", "sweep", "retract"}
    assert plan.duration_s == pytest.approx(sum(d.values()))
    assert d["sweep"] > s[-1] / plan.speed_m_s
    assert plan.max_speed_m_s > plan.speed_m_s


def test_transverse_plane_turns_the_image_across_the_path(panda, phantom):
    kin, planner = panda
    path = _phantom_path(phantom)
    lon = planner.plan(path, kin.q_ready, plane="longitudinal")
    tra = planner.plan(path, kin.q_ready, plane="transverse")
    a, b = lon.poses[lon.segment(SegmentKind.SWEEP)], tra.poses[tra.segment(SegmentKind.SWEEP)]
    tangent = np.gradient(a[:, :3, 3], axis=0)
    tangent /= np.linalg.norm(tangent, axis=1)[:, None]
    assert np.einsum("ij,ij->i", a[:, :3, 0], tangent).min() > 0.99
    assert np.einsum("ij,ij->i", b[:, :3, 1], tangent).min() > 0.99
    np.testing.assert_allclose(a[:, :3, 2], b[:, :3, 2], atol=1e-12)


def _exists_ik(kin, planner, T) -> bool:
    """Independent reachability: many random restarts, limits with margin, manipulability."""
    for _ in range(3):
        q, ok, _ = kin.ik(T, None, iterations=30, searches=100, tol=1e-12)
        if ok and planner.ik.check(q, T, True)[0] is None:
            return True
    return False


def test_unreachable_path_names_the_right_span(panda):
    """Out along y = -0.1 to x = 1.0 m, round a 0.1 m half circle, back along y = +0.1:
    the far part is out of reach; the span must start and end where an independent
    exhaustive IK search says reachability ends and resumes."""
    kin, planner = panda
    a = np.linspace(0, 1, 200)[:, None]
    leg = 0.55
    out = np.array([0.45, -0.1, 0.1]) + a * [leg, 0, 0]
    phi = np.linspace(-np.pi / 2, np.pi / 2, 100)[1:-1, None]
    turn = np.hstack([1.0 + 0.1 * np.cos(phi), 0.1 * np.sin(phi), np.full_like(phi, 0.1)])
    back = np.array([1.0, 0.1, 0.1]) - a * [leg, 0, 0]
    pts = np.vstack([out, turn, back])
    path = SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (len(pts), 1)))
    with pytest.raises(PlanningError, match="mm from the start") as e:
        planner.plan(path, kin.q_ready)
    err = e.value
    assert err.reason in (FailureReason.OUT_OF_REACH, FailureReason.NEAR_SINGULAR)
    assert "out of reach" in str(err)
    s0, s1 = err.span_m
    total = 2 * leg + np.pi * 0.1

    def pose(s):  # probe pose at arc length s on the input path (longitudinal, face down)
        if s <= leg:
            p, t = [0.45 + s, -0.1, 0.1], [1.0, 0, 0]
        else:
            p, t = [1.0 - (s - leg - np.pi * 0.1), 0.1, 0.1], [-1.0, 0, 0]
        T = np.eye(4)
        T[:3, 0], T[:3, 2], T[:3, 3] = t, [0, 0, -1.0], p
        T[:3, 1] = np.cross(T[:3, 2], T[:3, 0])
        return T

    def boundary(lo, hi, reachable_at_lo):
        for _ in range(7):  # bisection to ~4 mm
            mid = 0.5 * (lo + hi)
            if _exists_ik(kin, planner, pose(mid)) == reachable_at_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    s_out = boundary(0.0, leg, True)
    s_back = boundary(leg + np.pi * 0.1, total, False)
    assert s0 == pytest.approx(s_out, abs=0.01)
    assert s1 == pytest.approx(s_back, abs=0.01)


def test_flip_is_offered_and_used_when_it_is_the_only_way(panda):
    """A 300 deg circle turns the probe by 300 deg about its axis: joint 7 only fits that
    range from one end, which the probe turned 180 deg reaches."""
    kin, planner = panda
    phi = np.radians(-90) + np.linspace(0, np.radians(300), 200)
    pts = np.stack([0.55 + 0.06 * np.cos(phi), 0.06 * np.sin(phi), np.full(200, 0.1)], 1)
    path = SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (200, 1)))
    with pytest.raises(PlanningError, match="--allow-flip") as e:
        planner.plan(path, kin.q_ready)
    assert e.value.flip_feasible and e.value.reason is FailureReason.JOINT_LIMIT
    plan = planner.plan(path, kin.q_ready, allow_flip=True)
    assert plan.flipped
    sweep = plan.poses[plan.segment(SegmentKind.SWEEP)]
    tangent = np.gradient(sweep[:, :3, 3], axis=0)
    tangent /= np.linalg.norm(tangent, axis=1)[:, None]
    assert np.einsum("ij,ij->i", sweep[:, :3, 0], tangent).max() < -0.99


def test_lbr_plans_along_the_body(phantom):
    kin = _kin("lbr")
    theta, y = np.zeros(60), np.linspace(-0.1, 0.1, 60)
    plan = ScanPlanner(kin, CFG.trajectory).plan(
        SurfacePath(*phantom.surface_point(theta, y)), kin.q_ready
    )
    assert plan.robot == "lbr" and plan.joints.shape[1] == 7


def test_bad_requests_are_rejected(panda, phantom):
    kin, planner = panda
    path = _phantom_path(phantom)
    with pytest.raises(ValueError, match="mm/s"):
        planner.plan(path, kin.q_ready, speed=0.08)
    q = kin.q_ready.copy()
    q[3] = 0.5  # Panda joint 4 must be negative
    with pytest.raises(PlanningError, match="joint 4") as e:
        planner.plan(path, q)
    assert e.value.reason is FailureReason.START_STATE


def test_probe_path_interpolates_the_sweep(panda, phantom):
    kin, planner = panda
    plan = planner.plan(_phantom_path(phantom), kin.q_ready)
    pp = ProbePath.from_plan(plan)
    idx = plan.segment(SegmentKind.SWEEP)
    out = np.empty((4, 4))
    for i in idx[::17]:
        np.testing.assert_allclose(pp.pose_at(plan.arc_length[i], out), plan.poses[i], atol=1e-9)
    i = idx[40]
    mid = pp.pose_at(0.5 * (plan.arc_length[i] + plan.arc_length[i + 1]), out)
    np.testing.assert_allclose(
        mid[:3, 3], 0.5 * (plan.poses[i, :3, 3] + plan.poses[i + 1, :3, 3]), atol=1e-12
    )
    np.testing.assert_allclose(mid[:3, :3] @ mid[:3, :3].T, np.eye(3), atol=1e-12)
    assert _rot_err(mid, plan.poses[i]) <= _rot_err(plan.poses[i + 1], plan.poses[i]) + 1e-9
    np.testing.assert_allclose(pp.pose_at(-1.0, out), plan.poses[idx[0]], atol=1e-9)
    np.testing.assert_allclose(pp.pose_at(9.0, out), plan.poses[idx[-1]], atol=1e-9)


def test_too_fast_for_the_joints_names_the_speed(phantom):
    import dataclasses

    kin = _kin("panda")
    cfg = dataclasses.replace(CFG.trajectory, joint_velocity_scale=0.05)
    with pytest.raises(PlanningError, match="mm/s there") as e:
        ScanPlanner(kin, cfg).plan(_phantom_path(phantom), kin.q_ready, speed=0.05)
    assert e.value.reason is FailureReason.JOINT_SPEED
    plan = ScanPlanner(kin, cfg).plan(_phantom_path(phantom), kin.q_ready, speed=0.002)
    assert 0.002 <= plan.max_speed_m_s < 0.05
