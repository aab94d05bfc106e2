"""Tool speed limit: the probe-tip linear speed that the command would produce
(``|J_v qd|``) is clipped to the limit (uniform scaling); a measured tip speed above
``limit * tolerance`` is a fault: stop.

Real-time contract: two 3x n matrix-vector products into preallocated arrays.
"""

from __future__ import annotations

import math

import numpy as np

from robot_us.safety.faults import CLIP, NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class ToolSpeed(SafetyLayer):
    """Commanded tip speed clipped to ``limit`` (m/s); measured > limit*tolerance -> STOP."""

    name = "tool speed"
    what = "probe tip speed"
    unit = "m/s"

    def __init__(self, limit: float, tolerance: float) -> None:
        super().__init__()
        require_finite(self.name, limit=limit, tolerance=tolerance)
        if limit <= 0.0 or tolerance < 1.0:
            raise ValueError("tool speed limit must be > 0 and tolerance >= 1")
        self.speed_limit = limit
        self.fault_speed = limit * tolerance
        self._v = np.zeros(3)

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        J3, v = s.J[:3], self._v
        measured = math.hypot(*np.dot(J3, s.qd, out=v).tolist())
        if measured > self.fault_speed:
            return self._fault(FaultCode.TOOL_SPEED, STOP, measured, self.fault_speed)
        commanded = math.hypot(*np.dot(J3, cmd, out=v).tolist())
        if commanded > self.speed_limit:
            cmd *= self.speed_limit / commanded
            return CLIP
        return NONE
