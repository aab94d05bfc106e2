"""The C-kernel fast path of ArmKinematics agrees with roboticstoolbox's public API."""

import numpy as np
import pytest

from robot_us.kinematics import ArmKinematics


@pytest.mark.parametrize("model", ["panda", "lbr"])
def test_fast_fk_and_jacobian_match_public_api(model):
    T = np.eye(4)
    T[2, 3] = 0.1375
    kin = ArmKinematics(model, T)
    assert kin._fast is not None
    rng = np.random.default_rng(3)
    out_T, out_J = np.zeros((4, 4)), np.zeros((6, kin.n))
    for _ in range(20):
        q = rng.uniform(kin.limits.lower, kin.limits.upper)
        kin.fk(q, out=out_T)
        kin.jacobian(q, out=out_J)
        assert out_T == pytest.approx(kin.ets.eval(q, tool=T), abs=1e-12)
        assert out_J == pytest.approx(kin.ets.jacob0(q, tool=T), abs=1e-12)
    # lists and trajectories still go through the public API
    assert kin.fk(list(kin.q_ready)) == pytest.approx(kin.fk(kin.q_ready))
