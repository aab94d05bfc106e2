"""Point-to-point joint-space move (ruckig, jerk-limited, time-synchronised across joints)
from a rest configuration to another rest configuration: the transfer from the current
configuration to the pre-approach pose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ruckig import InputParameter, Result, Ruckig, Trajectory

from robot_us.core.kinematics import JointLimits
from trajectory.errors import FailureReason, PlanningError


@dataclass(frozen=True)
class TransferLimits:
    """Per-joint limits of a transfer move: velocity (rad/s), acceleration (rad/s^2),
    jerk (rad/s^3)."""

    velocity: np.ndarray
    acceleration: np.ndarray
    jerk: np.ndarray

    @classmethod
    def scaled(
        cls, limits: JointLimits, velocity_scale: float, acceleration: float, jerk: float
    ) -> TransferLimits:
        """The arm's velocity limits times ``velocity_scale``; uniform acceleration and
        jerk limits."""
        n = len(limits.velocity)
        return cls(
            velocity=limits.velocity * velocity_scale,
            acceleration=np.full(n, acceleration),
            jerk=np.full(n, jerk),
        )


class TransferMove:
    """A planned rest-to-rest joint move; ``at_time`` samples it."""

    def __init__(self, q_start: np.ndarray, q_goal: np.ndarray, limits: TransferLimits) -> None:
        n = len(q_start)
        inp = InputParameter(n)
        inp.current_position = [float(v) for v in q_start]
        inp.current_velocity = [0.0] * n
        inp.current_acceleration = [0.0] * n
        inp.target_position = [float(v) for v in q_goal]
        inp.target_velocity = [0.0] * n
        inp.target_acceleration = [0.0] * n
        inp.max_velocity = [float(v) for v in limits.velocity]
        inp.max_acceleration = [float(v) for v in limits.acceleration]
        inp.max_jerk = [float(v) for v in limits.jerk]
        self._trajectory = Trajectory(n)
        result = Ruckig(n).calculate(inp, self._trajectory)
        if result not in (Result.Working, Result.Finished):
            raise PlanningError(
                FailureReason.START_STATE, f"transfer move could not be planned: ruckig {result}"
            )
        self.q_goal = np.array(q_goal, dtype=float)
        #: Duration of the move (s).
        self.duration = float(self._trajectory.duration)

    def state_into(self, t: float, q: np.ndarray, qd: np.ndarray) -> None:
        """Joint position (rad) and velocity (rad/s) at ``t`` s (clamped) written into
        ``q`` and ``qd`` (for the control loop: no numpy arrays created)."""
        p, v, _ = self._trajectory.at_time(min(max(t, 0.0), self.duration))
        q[:] = p
        qd[:] = v

    def sample(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Times (s) every ``dt`` s, the end included, and joint positions (M x n) there."""
        m = max(1, int(np.ceil(self.duration / dt - 1e-9)))
        t = np.linspace(0.0, self.duration, m + 1)
        return t, np.array([self._trajectory.at_time(ti)[0] for ti in t])
