"""ArmKinematics' direct C++ path gives exactly what roboticstoolbox's public ETS methods
give (forward kinematics with and without the tool, Jacobian)."""

import numpy as np
import pytest

from robot_us.core.arms import ARMS
from robot_us.core.kinematics import ArmKinematics


@pytest.mark.parametrize("model", ARMS.names())
def test_fast_path_equals_public_methods(model):
    tool = np.eye(4)
    tool[:3, 3] = [0.01, -0.02, 0.1375]
    k = ArmKinematics(model, tool)
    assert k.fast
    rng = np.random.default_rng(3)
    out_T, out_J = np.zeros((4, 4)), np.zeros((6, k.n))
    for _ in range(50):
        q = rng.uniform(k.limits.lower, k.limits.upper)
        assert np.allclose(k.fk(q, out=out_T), k.ets.eval(q, tool=tool), atol=1e-12)
        assert np.allclose(k.jacobian(q, out=out_J), k.ets.jacob0(q, tool=tool), atol=1e-12)


def test_public_fallback_when_fast_path_is_off():
    k = ArmKinematics("panda")
    q = k.q_ready
    T_fast, J_fast = k.fk(q).copy(), k.jacobian(q).copy()
    k._c = None
    assert not k.fast
    assert np.allclose(k.fk(q), T_fast) and np.allclose(k.jacobian(q), J_fast)
