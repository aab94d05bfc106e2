"""Missed loop deadlines: ``max_missed`` deadlines missed in a row
(``LoopClock.missed_in_row``: a cycle that stalls N periods misses N, a cycle that ends by
its deadline clears the count) mean the controller cannot keep its period -> stop.

The bound this gives (docs/safety.md "Missed deadlines"): a single stall of
``max_missed`` periods or more stops the arm in the next cycle; a loop late every cycle
(each cycle missing one deadline) stops within ``2 max_missed`` periods.

Real-time contract: one comparison.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class MissedDeadlines(SafetyLayer):
    """``missed_in_row >= max_missed`` -> STOP (fault code ``OVERRUN``)."""

    name = "missed deadlines"
    what = "loop deadlines missed in a row"
    unit = "deadlines"

    def __init__(self, max_missed: int) -> None:
        super().__init__()
        require_finite(self.name, max_missed=max_missed)
        if max_missed < 1:
            raise ValueError(f"max missed deadlines must be >= 1, got {max_missed}")
        self.max_missed = max_missed

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        n = s.missed_in_row
        if n >= self.max_missed:
            return self._fault(FaultCode.OVERRUN, STOP, n, self.max_missed)
        return NONE
