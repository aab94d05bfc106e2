"""The interface every safety layer implements.

A layer looks at the ``SafetySignals`` and the joint velocity command of this cycle. It
may limit the command in place (and return ``Reaction.CLIP``) and it may find a fault: it
then returns ``Reaction.RETRACT`` or ``Reaction.STOP`` and leaves the cause in
``code``, ``value``, ``limit`` and ``index`` for the supervisor to latch.

Real-time contract: ``check`` is called every cycle; it must not allocate arrays, block,
log or read configuration (the constructor precomputes everything).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from robot_us.safety.faults import FaultCode, Reaction
from robot_us.safety.signals import SafetySignals


class SafetyLayer(ABC):
    """One independent safety check."""

    #: short name for reports
    name: str = "layer"
    #: what the value measures and its unit (for fault messages)
    what: str = ""
    unit: str = ""
    #: what ``index`` numbers in a fault: "joint", "axis" or "input"
    index_label: str = "joint"

    def __init__(self) -> None:
        self.code: FaultCode = FaultCode.ESTOP
        self.value = 0.0
        self.limit = 0.0
        self.index = -1

    @abstractmethod
    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        """Check this cycle; may limit ``cmd`` (rad/s) in place."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget internal history (after a fault reset)."""

    def _fault(
        self, code: FaultCode, reaction: Reaction, value: float, limit: float, index: int = -1
    ) -> Reaction:
        self.code = code
        self.value = value
        self.limit = limit
        self.index = index
        return reaction
