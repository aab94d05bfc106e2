"""Fault codes, reactions and the fault latch of the safety supervisor.

A fault is latched with its cause (what was measured, against which limit, when) until
``reset``; the active reaction is the most severe of the latched faults.

Real-time contract: checking for faults allocates nothing; raising one creates a single
small ``Fault`` record (rare by definition); one record per fault code bounds the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Reaction(IntEnum):
    """What a layer asks for, in increasing severity."""

    NONE = 0
    CLIP = 1  # the command was limited (not a fault)
    RETRACT = 2  # controlled retract along the probe axis, then hold
    STOP = 3  # zero joint velocity now


#: The reactions as module constants for the per-cycle code: reading a member off an
#: Enum class costs ~0.2 us in Python 3.11 (a lot at 1 kHz x 9 layers).
NONE, CLIP, RETRACT, STOP = Reaction.NONE, Reaction.CLIP, Reaction.RETRACT, Reaction.STOP


class FaultCode(IntEnum):
    """Which layer faulted."""

    FORCE_SOFT = 1
    FORCE_HARD = 2
    FORCE_RATE = 3
    WORKSPACE = 4
    TOOL_SPEED = 5
    JOINT_POSITION = 6
    JOINT_VELOCITY = 7
    WRENCH_STALE = 8
    OVERRUN = 9
    ESTOP = 10
    ARM_STOPPED = 11


@dataclass(frozen=True)
class Fault:
    """One latched fault: ``value`` measured against ``limit`` (in ``unit``) at cycle
    ``cycle`` / time ``t`` (s); ``index`` names a joint or axis where relevant (-1)."""

    code: FaultCode
    reaction: Reaction
    cycle: int
    t: float
    value: float
    limit: float
    unit: str
    what: str
    index: int = -1
    index_label: str = "joint"  # what ``index`` numbers: joint (1-based), axis (x y z), input

    def describe(self) -> str:
        """One line naming the cause."""
        where = ""
        if self.index >= 0:
            name = "xyz"[self.index] if self.index_label == "axis" else str(self.index + 1)
            where = f" ({self.index_label} {name})"
        return (
            f"{self.code.name}: {self.what}{where} {self.value:.4g} {self.unit} vs limit "
            f"{self.limit:.4g} {self.unit} at t={self.t:.3f} s (cycle {self.cycle}) -> "
            f"{self.reaction.name}"
        )


class FaultLatch:
    """Latched faults, first (the cause) first; one entry per fault code."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.reaction = Reaction.NONE
        self._codes: set[FaultCode] = set()

    @property
    def active(self) -> bool:
        """True while any fault is latched."""
        return bool(self.faults)

    @property
    def cause(self) -> Fault | None:
        """The first fault latched since the last reset."""
        return self.faults[0] if self.faults else None

    def has(self, code: FaultCode) -> bool:
        """True if a fault with ``code`` is latched."""
        return code in self._codes

    def latch(self, fault: Fault) -> bool:
        """Latch ``fault``; returns False if its code was already latched."""
        if fault.code in self._codes:
            return False
        self._codes.add(fault.code)
        self.faults.append(fault)
        self.reaction = max(self.reaction, fault.reaction)
        return True

    def clear(self) -> None:
        """Forget every fault."""
        self.faults.clear()
        self._codes.clear()
        self.reaction = Reaction.NONE

    def describe(self) -> str:
        """All latched faults, one per line ("no faults" when clear)."""
        return "\n".join(f.describe() for f in self.faults) or "no faults"
