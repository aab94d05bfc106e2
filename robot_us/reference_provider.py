"""The seam between the control cycle and whatever decides where the probe goes: the
autonomous scan today (``robot_us.scan.Scan``), teleoperation next. A reference provider
is passed to the ``ControlCycle``; the cycle calls it twice per cycle:

- ``update(inputs)`` in the *reference* stage, after sensing and before the controller:
  set the reference for this cycle's control through the cycle's requests
  (``set_reference``, ``set_joint_reference``, ``set_force``, ``approach``, ``retract``,
  ``hold``, ...), reading what was sensed from ``inputs``;
- ``observe(outcome)`` in the *observe* stage, after the command was sent: react to what
  this cycle's controller and safety supervisor did (a controller ``Event`` such as
  ``CONTACT_MADE`` or ``RETRACT_DONE``, a newly latched fault). Requests made here take
  effect in the next cycle's control stage.

Both return a ``ReferenceResult``; ``FINISHED`` from either ends the loop after this cycle.
The provider's ``status`` (arc length, speed, its state id and fault code) goes into this
cycle's state row (the record stage).

Real-time contract: both calls run inside the 1 kHz cycle: no blocking, no I/O, no
logging, no array allocation; refusals come back as ``RequestResult`` codes from the
requests, never as exceptions. ``inputs`` and ``outcome`` are the same objects every
cycle; their arrays are views of the cycle's preallocated state: read them, never write
them or keep them beyond the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

import numpy as np

from force_control import ControllerOutput, Mode
from robot_us.core.types import JointKinematics
from robot_us.safety import FaultLatch, SupervisorResult


class ReferenceResult(IntEnum):
    """What a reference provider reports each cycle."""

    WORKING = 0  # keep running
    FINISHED = 1  # done: the loop stops after this cycle


@dataclass
class ReferenceStatus:
    """The provider's columns of the state row, updated in place: arc length ``s`` (m)
    and path speed ``s_dot`` (m/s) along the reference, the live ``speed_override``
    (1 = nominal), the provider's state id (recorded as ``state``; names given to the
    recorder) and its fault code (0 = none)."""

    s: float = 0.0
    s_dot: float = 0.0
    speed_override: float = 1.0
    state: int = 0
    fault: int = 0


@dataclass
class CycleInputs:
    """What the reference stage sees (the same object every cycle): loop time ``t`` (s)
    and cycle index ``k``; ``arm``: joint state, probe pose and Jacobian of this cycle
    (base frame); ``wrench``: the filtered, gravity-compensated pressing wrench at the
    probe tip (probe frame, N and N·m); ``wrench_new``: the F/T sensor delivered a new
    sample; ``tare_progress``: fraction of a running F/T tare done (1 when none runs);
    ``mode``: the controller's mode after the previous cycle."""

    arm: JointKinematics
    wrench: np.ndarray
    t: float = 0.0
    k: int = 0
    wrench_new: bool = False
    tare_progress: float = 1.0
    mode: Mode = Mode.IDLE


@dataclass
class CycleOutcome:
    """What the observe stage sees (the same object every cycle): loop time ``t`` (s) and
    cycle index ``k``; ``control``: the controller's output of this cycle (``event``,
    ``mode``, ``in_contact``, forces); ``safety``: the supervisor's result of this cycle
    (``reaction``, ``new_fault``); ``latch``: the latched faults (``reaction`` in force,
    ``cause``)."""

    control: ControllerOutput
    safety: SupervisorResult
    latch: FaultLatch
    t: float = 0.0
    k: int = 0


class ReferenceProvider(Protocol):
    """Sets the control cycle's reference each cycle (see the module doc)."""

    status: ReferenceStatus

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """Reference stage: set this cycle's reference through the cycle's requests."""
        ...

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """Observe stage: react to this cycle's controller event and safety faults."""
        ...


@dataclass
class HoldReference:
    """The simplest provider: sets nothing, so the controller keeps doing what it was
    last asked (e.g. hold); never finishes. Stands in when nothing drives the probe."""

    status: ReferenceStatus = field(default_factory=ReferenceStatus)

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """Nothing to set."""
        return ReferenceResult.WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """Nothing to react to."""
        return ReferenceResult.WORKING


@dataclass
class FinishReference:
    """Ends the run at the next cycle (a forced stop): sets nothing, keeps the status
    of the provider it replaces so the last state row still names where it stopped."""

    status: ReferenceStatus = field(default_factory=ReferenceStatus)

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """Finish now."""
        return ReferenceResult.FINISHED

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """Finish now."""
        return ReferenceResult.FINISHED
