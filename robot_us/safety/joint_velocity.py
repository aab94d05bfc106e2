"""Joint velocity limits: each commanded joint velocity is clipped to its limit; a
measured joint velocity above ``limit * tolerance`` is a fault: stop.

Real-time contract: Python floats, no arrays; joint-wise ``map`` checks (loops in C)
first, the per-joint loops only when a limit is hit.
"""

from __future__ import annotations

from operator import gt, lt

import numpy as np

from robot_us.safety.faults import CLIP, NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class JointVelocity(SafetyLayer):
    """|cmd_i| clipped to ``limit_i`` (rad/s); measured |qd_i| > limit_i*tolerance -> STOP."""

    name = "joint velocity"
    what = "joint velocity"
    unit = "rad/s"

    def __init__(self, limit: np.ndarray, tolerance: float) -> None:
        super().__init__()
        require_finite(self.name, limit=limit, tolerance=tolerance)
        self.vmax = np.asarray(limit, float).copy()
        if np.any(self.vmax <= 0.0) or tolerance < 1.0:
            raise ValueError("joint velocity limits must be > 0 and tolerance >= 1")
        self.vneg = -self.vmax
        self.fault_speed = self.vmax * tolerance
        self.n = len(self.vmax)
        self._vmax = self.vmax.tolist()
        self._vneg = self.vneg.tolist()
        self._fault_speed = self.fault_speed.tolist()

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        qd = s.qd.tolist()
        fault = self._fault_speed
        if any(map(gt, map(abs, qd), fault)):
            for i in range(self.n):
                if abs(qd[i]) > fault[i]:
                    return self._fault(FaultCode.JOINT_VELOCITY, STOP, abs(qd[i]), fault[i], i)
        c = cmd.tolist()
        vmax = self._vmax
        if not (any(map(gt, c, vmax)) or any(map(lt, c, self._vneg))):
            return NONE
        for i in range(self.n):  # some joint is over its limit (checked above)
            v = vmax[i]
            if c[i] > v:
                cmd[i] = v
            elif c[i] < -v:
                cmd[i] = -v
        return CLIP
