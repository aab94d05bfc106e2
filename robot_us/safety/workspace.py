"""Workspace box for the probe tip (base frame). Inside ``margin`` of a wall, commanded
tip motion towards that wall is slowed in proportion to the distance left to a point
``WALL_BUFFER_M`` inside it (the command is scaled uniformly, so the direction is kept);
a tip outside the box is a fault: stop.

Real-time contract: Python-float arithmetic over three axes (the tip position read with
``item``: no slices); the commanded tip velocity (one 3 x n product into a preallocated
array) only near a wall.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import CLIP, NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals

#: Time constant (s) of the slow-down towards a wall: outward speed <= room / this.
WALL_TIME_CONSTANT_S = 0.1
#: The slow-down aims this far inside the wall (m), so that the arm's tracking lag
#: cannot carry the tip across it.
WALL_BUFFER_M = 0.001


class Workspace(SafetyLayer):
    """Probe tip inside [lower, upper] (m) or STOP; motion towards a near wall clipped."""

    name = "workspace"
    what = "probe tip distance outside the workspace box"
    unit = "m"
    index_label = "axis"

    def __init__(self, lower: np.ndarray, upper: np.ndarray, margin: float) -> None:
        super().__init__()
        require_finite(self.name, lower=lower, upper=upper, margin=margin)
        self.lower = np.asarray(lower, float).copy()
        self.upper = np.asarray(upper, float).copy()
        if self.lower.shape != (3,) or np.any(self.lower >= self.upper):
            raise ValueError(f"workspace box {lower} .. {upper} is not a box")
        self.margin = float(margin)
        self._v = np.zeros(3)
        self._lo = self.lower.tolist()
        self._hi = self.upper.tolist()

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        T = s.T_base_probe
        x = (T.item(3), T.item(7), T.item(11))  # T[:3, 3]
        lo, hi = self._lo, self._hi
        margin = self.margin
        near = False
        for i in range(3):
            xi, lo_i, hi_i = x[i], lo[i], hi[i]
            if xi < lo_i:
                return self._fault(FaultCode.WORKSPACE, STOP, lo_i - xi, 0.0, i)
            if xi > hi_i:
                return self._fault(FaultCode.WORKSPACE, STOP, xi - hi_i, 0.0, i)
            if xi - lo_i < margin or hi_i - xi < margin:
                near = True
        if not near:
            return NONE
        v = np.dot(s.J[:3], cmd, out=self._v).tolist()
        scale = 1.0
        for i in range(3):
            d_lo = x[i] - lo[i]
            if d_lo < margin and v[i] < 0.0:
                allowed = max(d_lo - WALL_BUFFER_M, 0.0) / WALL_TIME_CONSTANT_S
                if -v[i] > allowed:
                    scale = min(scale, allowed / -v[i])
            d_hi = hi[i] - x[i]
            if d_hi < margin and v[i] > 0.0:
                allowed = max(d_hi - WALL_BUFFER_M, 0.0) / WALL_TIME_CONSTANT_S
                if v[i] > allowed:
                    scale = min(scale, allowed / v[i])
        if scale < 1.0:
            cmd *= scale
            return CLIP
        return NONE
