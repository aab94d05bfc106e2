"""Jerk-limited 1-DoF time law s(t) along the path's arc length, stepped once per control
cycle, with a live speed override (0..1), pause and resume.

Built on ruckig (free edition, one degree of freedom, online: every ``update`` continues
from the current state):
- running: position interface towards s = length at
  ``override * max_speed``; an override change (up or down) replans from the current
  (s, s_dot, s_ddot) within the speed, acceleration and jerk limits (when the speed is
  above the new maximum, ruckig brakes jerk-limited first);
- paused or override below ``MIN_OVERRIDE``: velocity interface to s_dot = 0 (a
  jerk-limited stop), then held; when the remaining length is shorter than a
  conservative stopping distance the law keeps going to the end, which is a stop too;
- resume (or override back above ``MIN_OVERRIDE``): position interface again.

Real-time contract of ``update`` (called every cycle from the loop): no configuration
reads, no numpy allocation, no logging; the input fields are compared with the last ones
and ruckig's input is rewritten only when they change. One ruckig update per call, which
costs about 1 us in the Python binding (ruckig keeps its trajectory when the input is
unchanged, and replans in about 1-2 us when it changed); measured per call in
``bench/planning.py`` (``time_law_us_p50/p99``). The binding returns each state value
as a short-lived 1-element Python list; those small objects are the only allocations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ruckig import ControlInterface, InputParameter, OutputParameter, Result, Ruckig, Trajectory

from trajectory.config import check_scan_speed

#: Overrides below this count as zero (a stop, like pause).
MIN_OVERRIDE = 1e-3


class TimeLawResult(IntEnum):
    """State of the time law after an update."""

    WORKING = 0  # moving along the path (or braking to a stop)
    PAUSED = 1  # stopped by pause or a zero override; waiting for resume
    FINISHED = 2  # at the end of the path, at rest
    ERROR = -1  # ruckig rejected the input (limits invalid); output holds the last state


@dataclass(frozen=True)
class TimeLawLimits:
    """Path length (m), speed (m/s, at override 1, capped at ``MAX_SCAN_SPEED``),
    acceleration (m/s^2) and jerk (m/s^3) limits along the path, and the cycle time (s)."""

    length: float
    max_speed: float
    max_acceleration: float
    max_jerk: float
    dt: float = 0.001

    def __post_init__(self) -> None:
        if not self.length > 0.0:
            raise ValueError(f"time law length must be > 0 m, got {self.length}")
        check_scan_speed(self.max_speed)
        if not (self.max_acceleration > 0.0 and self.max_jerk > 0.0 and self.dt > 0.0):
            raise ValueError("time law acceleration, jerk and cycle time must be > 0")


@dataclass(slots=True)
class TimeLawInput:
    """What the loop asks of the law this cycle: speed override (0..1, clipped) and pause."""

    override: float = 1.0
    pause: bool = False


@dataclass(slots=True)
class TimeLawOutput:
    """State after an update: time since start (s), arc length s (m), its rate (m/s),
    acceleration (m/s^2) and jerk (m/s^3), and the result."""

    t: float = 0.0
    s: float = 0.0
    s_dot: float = 0.0
    s_ddot: float = 0.0
    s_dddot: float = 0.0
    result: TimeLawResult = TimeLawResult.WORKING


class ArcTimeLaw:
    """The time law along one path; ``update`` once per control cycle."""

    def __init__(self, limits: TimeLawLimits) -> None:
        self.limits = limits
        self._otg = Ruckig(1, limits.dt)
        self._inp = InputParameter(1)
        self._out = OutputParameter(1)
        self._inp.max_acceleration = [limits.max_acceleration]
        self._inp.max_jerk = [limits.max_jerk]
        self._inp.target_position = [limits.length]
        self._inp.target_velocity = [0.0]
        self._inp.target_acceleration = [0.0]
        # conservative stopping distance factor: s_dot * (s_dot / a + a / j) >= real distance
        self._a_over_j = limits.max_acceleration / limits.max_jerk
        self.reset()

    def reset(self, s0: float = 0.0) -> None:
        """Start again at rest at arc length ``s0`` (m), running at override 1."""
        self._inp.current_position = [min(max(s0, 0.0), self.limits.length)]
        self._inp.current_velocity = [0.0]
        self._inp.current_acceleration = [0.0]
        self._t = 0.0
        self._override = 1.0
        self._stopping = False
        self._dirty = True  # the first update writes ruckig's input
        self._s = self._inp.current_position[0]
        self._v = 0.0

    def _set_command(self, override: float, stop: bool) -> None:
        inp = self._inp
        if stop:
            inp.control_interface = ControlInterface.Velocity
            inp.max_velocity = [self.limits.max_speed]
        else:
            inp.control_interface = ControlInterface.Position
            inp.max_velocity = [override * self.limits.max_speed]
        self._override = override
        self._stopping = stop
        self._dirty = False

    def update(self, inp: TimeLawInput, out: TimeLawOutput) -> TimeLawResult:
        """Advance one cycle; writes ``out`` and returns its result."""
        override = inp.override
        override = 1.0 if override > 1.0 else override
        stop = inp.pause or override < MIN_OVERRIDE
        if stop and not self._stopping:
            v = self._v
            remaining = self.limits.length - self._s
            if remaining <= v * (v / self.limits.max_acceleration + self._a_over_j):
                # too close to the end to stop before it: finish, which is a stop too
                stop, override = False, self._override
        if self._dirty or stop != self._stopping or (not stop and override != self._override):
            self._set_command(override, stop)
        res = self._otg.update(self._inp, self._out)
        o = self._out
        o.pass_to_input(self._inp)
        self._t += self.limits.dt
        out.t = self._t
        out.s = self._s = o.new_position[0]
        out.s_dot = self._v = o.new_velocity[0]
        out.s_ddot = o.new_acceleration[0]
        out.s_dddot = o.new_jerk[0]
        if res == Result.Working:
            out.result = TimeLawResult.WORKING
        elif res == Result.Finished:
            out.result = TimeLawResult.PAUSED if self._stopping else TimeLawResult.FINISHED
        else:
            out.result = TimeLawResult.ERROR
        return out.result


def nominal_duration(limits: TimeLawLimits) -> float:
    """Duration (s) of the whole path from rest to rest at override 1."""
    inp = InputParameter(1)
    inp.current_position = [0.0]
    inp.target_position = [limits.length]
    inp.max_velocity = [limits.max_speed]
    inp.max_acceleration = [limits.max_acceleration]
    inp.max_jerk = [limits.max_jerk]
    traj = Trajectory(1)
    result = Ruckig(1).calculate(inp, traj)
    if result not in (Result.Working, Result.Finished):
        raise ValueError(f"time law could not be computed: ruckig {result}")
    return float(traj.duration)
