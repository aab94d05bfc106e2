"""Force-rate limit: how fast the (low-pass filtered) contact force magnitude rises,
measured over a short window (a difference over ``window`` seconds keeps sensor noise
from tripping it). A fast rise means a collision or a patient moving into the probe:
controlled retract.

Real-time contract: a fixed-size ring (list) of past magnitudes; scalar arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from robot_us.safety.faults import NONE, RETRACT, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class ForceRate(SafetyLayer):
    """Rise rate of |f_filtered| over ``window`` s above ``limit`` N/s -> RETRACT."""

    name = "force rate"
    what = "contact force rise rate"
    unit = "N/s"

    def __init__(self, limit: float, window: float, dt: float) -> None:
        super().__init__()
        require_finite(self.name, limit=limit, window=window, dt=dt)
        if limit <= 0.0 or window <= 0.0:
            raise ValueError("force-rate limit and window must be > 0")
        self.rate_limit = limit
        self.n = max(1, round(window / dt))
        self.window = self.n * dt
        self._ring = [0.0] * self.n
        self._i = 0
        self._filled = 0
        self.rate = 0.0

    def reset(self) -> None:
        self._filled = 0  # the ring fills again before a rate is computed

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        mag = math.hypot(*s.force_filtered.tolist())
        i = self._i
        ring = self._ring
        old = ring[i]
        ring[i] = mag
        self._i = (i + 1) % self.n
        if self._filled < self.n:
            self._filled += 1
            self.rate = 0.0
            return NONE
        self.rate = (mag - old) / self.window
        if self.rate > self.rate_limit:
            return self._fault(FaultCode.FORCE_RATE, RETRACT, self.rate, self.rate_limit)
        return NONE
