"""Following a planned joint-space move (the transfer to the pre-approach pose) with a
time-scaling rate that can bring it to a controlled stop and back: the move's own time
``tau`` advances at ``rate`` x real time, and the rate ramps linearly between 0 and 1 in
``ramp_time``. The joint reference is the planned position at ``tau`` and the planned
velocity times the rate, so pausing slows along the same path.

Real-time contract: ``update`` writes preallocated arrays; one ruckig ``at_time`` call
(the binding returns small lists) per cycle.
"""

from __future__ import annotations

import numpy as np

from trajectory.transfer import TransferMove


class JointMoveFollower:
    """Time-scaled reference of a ``TransferMove`` (rad, rad/s)."""

    def __init__(self, move: TransferMove, dt: float, ramp_time: float) -> None:
        self.move = move
        self.dt = dt
        self.duration = move.duration
        self.rate_step = dt / ramp_time
        n = len(move.q_goal)
        self.q_ref = np.zeros(n)
        self.qd_ref = np.zeros(n)
        self.tau = 0.0
        self.rate = 1.0
        self.target_rate = 1.0
        move.state_into(0.0, self.q_ref, self.qd_ref)

    def stop(self) -> None:
        """Ramp the rate down to zero (a controlled stop along the path)."""
        self.target_rate = 0.0

    def go(self) -> None:
        """Ramp the rate back up to one."""
        self.target_rate = 1.0

    @property
    def stopped(self) -> bool:
        """True once the rate is zero."""
        return self.rate == 0.0

    @property
    def finished(self) -> bool:
        """True once the move's time has reached its end."""
        return self.tau >= self.duration

    def update(self) -> None:
        """Advance one cycle; the reference is in ``q_ref`` and ``qd_ref``."""
        r, target, step = self.rate, self.target_rate, self.rate_step
        r = min(r + step, target) if r < target else max(r - step, target)
        self.rate = r
        self.tau = min(self.tau + r * self.dt, self.duration)
        self.move.state_into(self.tau, self.q_ref, self.qd_ref)
        self.qd_ref *= r
