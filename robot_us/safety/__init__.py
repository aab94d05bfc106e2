"""The safety supervisor: independent layers enforced every control cycle (force ceiling,
force rate, workspace box, tool speed, joint position margins, joint velocity limits,
stale F/T sensor, missed loop deadlines, E-stop); faults latch with their cause until reset."""

from robot_us.safety.config import SafetyConfig
from robot_us.safety.faults import Fault, FaultCode, FaultLatch, Reaction
from robot_us.safety.signals import SafetySignals
from robot_us.safety.supervisor import (
    SafetyResetError,
    SafetySupervisor,
    SupervisorResult,
    make_supervisor,
)

__all__ = [
    "Fault",
    "FaultCode",
    "FaultLatch",
    "Reaction",
    "SafetyConfig",
    "SafetyResetError",
    "SafetySignals",
    "SafetySupervisor",
    "SupervisorResult",
    "make_supervisor",
]
