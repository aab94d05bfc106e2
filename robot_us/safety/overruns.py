"""Loop overruns: ``max_consecutive`` overruns in a row (``LoopClock.consecutive_overruns``)
mean the controller cannot keep its period -> stop.

Real-time contract: one comparison.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class Overruns(SafetyLayer):
    """``consecutive_overruns >= max_consecutive`` -> STOP."""

    name = "loop overruns"
    what = "consecutive loop overruns"
    unit = "cycles"

    def __init__(self, max_consecutive: int) -> None:
        super().__init__()
        require_finite(self.name, max_consecutive=max_consecutive)
        if max_consecutive < 1:
            raise ValueError("max consecutive overruns must be >= 1")
        self.max_consecutive = max_consecutive

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        n = s.consecutive_overruns
        if n >= self.max_consecutive:
            return self._fault(FaultCode.OVERRUN, STOP, n, self.max_consecutive)
        return NONE
