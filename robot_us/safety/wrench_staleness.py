"""Stale force/torque sensor: no new sample for longer than ``timeout`` -> stop (the
force limits cannot be enforced on old data).

Real-time contract: one counter.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class WrenchStaleness(SafetyLayer):
    """Cycles since the last new F/T sample; more than ``timeout`` (s) -> STOP."""

    name = "wrench staleness"
    what = "age of the last F/T sample"
    unit = "s"

    def __init__(self, timeout: float, dt: float) -> None:
        super().__init__()
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
        return NONE
