"""UR3e / UR5e / UR10e kinematics: the ETS built from the published DH table against a DH
forward kinematics computed here with numpy, the closed-form zero pose, and the ETS
Jacobian against finite differences of the DH forward kinematics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_us.core.ur_models import NATIVE_RATE_HZ, UR_MODELS, ur_model

#: Universal Robots' published standard DH parameters (m): d1, a2, a3, d4, d5, d6.
PUBLISHED = {
    "ur3e": (0.15185, -0.24355, -0.2132, 0.13105, 0.08535, 0.0921),
    "ur5e": (0.1625, -0.425, -0.3922, 0.1333, 0.0997, 0.0996),
    "ur10e": (0.1807, -0.6127, -0.57155, 0.17415, 0.11985, 0.11655),
}
ALPHA = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)


def dh_reference(q, name):
    """Standard DH forward kinematics written out from the published table."""
    d1, a2, a3, d4, d5, d6 = PUBLISHED[name]
    a = (0.0, a2, a3, 0.0, 0.0, 0.0)
    d = (d1, 0.0, 0.0, d4, d5, d6)
    T = np.eye(4)
    for i in range(6):
        ct, st = np.cos(q[i]), np.sin(q[i])
        ca, sa = np.cos(ALPHA[i]), np.sin(ALPHA[i])
        T = T @ np.array(
            [
                [ct, -st * ca, st * sa, a[i] * ct],
                [st, ct * ca, -ct * sa, a[i] * st],
                [0, sa, ca, d[i]],
                [0, 0, 0, 1],
            ]
        )
    return T


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_ets_matches_the_published_dh_table(name):
    m = ur_model(name)
    assert (m.d[0], m.a[1], m.a[2], m.d[3], m.d[4], m.d[5]) == PUBLISHED[name]
    ets = m.ets()
    assert ets.n == 6 and [int(j) for j in ets.jindices] == list(range(6))
    rng = np.random.default_rng(1)
    for q in rng.uniform(-2 * np.pi, 2 * np.pi, (200, 6)):
        np.testing.assert_allclose(ets.eval(q), dh_reference(q, name), atol=1e-12)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_zero_pose_is_the_closed_form(name):
    d1, a2, a3, d4, d5, d6 = PUBLISHED[name]
    T = ur_model(name).ets().eval(np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [a2 + a3, -(d4 + d6), d1 - d5], atol=1e-12)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_jacobian_matches_finite_differences_of_the_dh_kinematics(name):
    m = ur_model(name)
    ets = m.ets()
    q = np.array([0.3, -1.1, 1.4, -0.9, -1.6, 0.7])
    J = ets.jacob0(q)
    h = 1e-6
    for i in range(6):
        dq = np.zeros(6)
        dq[i] = h
        Tp, Tm = dh_reference(q + dq, name), dh_reference(q - dq, name)
        v = (Tp[:3, 3] - Tm[:3, 3]) / (2 * h)
        dR = (Tp[:3, :3] - Tm[:3, :3]) / (2 * h) @ dh_reference(q, name)[:3, :3].T
        w = np.array([dR[2, 1], dR[0, 2], dR[1, 0]])
        np.testing.assert_allclose(J[:, i], np.r_[v, w], atol=1e-6)


def test_ready_pose_points_the_flange_down_in_front_of_the_base():
    for m in UR_MODELS.values():
        T = m.ets().eval(np.array(m.q_ready))
        assert T[2, 2] == pytest.approx(-1.0) and T[0, 3] > 0.2
        assert m.rate_hz == NATIVE_RATE_HZ == 500.0
        assert m.qlim().shape == (2, 6) and m.velocity_limits().shape == (6,)


def test_unknown_model_names_the_choices():
    with pytest.raises(KeyError, match="available: ur3e, ur5e, ur10e"):
        ur_model("ur7")
