"""The simulated arm backend: state read-out, velocity commands (clipped to the limits,
NaN refused), position commands (limits enforced), stop; lockstep runs are deterministic."""

import numpy as np
import pytest

from robot_us.core.backends import BackendError
from robot_us.core.types import ArmState, WrenchSample
from sim.cell import make_sim_cell
from tests.sim_helpers import sim_config


@pytest.fixture
def cell():
    c = make_sim_cell(sim_config())
    yield c
    c.close()


def test_velocity_command_moves_the_joints(cell):
    st = ArmState(7)
    cell.arm.read(st)
    q0 = st.q.copy()
    qd = np.array([0.1, -0.1, 0.05, 0.1, -0.2, 0.1, 0.3])
    for _ in range(200):
        cell.arm.command_velocity(qd)
        cell.step_plant()
    cell.arm.read(st)
    assert st.t == pytest.approx(0.2)
    assert np.allclose(st.qd, qd, atol=2e-3)
    assert np.allclose(st.q - q0, qd * 0.2, atol=2e-3)
    assert cell.arm.clipped_commands == 0


def test_velocity_command_is_clipped_and_nan_refused(cell):
    st = ArmState(7)
    cell.arm.command_velocity(np.full(7, 10.0))
    for _ in range(50):
        cell.step_plant()
    cell.arm.read(st)
    assert cell.arm.clipped_commands == 1
    assert np.all(np.abs(st.qd) <= cell.sim.kin.limits.velocity + 1e-6)
    with pytest.raises(BackendError, match="non-finite"):
        cell.arm.command_velocity(np.array([np.nan, 0, 0, 0, 0, 0, 0]))


def test_position_command_and_limits(cell):
    st = ArmState(7)
    target = cell.sim.q_home + 0.05
    cell.arm.command_position(target)
    for _ in range(600):
        cell.step_plant()
    cell.arm.read(st)
    assert np.allclose(st.q, target, atol=2e-3)
    bad = target.copy()
    bad[3] = 1.0  # Panda joint 4 must stay below 0 rad
    with pytest.raises(BackendError, match="joint 4"):
        cell.arm.command_position(bad)


def test_stop_brings_the_arm_to_rest(cell):
    st = ArmState(7)
    for _ in range(50):
        cell.arm.command_velocity(np.full(7, 0.2))
        cell.step_plant()
    cell.arm.stop()
    for _ in range(20):
        cell.step_plant()
    cell.arm.read(st)
    assert np.allclose(st.qd, 0.0, atol=1e-3)


def test_lockstep_runs_are_deterministic():
    runs = []
    for _ in range(2):
        c = make_sim_cell(sim_config())
        try:
            st, ws = ArmState(7), WrenchSample()
            for k in range(300):
                c.arm.read(st)
                c.wrench.read(ws)
                c.arm.command_velocity(np.sin(0.01 * k + np.arange(7)) * 0.2)
                c.step_plant()
            runs.append(np.r_[st.q, st.qd, ws.wrench])
        finally:
            c.close()
    assert np.array_equal(runs[0], runs[1])


def test_velocity_command_of_wrong_length_is_refused(cell):
    with pytest.raises(BackendError, match="7 values, got 6"):
        cell.arm.command_velocity(np.zeros(6))
