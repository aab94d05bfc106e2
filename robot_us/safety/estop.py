"""E-stop input: any engaged E-stop (software button, or a hardware line behind the
``robot_us.core.backends.EStop`` interface) -> stop. The fault stays latched after release
until the supervisor is reset.

Real-time contract: one ``pressed()`` call per input (which must be cheap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robot_us.core.backends import EStop
from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class EStopLayer(SafetyLayer):
    """Any of ``inputs`` pressed -> STOP."""

    name = "e-stop"
    what = "e-stop input"
    unit = ""
    index_label = "input"

    def __init__(self, inputs: Sequence[EStop]) -> None:
        super().__init__()
        self.inputs = tuple(inputs)
        self._pressed = tuple(e.pressed for e in self.inputs)

    def any_pressed(self) -> bool:
        """True while any input is engaged."""
        return any(e.pressed() for e in self.inputs)

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        for i, pressed in enumerate(self._pressed):
            if pressed():
                return self._fault(FaultCode.ESTOP, STOP, 1.0, 0.0, i)
        return NONE
