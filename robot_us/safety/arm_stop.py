"""The arm's own controller stopped (protective or emergency stop, a reflex, the command
link lost: ``ArmState.stop`` from the backend) -> stop: the arm no longer executes our
commands, so the controller must not wind up against it. Latched until reset, like
every fault; reset only after the stop has been cleared on the robot.

Real-time contract: one integer comparison.
"""

from __future__ import annotations

import numpy as np

from robot_us.safety.faults import NONE, STOP, FaultCode, Reaction
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.signals import SafetySignals


class ArmStopped(SafetyLayer):
    """``s.arm_stop`` != 0 -> STOP (value: the ``robot_us.core.types.ArmStop`` code)."""

    name = "arm stopped"
    what = "arm controller stop (1 protective, 2 emergency, 3 reflex, 4 link lost)"
    unit = ""

    def check(self, s: SafetySignals, cmd: np.ndarray) -> Reaction:
        if s.arm_stop:
            return self._fault(FaultCode.ARM_STOPPED, STOP, float(s.arm_stop), 0.0)
        return NONE
