"""Following planned joint-space moves (the transfer to the pre-approach pose: one or
more rest-to-rest moves in a row) with a time-scaling rate that can bring them to a
controlled stop and back: the moves' own time ``tau`` advances at ``rate`` x real time,
and the rate ramps linearly between 0 and 1 in ``ramp_time``. The joint reference is the
planned position at ``tau`` and the planned velocity times the rate, so pausing slows
along the same path.

Real-time contract: ``update`` writes preallocated arrays; one ruckig ``at_time`` call
(the binding returns small lists) per cycle.
"""

from __future__ import annotations

import numpy as np

from trajectory.transfer import TransferMove


class JointMoveFollower:
    """Time-scaled reference of ``TransferMove`` s played one after the other (rad, rad/s)."""

    def __init__(self, moves: list[TransferMove], dt: float, ramp_time: float) -> None:
        if not moves:
            raise ValueError("JointMoveFollower needs at least one move")
        self.moves = list(moves)
        self.dt = dt
        self.duration = sum(m.duration for m in self.moves)
        self.rate_step = dt / ramp_time
        n = len(self.moves[0].q_goal)
        self.q_ref = np.zeros(n)
        self.qd_ref = np.zeros(n)
        self.tau = 0.0
        self.rate = 1.0
        self.target_rate = 1.0
        self._i = 0  # the move being played
        self._t0 = 0.0  # its start on the tau axis
        self.moves[0].state_into(0.0, self.q_ref, self.qd_ref)

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
        self.tau = tau = min(self.tau + r * self.dt, self.duration)
        moves, i = self.moves, self._i
        while i + 1 < len(moves) and tau > self._t0 + moves[i].duration:
            self._t0 += moves[i].duration
            i += 1
        self._i = i
        moves[i].state_into(tau - self._t0, self.q_ref, self.qd_ref)
        self.qd_ref *= r
