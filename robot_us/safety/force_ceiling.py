"""Force ceiling: the contact force magnitude (unfiltered, so a spike is seen in the
cycle it arrives) against a soft limit (-> controlled retract) and a hard limit
(-> immediate stop).

Real-time contract: scalar arithmetic only.
"""

from __future__ import annotations

import math

import numpy as np

from robot_us.safety.faults import NONE, RETRACT, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class ForceCeiling(SafetyLayer):
    """|f| >= hard -> STOP (FORCE_HARD); |f| >= soft -> RETRACT (FORCE_SOFT)."""

    name = "force ceiling"
    what = "contact force"
    unit = "N"

    def __init__(self, soft_limit: float, hard_limit: float) -> None:
        super().__init__()
        require_finite(self.name, soft_limit=soft_limit, hard_limit=hard_limit)
        if not 0.0 < soft_limit < hard_limit:
            raise ValueError(f"need 0 < soft limit ({soft_limit}) < hard limit ({hard_limit})")
        self.soft = soft_limit
        self.hard = hard_limit

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        mag = math.hypot(*s.force.tolist())
        if mag >= self.hard:
            return self._fault(FaultCode.FORCE_HARD, STOP, mag, self.hard)
        if mag >= self.soft:
            return self._fault(FaultCode.FORCE_SOFT, RETRACT, mag, self.soft)
        return NONE
