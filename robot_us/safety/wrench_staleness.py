"""Stale force/torque sensor: the sample in use is older than ``timeout`` -> stop (the
force limits cannot be enforced on old data).

The age is the larger of two measures: the cycles since the sensor last delivered a new
sample (times the period), and the age the sensor reports with the sample
(``SafetySignals.wrench_age``: a threaded driver's clock minus the sample's measurement
time, so a burst of old samples after a USB stall, or loop cycles skipped after an
overrun, still count).

Real-time contract: one counter and one comparison.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.finite import require_finite
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class WrenchStaleness(SafetyLayer):
    """Age of the F/T sample in use (cycles without a new one, or the sensor's own age of
    it, whichever is larger); more than ``timeout`` (s) -> STOP."""

    name = "wrench staleness"
    what = "age of the last F/T sample"
    unit = "s"

    def __init__(self, timeout: float, dt: float) -> None:
        super().__init__()
        require_finite(self.name, timeout=timeout, dt=dt)
        if timeout <= 0.0:
            raise ValueError("wrench timeout must be > 0 s")
        self.dt = dt
        self.max_cycles = max(1, round(timeout / dt))
        self.timeout = timeout
        self.age_cycles = 0

    def reset(self) -> None:
        self.age_cycles = 0

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        self.age_cycles = 0 if s.wrench_new else self.age_cycles + 1
        if self.age_cycles > self.max_cycles:
            return self._fault(
                FaultCode.WRENCH_STALE, STOP, self.age_cycles * self.dt, self.timeout
            )
        if s.wrench_age > self.timeout:
            return self._fault(FaultCode.WRENCH_STALE, STOP, s.wrench_age, self.timeout)
        return NONE
