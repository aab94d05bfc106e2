"""Joint velocity limits: each commanded joint velocity is clipped to its limit; a
measured joint velocity above ``limit * tolerance`` is a fault: stop.

Real-time contract: in-place numpy ops on preallocated arrays.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import FaultCode, Reaction
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class JointVelocity(SafetyLayer):
    """|cmd_i| clipped to ``limit_i`` (rad/s); measured |qd_i| > limit_i*tolerance -> STOP."""

    name = "joint velocity"
    what = "joint velocity"
    unit = "rad/s"

    def __init__(self, limit: np.ndarray, tolerance: float = 1.1) -> None:
        super().__init__()
        self.vmax = np.asarray(limit, float).copy()
        if np.any(self.vmax <= 0.0) or tolerance < 1.0:
            raise ValueError("joint velocity limits must be > 0 and tolerance >= 1")
        self.vneg = -self.vmax
        self.fault_speed = self.vmax * tolerance
        self.code = FaultCode.JOINT_VELOCITY
        self._t = np.zeros(len(self.vmax))

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        t = self._t
        np.abs(s.qd, out=t)
        t -= self.fault_speed
        i = int(t.argmax())
        if t[i] > 0.0:
            return self._fault(
                FaultCode.JOINT_VELOCITY,
                Reaction.STOP,
                abs(float(s.qd[i])),
                float(self.fault_speed[i]),
                i,
            )
        np.abs(cmd, out=t)
        t -= self.vmax
        if t.max() > 0.0:
            np.clip(cmd, self.vneg, self.vmax, out=cmd)
            return Reaction.CLIP
        return Reaction.NONE
