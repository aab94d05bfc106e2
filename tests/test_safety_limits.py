"""The safety layers at their limits: which side of each limit is a fault or a clip (the
values sit exactly on the limits), what a fault reports, the slow-down laws near walls and
joint limits on both sides, refused parameters (with the message naming them), and the
supervisor's ordering and latching. Synthetic signals, no simulator (mutation-tested, see
docs/testing.md)."""

import dataclasses

import numpy as np
import pytest

from robot_us.core.backends import SoftwareEStop
from robot_us.core.config_schema import ConfigError
from robot_us.core.kinematics import JointLimits
from robot_us.core.types import ArmStop
from robot_us.safety import FaultCode, Reaction, SafetyConfig, SafetyResetError, SafetySignals
from robot_us.safety.arm_stop import ArmStopped
from robot_us.safety.estop import EStopLayer
from robot_us.safety.faults import Fault, FaultLatch
from robot_us.safety.force_ceiling import ForceCeiling
from robot_us.safety.force_rate import ForceRate
from robot_us.safety.joint_position import LIMIT_TIME_CONSTANT_S, JointPosition
from robot_us.safety.joint_velocity import JointVelocity
from robot_us.safety.missed_deadlines import MissedDeadlines
from robot_us.safety.supervisor import SafetySupervisor, make_supervisor
from robot_us.safety.tool_speed import ToolSpeed
from robot_us.safety.workspace import WALL_BUFFER_M, WALL_TIME_CONSTANT_S, Workspace
from robot_us.safety.wrench_staleness import WrenchStaleness

DT = 1e-3
NONE, CLIP, RETRACT, STOP = Reaction.NONE, Reaction.CLIP, Reaction.RETRACT, Reaction.STOP


def signals(n=3, tip=(0.5, 0.0, 0.3)):
    """Signals of an n-joint arm whose joint i moves the tip along base axis i (1 m/rad)."""
    s = SafetySignals(n)
    s.J[:3, :3] = np.eye(3)
    s.T_base_probe[:3, 3] = tip
    return s


def cause(layer):
    return layer.code, layer.value, layer.limit, layer.index


# -- force ceiling -------------------------------------------------------------------


def test_force_ceiling_acts_from_the_limit_on():
    layer = ForceCeiling(20.0, 25.0)
    s, cmd = signals(), np.ones(3)
    s.force[:] = [0.0, 0.0, 19.999]
    assert layer.check(s, cmd) is NONE
    s.force[:] = [0.0, 0.0, 20.0]  # exactly the soft limit
    assert layer.check(s, cmd) is RETRACT
    assert cause(layer) == (FaultCode.FORCE_SOFT, 20.0, 20.0, -1)
    s.force[:] = [0.0, 0.0, 25.0]  # exactly the hard limit
    assert layer.check(s, cmd) is STOP
    assert cause(layer) == (FaultCode.FORCE_HARD, 25.0, 25.0, -1)
    s.force[:] = [15.0, 0.0, -20.0]  # the magnitude counts, any direction
    assert layer.check(s, cmd) is STOP and layer.value == 25.0
    assert list(cmd) == [1.0, 1.0, 1.0]  # the supervisor acts on the command, not the layer


def test_force_ceiling_refuses_limits_out_of_order():
    ForceCeiling(0.5, 0.6)  # small limits are fine
    for soft, hard in ((0.0, 25.0), (25.0, 25.0), (26.0, 25.0)):
        with pytest.raises(ValueError, match=rf"^need 0 < soft limit \({soft}\) < hard limit"):
            ForceCeiling(soft, hard)


# -- force rate ----------------------------------------------------------------------

#: a cycle time and window that are exact in binary floating point
DT2 = 2.0**-10
WINDOW2 = 8 * DT2


def _ramp(layer, step, cycles, start=0.0):
    s, cmd = signals(), np.zeros(3)
    out = []
    for k in range(cycles):
        s.force_filtered[:] = [0.0, 0.0, start + step * k]
        out.append((layer.check(s, cmd), layer.rate))
    return out


def test_force_rate_is_the_rise_over_the_window_after_it_has_filled():
    layer = ForceRate(1000.0, WINDOW2, DT2)
    assert layer.n == 8 and layer.window == WINDOW2 and layer.rate == 0.0
    out = _ramp(layer, 0.125, 12)  # 0.125 N per cycle: 1 N per window = 128 N/s
    assert [rate for _, rate in out] == [0.0] * 8 + [128.0] * 4
    assert all(r is NONE for r, _ in out)


def test_force_rate_acts_above_the_limit_only():
    assert all(r is NONE for r, _ in _ramp(ForceRate(128.0, WINDOW2, DT2), 0.125, 12))
    layer = ForceRate(127.5, WINDOW2, DT2)
    out = _ramp(layer, 0.125, 12)
    assert [r for r, _ in out] == [NONE] * 8 + [RETRACT] * 4
    assert cause(layer) == (FaultCode.FORCE_RATE, 128.0, 127.5, -1)


def test_force_rate_window_shorter_than_a_cycle_is_one_cycle():
    layer = ForceRate(100.0, 0.0004, DT)
    assert layer.n == 1 and layer.window == DT
    out = _ramp(layer, 0.2, 2, start=5.0)  # 0.2 N in one 1 ms cycle: 200 N/s
    assert [r for r, _ in out] == [NONE, RETRACT]
    assert layer.value == pytest.approx(200.0)


def test_force_rate_reset_forgets_the_samples_before_it():
    layer = ForceRate(150.0, WINDOW2, DT2)
    _ramp(layer, 0.0, 20)  # 0 N for a while
    layer.reset()
    out = _ramp(layer, 0.0, 12, start=10.0)  # then 10 N, steady: no rise after the reset
    assert all(r is NONE for r, _ in out) and layer.rate == 0.0


def test_force_rate_refuses_non_positive_limit_or_window():
    ForceRate(0.5, 0.0005, DT)  # small values are fine
    for limit, window in ((0.0, 0.01), (150.0, 0.0), (150.0, -0.01)):
        with pytest.raises(ValueError, match=r"^force-rate limit and window must be > 0$"):
            ForceRate(limit, window, DT)


# -- workspace -----------------------------------------------------------------------

LO, HI = np.array([0.25, -0.5, 0.0]), np.array([1.0, 0.5, 0.75])
MARGIN = 0.0625


@pytest.mark.parametrize(
    ("tip", "index", "value"),
    [
        ((0.125, 0.0, 0.3), 0, 0.125),  # x below 0.25
        ((0.5, 0.625, 0.3), 1, 0.125),  # y above 0.5
        ((0.5, -0.75, 0.3), 1, 0.25),  # y below -0.5
        ((0.5, 0.0, 1.0), 2, 0.25),  # z above 0.75
    ],
)
def test_workspace_outside_the_box_stops_naming_the_axis(tip, index, value):
    layer = Workspace(LO, HI, MARGIN)
    cmd = np.ones(3)
    assert layer.check(signals(tip=tip), cmd) is STOP
    assert cause(layer) == (FaultCode.WORKSPACE, value, 0.0, index)


def test_workspace_on_the_wall_is_inside():
    layer = Workspace(LO, HI, MARGIN)
    for tip in ((0.25, 0.0, 0.3), (1.0, 0.5, 0.75), (0.5, -0.5, 0.0)):
        cmd = np.array([0.0, 0.0, 0.0])
        assert layer.check(signals(tip=tip), cmd) is NONE


def _allowed(room):
    return max(room - WALL_BUFFER_M, 0.0) / WALL_TIME_CONSTANT_S


@pytest.mark.parametrize(
    ("tip", "axis", "room", "sign"),
    [
        ((0.28125, 0.0, 0.3), 0, 0.03125, -1.0),  # x lower wall
        ((0.96875, 0.0, 0.3), 0, 0.03125, 1.0),  # x upper wall
        ((0.5, -0.46875, 0.3), 1, 0.03125, -1.0),  # y lower wall
        ((0.5, 0.46875, 0.3), 1, 0.03125, 1.0),  # y upper wall
        ((0.5, 0.0, 0.71875), 2, 0.03125, 1.0),  # z upper wall
    ],
)
def test_workspace_slows_motion_towards_a_near_wall_keeping_the_direction(tip, axis, room, sign):
    layer = Workspace(LO, HI, MARGIN)
    s = signals(tip=tip)
    cmd = np.array([0.3, 0.2, 0.1])
    cmd[axis] = sign * 2.0  # 2 m/s towards the wall
    before = cmd.copy()
    assert layer.check(s, cmd) is CLIP
    assert abs(cmd[axis]) == pytest.approx(_allowed(room))
    assert cmd / np.linalg.norm(cmd) == pytest.approx(before / np.linalg.norm(before))
    away = -before  # moving away from the same wall is not limited
    assert layer.check(s, away) is NONE and list(away) == list(-before)
    exact = np.zeros(3)
    exact[axis] = sign * _allowed(room)  # exactly the allowed speed: not a clip
    assert layer.check(s, exact) is NONE
    slow = np.zeros(3)
    slow[axis] = sign * 0.5 * _allowed(room)
    assert layer.check(s, slow) is NONE
    half = np.zeros(3)
    half[axis] = sign * 0.5  # 0.5 m/s towards the wall: still too fast this close
    assert layer.check(s, half) is CLIP and abs(half[axis]) == pytest.approx(_allowed(room))


def test_workspace_inside_the_buffer_allows_no_motion_towards_the_wall():
    layer = Workspace(LO, HI, MARGIN)
    cmd = np.array([-0.01, 0.0, 0.0])
    assert layer.check(signals(tip=(0.25 + WALL_BUFFER_M / 2, 0.0, 0.3)), cmd) is CLIP
    assert list(cmd) == [0.0, 0.0, 0.0]


def test_workspace_margin_edge_and_far_walls_are_not_limited():
    layer = Workspace(LO, HI, MARGIN)
    # exactly the margin from an x wall (the tip is near the ceiling too): outside the
    # margin, fast motion towards the wall is left to the next cycles
    for x, vx in ((0.3125, -5.0), (0.9375, 5.0)):
        cmd = np.array([vx, 0.0, 0.0])
        assert layer.check(signals(tip=(x, 0.0, 0.71875)), cmd) is NONE and cmd[0] == vx
    # near the floor: only the axes near a wall are limited, however fast the others move
    s = signals(tip=(0.625, 0.0, 0.03125))
    cmd = np.array([-5.0, 5.0, 0.0])
    assert layer.check(s, cmd) is NONE and list(cmd) == [-5.0, 5.0, 0.0]
    cmd = np.array([0.0, 0.0, 0.5])  # up, away from the floor, fast
    assert layer.check(s, cmd) is NONE and cmd[2] == 0.5


def test_workspace_refuses_what_is_not_a_box():
    Workspace(LO, HI, 0.0)
    for lo, hi in (
        (LO[:2], HI[:2]),
        (LO, np.array([1.0, 0.5, 0.0])),  # z: lower = upper
        (np.array([0.3, 0.0, 0.0]), np.array([0.2, 1.0, 1.0])),
    ):
        with pytest.raises(ValueError, match=r"^workspace box .* is not a box$"):
            Workspace(lo, hi, MARGIN)


# -- joint position ------------------------------------------------------------------

LOWER, UPPER = np.full(3, -1.0), np.full(3, 1.0)
HARD = 0.03125


def test_joint_position_stops_inside_the_hard_margin_only():
    layer = JointPosition(LOWER, UPPER, 0.125, HARD)
    s, cmd = signals(), np.zeros(3)
    s.q[:] = [-1.0 + HARD, 0.0, 1.0 - HARD]  # exactly on the hard margin, both sides
    assert layer.check(s, cmd) is NONE
    s.q[2] = 1.0 - HARD / 2
    assert layer.check(s, cmd) is STOP
    assert cause(layer) == (FaultCode.JOINT_POSITION, HARD / 2, HARD, 2)
    s.q[:] = [0.0, -1.0 + HARD / 4, 0.0]
    assert layer.check(s, cmd) is STOP
    assert cause(layer) == (FaultCode.JOINT_POSITION, HARD / 4, HARD, 1)


def test_joint_position_slows_motion_towards_either_limit():
    layer = JointPosition(LOWER, UPPER, 0.1, 0.02)  # target 0.025 rad inside the limit
    s = signals()
    s.q[:] = [-0.95, 0.95, 0.0]  # 0.05 rad from the lower / upper limit
    cmd = np.array([-1.0, 1.0, -20.0])  # towards both limits; joint 2 far from both
    assert layer.check(s, cmd) is CLIP
    assert list(cmd) == pytest.approx([-0.25, 0.25, -20.0])  # (0.05 - 0.025) / 0.1
    cmd = np.array([0.5, -0.5, 20.0])  # away from both limits
    assert layer.check(s, cmd) is NONE and list(cmd) == [0.5, -0.5, 20.0]
    layer = JointPosition(LOWER, UPPER, 0.125, HARD)
    s.q[:] = [-0.9375, 0.9375, 0.0]  # 0.0625 rad from the limits (exact in binary)
    allowed = (0.0625 - layer.target) / LIMIT_TIME_CONSTANT_S
    cmd = np.array([-allowed, allowed, 0.0])  # exactly the allowed speed: not a clip
    assert layer.check(s, cmd) is NONE


def test_joint_position_between_hard_margin_and_target_allows_no_motion_towards_it():
    layer = JointPosition(LOWER, UPPER, 0.1, 0.02)
    s = signals()
    s.q[:] = [-0.978, 0.978, 0.0]  # 0.022 rad: past the target, before the hard margin
    cmd = np.array([-0.1, 0.1, 0.0])
    assert layer.check(s, cmd) is CLIP and list(cmd) == [0.0, 0.0, 0.0]


def test_joint_position_target_stays_inside_a_narrow_band():
    """With a band narrower than twice the buffer the slow-down aims at its middle."""
    layer = JointPosition(LOWER, UPPER, 0.028, 0.02)
    assert layer.target == pytest.approx(0.024)
    s = signals()
    s.q[:] = [-0.974, 0.0, 0.0]  # 0.026 rad from the limit
    cmd = np.array([-1.0, 0.0, 0.0])
    assert layer.check(s, cmd) is CLIP
    assert cmd[0] == pytest.approx(-(0.026 - 0.024) / LIMIT_TIME_CONSTANT_S)


def test_joint_position_margin_edge_is_not_limited():
    layer = JointPosition(LOWER, UPPER, 0.125, HARD)
    s = signals()
    s.q[:] = [-0.875, 0.875, 0.9375]  # joints 0, 1 exactly at the margin; 2 inside it
    cmd = np.array([-1.0, 1.0, -1.0])
    assert layer.check(s, cmd) is NONE and list(cmd) == [-1.0, 1.0, -1.0]


def test_joint_position_refuses_margins_wider_than_the_range():
    JointPosition(LOWER, UPPER, 0.8, 0.02)  # 2.5 margins fit the 2 rad range
    for margin in (1.0, 1.5):
        with pytest.raises(ValueError, match=r"^joint margin leaves no room between the limits$"):
            JointPosition(LOWER, UPPER, margin, 0.02)


# -- cross-key checks of [safety] ------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"force_soft_limit": 25.0}, r"^config key 'safety\.force_soft_limit' \(25\.0 N\) must"),
        ({"workspace_max": (0.95, 0.5, 0.0)}, r"^config keys 'safety\.workspace_min'"),
        ({"joint_hard_margin": 0.1}, r"^config key 'safety\.joint_hard_margin' must be below"),
        ({"joint_margin": 0.1, "joint_hard_margin": 0.2}, r"joint_hard_margin' must be below"),
    ],
)
def test_safety_config_refuses_limits_out_of_order(values, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(SafetyConfig(), **values).validate("safety")


def test_safety_config_allows_a_hard_joint_margin_without_a_soft_one():
    dataclasses.replace(SafetyConfig(), joint_margin=0.0, joint_hard_margin=0.02).validate("s")
    dataclasses.replace(SafetyConfig(), force_soft_limit=24.9).validate("s")


# -- joint velocity, tool speed, missed deadlines, staleness, e-stop ---------------------------


def test_joint_velocity_within_limits_is_untouched():
    layer = JointVelocity(np.array([1.0, 2.0, 1.0]), 1.1)
    s, cmd = signals(), np.array([1.0, -2.0, 0.5])  # exactly at two limits
    assert layer.check(s, cmd) is NONE and list(cmd) == [1.0, -2.0, 0.5]
    s.qd[:] = [1.05, -2.1, 0.0]  # measured above the limit but within the tolerance
    assert layer.check(s, cmd) is NONE


def test_joint_velocity_fault_is_above_limit_times_tolerance():
    layer = JointVelocity(np.array([1.0, 2.0, 1.0]), 1.1)
    s = signals()
    s.qd[:] = [layer.fault_speed[0], -2.3, 0.0]  # joint 0 exactly at it, joint 1 over
    assert layer.check(s, np.zeros(3)) is STOP
    assert cause(layer) == (FaultCode.JOINT_VELOCITY, 2.3, layer.fault_speed[1], 1)
    assert layer.fault_speed[1] == pytest.approx(2.2)


def test_joint_velocity_refuses_bad_limits():
    JointVelocity(np.array([1.0, 2.0]), 1.0)  # tolerance 1 is fine
    for limit, tolerance in (([1.0, 0.0], 1.1), ([1.0, -1.0], 1.1), ([1.0, 2.0], 0.99)):
        with pytest.raises(ValueError, match=r"^joint velocity limits must be > 0 and tolerance"):
            JointVelocity(np.array(limit), tolerance)


def test_tool_speed_limits_at_the_limit():
    layer = ToolSpeed(0.25, 1.2)
    s = signals()
    cmd = np.array([0.0, 0.25, 0.0])  # exactly the limit: not a clip
    assert layer.check(s, cmd) is NONE and cmd[1] == 0.25
    s.qd[:] = [layer.fault_speed, 0.0, 0.0]  # exactly the fault speed: not a fault
    assert layer.check(s, cmd) is NONE
    s.qd[:] = [0.0, 0.0, -0.375]
    assert layer.check(s, cmd) is STOP
    assert cause(layer) == (FaultCode.TOOL_SPEED, 0.375, layer.fault_speed, -1)
    assert layer.fault_speed == pytest.approx(0.3)


def test_tool_speed_refuses_bad_limits():
    ToolSpeed(0.001, 1.0)
    for limit, tolerance in ((0.0, 1.2), (-0.1, 1.2), (0.25, 0.99)):
        with pytest.raises(ValueError, match=r"^tool speed limit must be > 0 and tolerance >= 1$"):
            ToolSpeed(limit, tolerance)


def test_missed_deadlines_fault_reports_the_count():
    layer = MissedDeadlines(1)  # a single missed deadline may already stop
    s = signals()
    assert layer.check(s, np.zeros(3)) is NONE
    s.missed_in_row = 3
    assert layer.check(s, np.zeros(3)) is STOP
    assert cause(layer) == (FaultCode.OVERRUN, 3, 1, -1)
    with pytest.raises(ValueError, match=r"^max missed deadlines must be >= 1, got 0$"):
        MissedDeadlines(0)


def test_wrench_staleness_timeout_in_cycles_and_reset():
    layer = WrenchStaleness(0.0004, DT)  # shorter than a cycle: one cycle
    s, cmd = signals(), np.zeros(3)
    s.wrench_new = False
    assert [layer.check(s, cmd) for _ in range(2)] == [NONE, STOP]
    assert cause(layer) == (FaultCode.WRENCH_STALE, 2 * DT, 0.0004, -1)
    layer = WrenchStaleness(0.005, DT)
    for _ in range(4):
        assert layer.check(s, cmd) is NONE
    layer.reset()  # the age starts again from zero
    assert [layer.check(s, cmd) for _ in range(6)] == [NONE] * 5 + [STOP]
    assert layer.value == pytest.approx(0.006)
    with pytest.raises(ValueError, match=r"^wrench timeout must be > 0 s$"):
        WrenchStaleness(0.0, DT)


def test_wrench_age_reported_by_the_sensor_stops_beyond_the_timeout():
    layer = WrenchStaleness(0.02, DT)
    s, cmd = signals(), np.zeros(3)
    s.wrench_age = 0.02  # exactly the timeout: still usable
    assert layer.check(s, cmd) is NONE
    s.wrench_age = 0.025
    assert layer.check(s, cmd) is STOP
    assert cause(layer) == (FaultCode.WRENCH_STALE, 0.025, 0.02, -1)


def test_arm_stopped_reports_the_stop_code():
    layer = ArmStopped()
    s = signals()
    assert layer.check(s, np.zeros(3)) is NONE
    s.arm_stop = int(ArmStop.REFLEX)
    assert layer.check(s, np.zeros(3)) is STOP
    assert cause(layer) == (FaultCode.ARM_STOPPED, 3.0, 0.0, -1)


@pytest.mark.parametrize(
    ("make", "layer", "param"),
    [
        (lambda x: ForceCeiling(x, 25.0), "force ceiling", "soft_limit"),
        (lambda x: ForceCeiling(20.0, x), "force ceiling", "hard_limit"),
        (lambda x: ForceRate(x, 0.01, DT), "force rate", "limit"),
        (lambda x: ToolSpeed(x, 1.2), "tool speed", "limit"),
        (lambda x: ToolSpeed(0.25, x), "tool speed", "tolerance"),
        (lambda x: MissedDeadlines(x), "missed deadlines", "max_missed"),
        (lambda x: WrenchStaleness(x, DT), "wrench staleness", "timeout"),
        (lambda x: WrenchStaleness(0.02, x), "wrench staleness", "dt"),
        (lambda x: JointVelocity(np.array([1.0, x]), 1.1), "joint velocity", "limit"),
        (lambda x: ForceRate(150.0, x, DT), "force rate", "window"),
        (lambda x: ForceRate(150.0, 0.01, x), "force rate", "dt"),
        (lambda x: JointVelocity(np.ones(2), x), "joint velocity", "tolerance"),
        (lambda x: Workspace(LO, HI, x), "workspace", "margin"),
        (lambda x: Workspace(np.array([x, 0.0, 0.0]), HI, 0.01), "workspace", "lower"),
        (lambda x: Workspace(LO, np.array([1.0, x, 1.0]), 0.01), "workspace", "upper"),
        (lambda x: JointPosition(LOWER, UPPER, x, 0.02), "joint position", "margin"),
        (lambda x: JointPosition(LOWER, UPPER, 0.1, x), "joint position", "hard_margin"),
        (
            lambda x: JointPosition(np.array([-1.0, x]), UPPER[:2], 0.1, 0.02),
            "joint position",
            "lower",
        ),
        (
            lambda x: JointPosition(LOWER[:2], np.array([1.0, x]), 0.1, 0.02),
            "joint position",
            "upper",
        ),
    ],
)
def test_a_non_finite_parameter_is_refused_naming_layer_and_parameter(make, layer, param):
    message = rf"^{layer} safety layer: {param} = .* is not a finite number; refusing to build"
    with pytest.raises(ValueError, match=message + " a layer that would never fire$"):
        make(float("nan"))


def test_estop_fault_names_the_input():
    inputs = [SoftwareEStop(), SoftwareEStop()]
    layer = EStopLayer(inputs)
    inputs[1].press()
    assert layer.check(signals(), np.zeros(3)) is STOP
    assert cause(layer) == (FaultCode.ESTOP, 1.0, 0.0, 1)  # pressed (1) vs released (0)


def test_signals_are_sized_for_the_arm():
    s = SafetySignals(6)
    assert s.q.shape == s.qd.shape == (6,) and s.J.shape == (6, 6)
    assert SafetySignals(7).J.shape == (6, 7)


# -- fault records and the latch -----------------------------------------------------


def _fault(code, reaction=STOP, index=-1, label="joint"):
    return Fault(code, reaction, 7, 0.25, 2.5, 2.0, "rad", "thing", index, label)


def test_fault_describes_where():
    assert _fault(FaultCode.JOINT_POSITION, index=0).describe() == (
        "JOINT_POSITION: thing (joint 1) 2.5 rad vs limit 2 rad at t=0.250 s (cycle 7) -> STOP"
    )
    assert "thing (axis z) 2.5" in _fault(FaultCode.WORKSPACE, index=2, label="axis").describe()
    assert "thing (input 2) 2.5" in _fault(FaultCode.ESTOP, index=1, label="input").describe()
    assert "thing 2.5 rad" in _fault(FaultCode.FORCE_HARD).describe()


def test_latch_keeps_one_record_per_code_and_the_worst_reaction():
    latch = FaultLatch()
    assert latch.describe() == "no faults" and latch.reaction is NONE
    assert latch.latch(_fault(FaultCode.FORCE_SOFT, RETRACT)) is True
    assert latch.latch(_fault(FaultCode.FORCE_SOFT, RETRACT)) is False  # already latched
    assert latch.latch(_fault(FaultCode.ESTOP, STOP)) is True
    assert latch.latch(_fault(FaultCode.OVERRUN, STOP)) is True
    assert [f.code for f in latch.faults] == [
        FaultCode.FORCE_SOFT,
        FaultCode.ESTOP,
        FaultCode.OVERRUN,
    ]
    assert latch.reaction is STOP and latch.cause.code is FaultCode.FORCE_SOFT
    assert latch.describe().split("\n")[1].startswith("ESTOP: ")
    latch.clear()
    assert latch.reaction is NONE and not latch.active and latch.cause is None
    latch.latch(_fault(FaultCode.FORCE_SOFT, RETRACT))  # latches again after a clear
    assert latch.reaction is RETRACT


# -- the supervisor ------------------------------------------------------------------


class Fixed:
    """A layer with a set reaction (and cause) each cycle."""

    name, what, unit, index_label = "fixed", "fixed thing", "u", "axis"

    def __init__(self, code, reaction=NONE):
        self.code, self.reaction = code, reaction
        self.value, self.limit, self.index = 3.0, 2.0, 1
        self.calls = 0

    def check(self, s, cmd):
        self.calls += 1
        if self.reaction is CLIP:
            cmd *= 0.5
        return self.reaction

    def reset(self):
        pass


def test_supervisor_runs_every_layer_after_clips_and_latched_faults():
    a = Fixed(FaultCode.FORCE_SOFT, CLIP)
    b = Fixed(FaultCode.FORCE_RATE, RETRACT)
    c = Fixed(FaultCode.WORKSPACE)
    sup = SafetySupervisor([a, b, c])
    s, cmd = signals(), np.ones(3)
    res = sup.check(s, cmd)
    assert res.clipped is True and res.retract_requested is True
    assert res.reaction is RETRACT and list(cmd) == [0.5, 0.5, 0.5]
    assert res.new_fault.code is FaultCode.FORCE_RATE
    c.reaction = STOP  # a new fault behind an already latched one
    res = sup.check(s, cmd)
    assert res.retract_requested is False and res.new_fault.code is FaultCode.WORKSPACE
    assert res.reaction is STOP and list(cmd) == [0.0, 0.0, 0.0]
    assert (a.calls, b.calls, c.calls) == (2, 2, 2)
    fault = sup.latch.faults[1]
    assert (fault.what, fault.unit, fault.index_label) == ("fixed thing", "u", "axis")
    assert "fixed thing (axis y) 3 u vs limit 2 u" in fault.describe()


def test_supervisor_reports_the_first_of_equally_severe_new_faults():
    sup = SafetySupervisor([Fixed(FaultCode.ESTOP, STOP), Fixed(FaultCode.OVERRUN, STOP)])
    res = sup.check(signals(), np.ones(3))
    assert res.new_fault.code is FaultCode.ESTOP
    assert [f.code for f in sup.latch.faults] == [FaultCode.ESTOP, FaultCode.OVERRUN]


def test_supervisor_quiet_cycle_reports_nothing():
    sup = SafetySupervisor([Fixed(FaultCode.ESTOP)])
    res = sup.check(signals(), np.ones(3))
    assert res.reaction is NONE and res.new_fault is None
    assert res.retract_requested is False and res.clipped is False


def test_supervisor_refuses_reset_while_an_estop_is_engaged():
    estop = SoftwareEStop()
    sup = SafetySupervisor([EStopLayer([estop])])
    estop.press()
    sup.check(signals(), np.ones(3))
    with pytest.raises(SafetyResetError, match=r"^cannot reset: an E-stop is still engaged$"):
        sup.reset()


def test_make_supervisor_scales_the_joint_velocity_limits():
    cfg = SafetyConfig(joint_velocity_scale=0.5)
    limits = JointLimits(np.full(3, -3.0), np.full(3, 3.0), np.array([1.0, 2.0, 4.0]))
    sup = make_supervisor(cfg, limits, DT)
    s = signals(tip=(0.5, 0.0, 0.3))
    s.J[:] = 0.0  # no tip motion: only the joint velocity layer limits
    cmd = np.array([0.75, -0.75, 1.5])
    res = sup.check(s, cmd)
    assert res.reaction is CLIP and list(cmd) == [0.5, -0.75, 1.5]
