"""Each safety layer on synthetic signals, and the supervisor's latching and reset."""

import numpy as np
import pytest

from robot_us.config import load_config
from robot_us.core.backends import SoftwareEStop
from robot_us.core.config_schema import ConfigError
from robot_us.core.kinematics import ArmKinematics
from robot_us.core.types import ArmStop
from robot_us.safety import FaultCode, Reaction, SafetyResetError, SafetySignals
from robot_us.safety.arm_stop import ArmStopped
from robot_us.safety.estop import EStopLayer
from robot_us.safety.force_ceiling import ForceCeiling
from robot_us.safety.force_rate import ForceRate
from robot_us.safety.joint_position import JointPosition
from robot_us.safety.joint_velocity import JointVelocity
from robot_us.safety.missed_deadlines import MissedDeadlines
from robot_us.safety.supervisor import SafetySupervisor, make_supervisor
from robot_us.safety.tool_speed import ToolSpeed
from robot_us.safety.workspace import Workspace
from robot_us.safety.wrench_staleness import WrenchStaleness

DT = 1e-3


def signals(n=3):
    s = SafetySignals(n)
    s.J[:3, :3] = np.eye(3)  # joint i moves the tip along base axis i at 1 m/rad
    s.T_base_probe[:3, 3] = [0.5, 0.0, 0.3]
    return s


def test_force_ceiling_soft_and_hard():
    layer = ForceCeiling(20.0, 25.0)
    s, cmd = signals(), np.ones(3)
    s.force[:] = [0.0, 3.0, 19.0]
    assert layer.check(s, cmd) is Reaction.NONE
    s.force[:] = [0.0, 0.0, 21.0]
    assert layer.check(s, cmd) is Reaction.RETRACT and layer.code is FaultCode.FORCE_SOFT
    s.force[:] = [0.0, 0.0, 30.0]
    assert layer.check(s, cmd) is Reaction.STOP and layer.code is FaultCode.FORCE_HARD
    assert layer.value == pytest.approx(30.0) and layer.limit == 25.0
    with pytest.raises(ValueError):
        ForceCeiling(26.0, 25.0)


def test_force_rate_ignores_noise_trips_on_fast_rise():
    layer = ForceRate(150.0, 0.01, DT)
    s, cmd = signals(), np.zeros(3)
    rng = np.random.default_rng(0)
    for _ in range(2000):  # 5 N with filtered noise, slowly varying
        s.force_filtered[:] = [0.0, 0.0, 5.0 + rng.normal(0, 0.04)]
        assert layer.check(s, cmd) is Reaction.NONE
    reactions = []
    for k in range(20):  # 300 N/s ramp
        s.force_filtered[2] = 5.0 + 0.3 * (k + 1)
        reactions.append(layer.check(s, cmd))
    assert Reaction.RETRACT in reactions
    assert layer.code is FaultCode.FORCE_RATE and layer.value > 150.0


def test_workspace_stops_outside_and_slows_near_walls():
    layer = Workspace(np.array([0.2, -0.5, 0.0]), np.array([0.9, 0.5, 0.8]), 0.01)
    s = signals()
    cmd = np.array([0.0, 0.0, -0.1])  # moving down at 0.1 m/s, far from the floor
    assert layer.check(s, cmd) is Reaction.NONE
    s.T_base_probe[2, 3] = 0.005  # 5 mm above the floor
    assert layer.check(s, cmd) is Reaction.CLIP
    assert cmd[2] == pytest.approx(-(0.005 - 0.001) / 0.1)  # room / time constant
    up = np.array([0.0, 0.0, 0.1])
    assert layer.check(s, up) is Reaction.NONE  # moving away is fine
    s.T_base_probe[2, 3] = -0.001
    assert layer.check(s, up) is Reaction.STOP
    assert layer.code is FaultCode.WORKSPACE and layer.index == 2


def test_tool_speed_clips_command_and_faults_on_measured_speed():
    layer = ToolSpeed(0.25, 1.2)
    s = signals()
    cmd = np.array([0.3, 0.4, 0.0])  # 0.5 m/s commanded
    assert layer.check(s, cmd) is Reaction.CLIP
    assert np.linalg.norm(cmd) == pytest.approx(0.25)
    assert cmd[1] / cmd[0] == pytest.approx(4 / 3)
    s.qd[:] = [0.31, 0.0, 0.0]
    assert layer.check(s, cmd) is Reaction.STOP and layer.code is FaultCode.TOOL_SPEED


def test_joint_position_clips_then_stops():
    layer = JointPosition(np.full(3, -1.0), np.full(3, 1.0), 0.1, 0.02)
    s = signals()
    s.q[:] = [0.95, 0.0, -0.95]
    cmd = np.array([1.0, 1.0, 1.0])
    assert layer.check(s, cmd) is Reaction.CLIP
    assert cmd[0] == pytest.approx((0.05 - 0.025) / 0.1) and cmd[1] == 1.0 and cmd[2] == 1.0
    s.q[0] = 0.99
    assert layer.check(s, cmd) is Reaction.STOP
    assert layer.code is FaultCode.JOINT_POSITION and layer.index == 0


def test_joint_velocity_clips_then_stops():
    layer = JointVelocity(np.array([1.0, 2.0, 1.0]), 1.1)
    s = signals()
    cmd = np.array([1.5, -1.0, -3.0])
    assert layer.check(s, cmd) is Reaction.CLIP
    assert cmd == pytest.approx([1.0, -1.0, -1.0])
    s.qd[:] = [0.0, 0.0, -1.2]
    assert layer.check(s, cmd) is Reaction.STOP and layer.index == 2


def test_wrench_staleness_counts_cycles_without_new_sample():
    layer = WrenchStaleness(0.02, DT)
    s, cmd = signals(), np.zeros(3)
    s.wrench_new = False
    reactions = [layer.check(s, cmd) for _ in range(21)]
    assert reactions[:20] == [Reaction.NONE] * 20 and reactions[20] is Reaction.STOP
    s.wrench_new = True
    assert layer.check(s, cmd) is Reaction.NONE


def test_wrench_staleness_uses_the_age_the_sensor_reports():
    """A threaded driver can deliver a 'new' sample that is already old (a burst after a
    USB stall): the reported age counts even though the cycle count is zero."""
    layer = WrenchStaleness(0.02, DT)
    s, cmd = signals(), np.zeros(3)
    s.wrench_new = True
    s.wrench_age = 0.019
    assert layer.check(s, cmd) is Reaction.NONE
    s.wrench_age = 0.021
    assert layer.check(s, cmd) is Reaction.STOP
    assert layer.value == pytest.approx(0.021) and layer.code is FaultCode.WRENCH_STALE


def test_arm_stopped_layer_stops_on_any_controller_stop():
    layer = ArmStopped()
    s, cmd = signals(), np.zeros(3)
    assert layer.check(s, cmd) is Reaction.NONE
    for stop in (ArmStop.PROTECTIVE, ArmStop.EMERGENCY, ArmStop.REFLEX, ArmStop.LINK_LOST):
        s.arm_stop = int(stop)
        assert layer.check(s, cmd) is Reaction.STOP
        assert layer.code is FaultCode.ARM_STOPPED and layer.value == float(stop)


def test_missed_deadlines_and_estop():
    layer = MissedDeadlines(20)
    s, cmd = signals(), np.zeros(3)
    s.missed_in_row = 19
    assert layer.check(s, cmd) is Reaction.NONE
    s.missed_in_row = 20
    assert layer.check(s, cmd) is Reaction.STOP and layer.code is FaultCode.OVERRUN
    assert (layer.value, layer.limit) == (20, 20)
    hw, sw = SoftwareEStop(), SoftwareEStop()
    e = EStopLayer([sw, hw])
    assert e.check(s, cmd) is Reaction.NONE
    hw.press()
    assert e.check(s, cmd) is Reaction.STOP and e.index == 1


def test_supervisor_latches_cause_until_reset():
    estop = SoftwareEStop()
    sup = SafetySupervisor([EStopLayer([estop]), ForceCeiling(20.0, 25.0)])
    s, cmd = signals(), np.ones(3)
    assert sup.check(s, cmd).reaction is Reaction.NONE and cmd.tolist() == [1, 1, 1]
    s.force[2] = 22.0
    res = sup.check(s, cmd)
    assert res.retract_requested and res.new_fault.code is FaultCode.FORCE_SOFT
    assert cmd.tolist() == [1, 1, 1]  # the caller switches to the retract this cycle
    s.force[2] = 5.0
    cmd[:] = 1.0
    res = sup.check(s, cmd)
    assert res.reaction is Reaction.RETRACT and cmd.tolist() == [1, 1, 1]  # retract moves
    estop.press()
    res = sup.check(s, cmd)
    assert res.reaction is Reaction.STOP and cmd.tolist() == [0, 0, 0]
    estop.release()
    cmd[:] = 1.0
    sup.check(s, cmd)
    assert cmd.tolist() == [0, 0, 0]  # still latched after release
    assert sup.latch.cause.code is FaultCode.FORCE_SOFT
    text = sup.latch.describe()
    assert "FORCE_SOFT" in text and "ESTOP" in text and "22" in text
    estop.press()
    with pytest.raises(SafetyResetError, match="E-stop"):
        sup.reset()
    estop.release()
    sup.reset()
    cmd[:] = 1.0
    assert sup.check(s, cmd).reaction is Reaction.NONE and cmd.tolist() == [1, 1, 1]


def test_make_supervisor_from_config_and_config_checks():
    cfg = load_config()
    kin = ArmKinematics("panda")
    sup = make_supervisor(cfg.safety, kin.limits, DT, [SoftwareEStop()])
    names = [layer.name for layer in sup.layers]
    assert names[0] == "e-stop" and names[-1] == "joint velocity" and len(names) == 10
    assert names[1] == "arm stopped"
    assert load_config(overrides={"safety.force_hard_limit": 35.0}).safety.force_hard_limit == 35
    with pytest.raises(ConfigError, match="force_hard_limit"):
        load_config(overrides={"safety.force_hard_limit": 36.0})
    with pytest.raises(ConfigError, match="force_soft_limit"):
        load_config(overrides={"safety.force_soft_limit": 30.0})
    with pytest.raises(ConfigError, match="workspace"):
        load_config(overrides={"safety.workspace_min": [1.0, 0.0, 0.0]})


def test_joint_position_hard_margin_without_soft_margin():
    # margin 0: nothing is clipped, but the hard margin still stops (the layer's quick
    # all-clear check must use the larger of the two margins)
    layer = JointPosition(np.full(3, -1.0), np.full(3, 1.0), 0.0, 0.02)
    s = signals()
    s.q[:] = [0.5, 0.0, -0.5]
    cmd = np.array([1.0, -1.0, 1.0])
    assert layer.check(s, cmd) is Reaction.NONE and list(cmd) == [1.0, -1.0, 1.0]
    s.q[2] = -0.99
    assert layer.check(s, cmd) is Reaction.STOP
    assert layer.index == 2 and layer.value == pytest.approx(0.01)


def test_joint_velocity_reports_the_first_joint_over_the_limit():
    layer = JointVelocity(np.array([1.0, 2.0, 1.0]), 1.1)
    s = signals()
    s.qd[:] = [0.0, 2.5, -1.5]
    assert layer.check(s, np.zeros(3)) is Reaction.STOP
    assert layer.index == 1 and layer.value == pytest.approx(2.5)
    s.qd[:] = 0.0
    cmd = np.array([0.5, -2.5, 0.0])
    assert layer.check(s, cmd) is Reaction.CLIP and list(cmd) == [0.5, -2.0, 0.0]
