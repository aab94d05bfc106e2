"""Joint position margins: inside ``margin`` of a joint limit, commanded motion towards
the limit is slowed in proportion to the room left before a point just inside the hard
margin (per joint); a joint closer than ``hard_margin`` to its limit is a fault: stop.

Real-time contract: Python-float arithmetic, no arrays; a joint-wise ``map`` (a loop in
C) first checks whether any joint is inside a margin, and only then the per-joint loop
runs.
"""

from __future__ import annotations

from operator import sub

import numpy as np

from robot_us.safety.faults import CLIP, NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals

#: Time constant (s) of the slow-down towards a joint limit.
LIMIT_TIME_CONSTANT_S = 0.1
#: The slow-down aims this far inside the hard margin (rad; at most half the band), so
#: that the arm's tracking lag cannot carry the joint into it.
LIMIT_BUFFER_RAD = 0.005


class JointPosition(SafetyLayer):
    """Joint positions kept ``hard_margin`` (rad) inside the limits, or STOP."""

    name = "joint position"
    what = "distance to the joint limit"
    unit = "rad"

    def __init__(
        self, lower: np.ndarray, upper: np.ndarray, margin: float, hard_margin: float
    ) -> None:
        super().__init__()
        require_finite(self.name, lower=lower, upper=upper, margin=margin, hard_margin=hard_margin)
        self.lower = np.asarray(lower, float).copy()
        self.upper = np.asarray(upper, float).copy()
        if np.any(self.upper - self.lower <= 2.0 * margin):
            raise ValueError("joint margin leaves no room between the limits")
        self.margin = float(margin)
        self.hard_margin = float(hard_margin)
        self.target = self.hard_margin + min(LIMIT_BUFFER_RAD, 0.5 * (margin - hard_margin))
        self.n = len(self.lower)
        self._lower = self.lower.tolist()
        self._upper = self.upper.tolist()
        # no joint is this close to a limit -> nothing to clip or fault
        self._quiet = max(self.margin, self.hard_margin)

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        q = s.q.tolist()
        lower, upper = self._lower, self._upper
        quiet = self._quiet
        if min(map(sub, q, lower)) >= quiet and min(map(sub, upper, q)) >= quiet:
            return NONE
        c = cmd.tolist()
        hard, margin, target = self.hard_margin, self.margin, self.target
        clipped = False
        for i in range(self.n):
            d_lo = q[i] - lower[i]
            d_hi = upper[i] - q[i]
            if d_lo < hard:
                return self._fault(FaultCode.JOINT_POSITION, STOP, d_lo, hard, i)
            if d_hi < hard:
                return self._fault(FaultCode.JOINT_POSITION, STOP, d_hi, hard, i)
            ci = c[i]
            if d_lo < margin and ci < 0.0:
                allowed = max(d_lo - target, 0.0) / LIMIT_TIME_CONSTANT_S
                if -ci > allowed:
                    cmd[i] = -allowed
                    clipped = True
            elif d_hi < margin and ci > 0.0:
                allowed = max(d_hi - target, 0.0) / LIMIT_TIME_CONSTANT_S
                if ci > allowed:
                    cmd[i] = allowed
                    clipped = True
        return CLIP if clipped else NONE
