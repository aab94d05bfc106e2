"""``robot-us bringup arm``: connect to the arm read-only, read its state, and, only after
the operator types the confirmation word, a small guarded jog of one joint with reduced
limits (``JOG_*``): +JOG_ANGLE and back with a smooth velocity profile, at the arm's
native rate, stopped at once if the arm reports any stop."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from robot_us.core.backends import ArmBackend
from robot_us.core.types import ArmState, ArmStop
from robot_us.loop import LoopRunner

#: Reduced jog limits: angle out and back (rad), peak joint speed (rad/s).
JOG_ANGLE = 0.05
JOG_SPEED = 0.05
#: The word the operator must type before the arm moves.
CONFIRM_WORD = "JOG"
#: State reads for the read-only check.
STATE_READS = 20


def read_state(arm: ArmBackend) -> ArmState:
    """A few state reads (the last one returned)."""
    state = ArmState(arm.n_joints)
    for _ in range(STATE_READS):
        arm.read(state)
    return state


def read_only_state(arm: ArmBackend) -> tuple[ArmState, dict]:
    """Connect ``arm`` without taking control, read its state and what its driver says
    about it, and disconnect."""
    arm.connect(control=False)
    try:
        return read_state(arm), arm.describe()
    finally:
        arm.close()


def jog_profile(angle: float = JOG_ANGLE, speed: float = JOG_SPEED) -> tuple[float, Callable]:
    """(duration s, v(t) rad/s): a half sine out (integral ``angle``) and one back."""
    half = math.pi * angle / (2.0 * speed)

    def v(t: float) -> float:
        if t >= 2 * half:
            return 0.0
        sign = 1.0 if t < half else -1.0
        return sign * speed * math.sin(math.pi * (t % half) / half)

    return 2 * half, v


class JogCycle:
    """The loop callback of the jog: read, stop on any arm stop, command joint ``joint``."""

    def __init__(self, arm: ArmBackend, joint: int, dt: float) -> None:
        self.arm, self.joint, self.dt = arm, joint, dt
        self.state = ArmState(arm.n_joints)
        self.cmd = np.zeros(arm.n_joints)
        self.duration, self.v = jog_profile()
        self.q_start: np.ndarray | None = None
        self.max_error = 0.0  # |measured - planned| of the jogged joint (rad)
        self.stopped: ArmStop = ArmStop.NONE
        self._planned = 0.0

    def __call__(self, clock) -> bool:
        self.arm.read(self.state)
        if self.q_start is None:
            self.q_start = self.state.q.copy()
        if self.state.stop:
            self.stopped = ArmStop(self.state.stop)
            self.cmd[:] = 0.0
            self.arm.command_velocity(self.cmd)
            return False
        err = abs(self.state.q[self.joint] - self.q_start[self.joint] - self._planned)
        self.max_error = max(self.max_error, err)
        self.cmd[:] = 0.0
        self.cmd[self.joint] = self.v(clock.t)
        self._planned += self.cmd[self.joint] * self.dt
        self.arm.command_velocity(self.cmd)
        return clock.t < self.duration


def jog(arm: ArmBackend, joint: int) -> JogCycle:
    """Run the jog on an arm connected for control, at its native rate; then stop it."""
    cycle = JogCycle(arm, joint, 1.0 / arm.rate_hz)
    runner = LoopRunner(arm.rate_hz, "realtime")
    try:
        runner.run(cycle, duration_s=cycle.duration + 0.5)
    finally:
        arm.stop()
    return cycle


def next_steps(state: ArmState) -> list[str]:
    """What to check next, from the state."""
    if state.stop == ArmStop.PROTECTIVE:
        return ["the arm is in a protective stop: clear it on the teach pendant, then rerun"]
    if state.stop == ArmStop.EMERGENCY:
        return ["the emergency / user stop is engaged: release it and unlock the arm, then rerun"]
    if state.stop:
        return [f"the arm reports {ArmStop(state.stop).name}: recover it on the robot, then rerun"]
    return [
        "compare the joint angles with the pendant / Desk",
        f"rerun with --jog to move one joint {JOG_ANGLE} rad and back (hand on the E-stop)",
        "then: robot-us bringup camera, robot-us bringup handeye, robot-us bringup check",
    ]
