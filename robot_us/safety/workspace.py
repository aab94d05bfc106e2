"""Workspace box for the probe tip (base frame). Inside ``margin`` of a wall, commanded
tip motion towards that wall is slowed in proportion to the distance left (the command
is scaled uniformly, so the direction is kept); a tip outside the box is a fault: stop.

Real-time contract: scalar arithmetic over three axes, no allocation.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import FaultCode, Reaction
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals

#: Time constant (s) of the slow-down towards a wall: outward speed <= distance / this.
WALL_TIME_CONSTANT_S = 0.1


class Workspace(SafetyLayer):
    """Probe tip inside [lower, upper] (m) or STOP; motion towards a near wall clipped."""

    name = "workspace"
    what = "probe tip distance outside the workspace box"
    unit = "m"
    index_label = "axis"

    def __init__(self, lower: np.ndarray, upper: np.ndarray, margin: float) -> None:
        super().__init__()
        self.lower = np.asarray(lower, float).copy()
        self.upper = np.asarray(upper, float).copy()
        if self.lower.shape != (3,) or np.any(self.lower >= self.upper):
            raise ValueError(f"workspace box {lower} .. {upper} is not a box")
        self.margin = float(margin)
        self.code = FaultCode.WORKSPACE
        self._v = np.zeros(3)

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        p = s.T_base_probe
        lo, hi = self.lower, self.upper
        for i in range(3):
            x = p[i, 3]
            if x < lo[i]:
                return self._fault(FaultCode.WORKSPACE, Reaction.STOP, lo[i] - x, 0.0, i)
            if x > hi[i]:
                return self._fault(FaultCode.WORKSPACE, Reaction.STOP, x - hi[i], 0.0, i)
        if self.margin <= 0.0:
            return Reaction.NONE
        v = self._v
        np.matmul(s.J[:3], cmd, out=v)
        scale = 1.0
        for i in range(3):
            x = p[i, 3]
            d_lo = x - lo[i]
            if d_lo < self.margin and v[i] < 0.0:
                allowed = d_lo / WALL_TIME_CONSTANT_S
                if -v[i] > allowed:
                    scale = min(scale, allowed / -v[i])
            d_hi = hi[i] - x
            if d_hi < self.margin and v[i] > 0.0:
                allowed = d_hi / WALL_TIME_CONSTANT_S
                if v[i] > allowed:
                    scale = min(scale, allowed / v[i])
        if scale < 1.0:
            cmd *= scale
            return Reaction.CLIP
        return Reaction.NONE
