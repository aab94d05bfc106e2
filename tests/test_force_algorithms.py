"""Pure pieces of the controller: pose error, admittance, hybrid law, damped least
squares with null space, joint rate limits, contact detection."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from force_control.admittance import Admittance
from force_control.contact import ContactChange, ContactDetector
from force_control.damped_least_squares import DampedLeastSquares
from force_control.hybrid_law import HybridLaw
from force_control.joint_rate_limiter import JointRateLimiter
from force_control.pose_error import PoseError, rotation_log
from robot_us.core.kinematics import ArmKinematics


def test_rotation_log_matches_scipy_including_near_pi():
    rng = np.random.default_rng(0)
    out = np.zeros(3)
    for _ in range(50):
        rv = rng.normal(size=3)
        rv *= rng.uniform(0, 3.1) / np.linalg.norm(rv)
        R = Rotation.from_rotvec(rv).as_matrix()
        assert rotation_log(R, out) == pytest.approx(rv, abs=1e-7)
    rv = np.array([0.0, 1.0, 0.0]) * (math.pi - 1e-5)
    got = rotation_log(Rotation.from_rotvec(rv).as_matrix(), out)
    assert abs(np.linalg.norm(got) - np.linalg.norm(rv)) < 1e-4
    assert abs(abs(got[1]) - np.linalg.norm(rv)) < 1e-4


def test_pose_error_in_probe_frame():
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    Tref = T.copy()
    Tref[:3, 3] = [0.01, 0.02, 0.0]
    Tref[:3, :3] = T[:3, :3] @ Rotation.from_rotvec([0, 0.1, 0]).as_matrix()
    e = PoseError(T, Tref).update()
    assert e[:3] == pytest.approx([0.01, -0.02, 0.0])  # probe y is -base y
    assert e[3:] == pytest.approx([0.0, 0.1, 0.0])


def _adm(ki=0.0, ilim=0.0):
    return Admittance(
        np.full(6, 0.5), np.full(6, 50.0), np.full(6, ki), np.full(6, ilim), np.full(6, 0.05), 1e-3
    )


def test_admittance_steady_state_clamp_and_antiwindup():
    a = _adm()
    for _ in range(2000):
        v = a.update([1.0] * 6, None)
    assert v == pytest.approx([1.0 / 50.0] * 6)
    for _ in range(2000):
        v = a.update([100.0] * 6, None)
    assert max(abs(x) for x in v) <= 0.05 + 1e-12  # velocity clamp
    v = a.update([100.0] * 6, None, vmax=[0.01] * 6)
    assert max(abs(x) for x in v) <= 0.01 + 1e-12  # per-cycle clamp
    a = _adm(ki=0.2, ilim=0.1)
    for _ in range(5000):
        a.update([0.0] * 6, [10.0] * 6)
    assert a.integral == pytest.approx(np.full(6, 0.1))  # integral clamp
    a.reset()
    a.update([1.0] * 6, [1.0] * 6)
    before = a.integral.copy()
    a.back_calculate(0.5, [1.0] * 6)
    assert a.integral == pytest.approx(before - 1e-3)  # the cycle's integration undone
    assert a.v == pytest.approx(0.5 * a.beta[0] * np.ones(6))


def test_hybrid_law_selection_modes():
    law = HybridLaw(_adm(), np.full(6, 8.0), np.zeros(6), 1, 1)
    hybrid = law.selection(np.array([0, 0, 1, 0, 0, 0.0]))
    e = np.array([0.01, -0.01, 0.02, 0.0, 0.01, 0.0])
    w = np.zeros(6)
    wdes = [0, 0, 5.0, 0, 0, 0]
    for _ in range(3000):
        tw = law.update(hybrid, e, w, wdes, np.zeros(6), integrate=False)
    # x, y, rotations: pose gain; z: admittance on the 5 N error (pose error ignored)
    assert tw[[0, 1, 3, 4, 5]] == pytest.approx(8.0 * e[[0, 1, 3, 4, 5]])
    assert tw[2] == pytest.approx(min(5.0 / 50.0, 0.05))
    # pure position: s = 0 everywhere
    tw = law.update(law.selection(np.zeros(6)), e, w, wdes, np.zeros(6), integrate=False)
    assert tw == pytest.approx(8.0 * e)
    # speed clamp keeps the direction
    law2 = HybridLaw(_adm(), np.full(6, 8.0), np.zeros(6), 0.01, 1.0)
    tw = law2.update(law2.selection(np.zeros(6)), e, w, wdes, np.zeros(6), integrate=False)
    assert np.linalg.norm(tw[:3]) == pytest.approx(0.01)
    assert law2.saturation < 1.0


@pytest.fixture(scope="module")
def kin():
    return ArmKinematics("panda")


def test_dls_realises_twist_and_nullspace_leaves_it(kin):
    q = kin.q_ready.copy()
    J = kin.jacobian(q)
    lim = kin.limits
    dls = DampedLeastSquares(lim.lower, lim.upper, 1e-4, 1e-3, 1e-5, 0.0)
    twist = np.array([0.02, -0.01, 0.005, 0.0, 0.05, -0.02])
    qd = dls.solve(J, twist, q).copy()
    assert J @ qd == pytest.approx(twist, abs=1e-6)
    # near a joint limit, the null-space term moves that joint away without a twist
    q2 = q.copy()
    q2[0] = lim.upper[0] - 0.05
    dls_ns = DampedLeastSquares(lim.lower, lim.upper, 1e-4, 1e-3, 1e-5, 1.0)
    J2 = kin.jacobian(q2)
    qd2 = dls_ns.solve(J2, np.zeros(6), q2)
    assert qd2[0] < -0.05
    assert np.abs(J2 @ qd2).max() < 1e-4


def test_dls_damps_at_singularity(kin):
    q = np.zeros(7)  # stretched-out arm: singular
    J = kin.jacobian(q)
    lim = kin.limits
    dls = DampedLeastSquares(lim.lower, lim.upper, 0.01, 0.1, 0.02, 0.0)
    qd = dls.solve(J, np.array([0, 0, 0.1, 0, 0, 0.0]), q)
    assert np.all(np.isfinite(qd)) and np.abs(qd).max() < 5.0
    assert dls.manipulability < 0.02


def test_joint_rate_limiter_keeps_direction():
    lim = JointRateLimiter(np.full(3, 1.0), 10.0, 1e-3)
    qd = np.array([3.0, 1.5, -0.3])
    lim.prev[:] = qd / 3.0  # already moving: no acceleration limit
    s = lim.limit(qd)
    assert s == pytest.approx(1 / 3)
    assert qd == pytest.approx([1.0, 0.5, -0.1])
    lim.reset(0.0)
    qd = np.array([1.0, 0.5, 0.0])
    lim.limit(qd)
    assert np.abs(qd).max() == pytest.approx(0.01)  # 10 rad/s² x 1 ms
    assert qd[1] / qd[0] == pytest.approx(0.5)


def test_contact_detector_debounce():
    d = ContactDetector(1.0, 0.003, 0.5, 0.05, 1e-3)
    seq = [d.update(2.0) for _ in range(3)]
    assert seq == [ContactChange.NONE, ContactChange.NONE, ContactChange.MADE]
    assert d.update(0.2) is ContactChange.NONE  # one low sample is not a loss
    assert d.update(2.0) is ContactChange.NONE
    changes = [d.update(0.2) for _ in range(50)]
    assert changes[-1] is ContactChange.LOST and changes.count(ContactChange.LOST) == 1
    with pytest.raises(ValueError, match="below"):
        ContactDetector(1.0, 0.003, 1.5, 0.05, 1e-3)


def test_pose_error_values_match_the_array():
    T = np.eye(4)
    Tref = np.eye(4)
    Tref[:3, :3] = Rotation.from_rotvec([0.1, -0.2, 0.3]).as_matrix()
    Tref[:3, 3] = [0.01, 0.02, -0.03]
    err = PoseError(T, Tref)
    values = err.update_values()
    assert np.array_equal(err.update(), np.array(values))


def test_admittance_state_views_are_copies():
    a = _adm()
    a.update([1.0] * 6, None)
    v = a.v
    v[:] = 99.0
    assert a.v == pytest.approx(a.beta[0] * np.ones(6))
    assert a.out == pytest.approx(a.v)


def _reference_rate_limit(q, prev, vmax, dvmax):
    """The joint rate limiter written as plain per-joint loops."""
    peak = 0.0
    for i in range(len(q)):
        r = abs(q[i]) / vmax[i]
        if r > peak:
            peak = r
    s = 1.0 if peak <= 1.0 else 1.0 / peak
    peak = 0.0
    for i in range(len(q)):
        r = abs(s * q[i] - prev[i]) / dvmax[i]
        if r > peak:
            peak = r
    b = 1.0 if peak <= 1.0 else 1.0 / peak
    if s < 1.0 or b < 1.0:
        q = [prev[i] + b * (s * q[i] - prev[i]) for i in range(len(q))]
    return q, s, b


def test_joint_rate_limiter_matches_reference_loops():
    rng = np.random.default_rng(3)
    vmax = rng.uniform(0.5, 2.0, 7)
    lim = JointRateLimiter(vmax, 20.0, 1e-3)
    for k in range(300):
        qd = rng.normal(0.0, 1.5 if k % 3 else 0.01, 7)
        prev = qd + rng.normal(0.0, 0.02 if k % 2 else 0.001, 7)
        if k % 50 == 7:
            qd[3] = np.nan  # NaN ratios are skipped, as in the loops
        lim.prev[:] = prev
        want, s, b = _reference_rate_limit(qd.tolist(), prev.tolist(), vmax, lim.dv_max)
        got = qd.copy()
        assert lim.limit(got) == s
        assert lim.acceleration_scale == b
        np.testing.assert_array_equal(got, np.array(want))


def test_dls_nullspace_switches_off_mid_range_and_writes_out(kin):
    q = kin.q_ready.copy()
    lim = kin.limits
    dls = DampedLeastSquares(lim.lower, lim.upper, 1e-4, 1e-3, 1e-5, 1.0)
    q_edge = q.copy()
    q_edge[0] = lim.upper[0] - 0.05
    assert dls.nullspace_velocity(q_edge) and dls.qd0[0] < 0.0
    mid = 0.5 * (lim.lower + lim.upper)
    assert not dls.nullspace_velocity(mid)
    assert np.all(dls.qd0 == 0.0)
    J = kin.jacobian(q)
    twist = np.array([0.02, -0.01, 0.005, 0.0, 0.05, -0.02])
    out = np.zeros(7)
    assert dls.solve(J, twist, q, out=out) is out
    np.testing.assert_allclose(out, dls.solve(J, twist, q).copy())
