"""Scan states, the triggers that move between them, the scan's own fault codes and the
result codes of a finished scan. State and fault ids are what the state stream records
(``state``, ``fault`` columns); ``STATE_NAMES`` and ``FAULT_NAMES`` name them for the
recorder."""

from __future__ import annotations

from enum import IntEnum

from robot_us.safety import FaultCode


class ScanState(IntEnum):
    """Where the scan is. Terminal states: ``DONE``, ``ABORTED``, ``FAULTED``."""

    IDLE = 0  # nothing requested yet
    PLANNING = 1  # mapping the stroke and planning (outside the loop); F/T tare meanwhile
    TRANSFER = 2  # joint-space move to the pre-approach pose
    APPROACH = 3  # guarded approach along the probe axis until contact
    SETTLE = 4  # in contact, waiting for the force to settle at the setpoint
    SWEEP = 5  # along the path, time law s(t), force control, quality policy
    RETRACT = 6  # controlled retract from the path end
    DONE = 7  # the sweep is finished and the probe retracted
    PAUSED = 8  # paused by the operator or the quality policy (holds, in contact if it was)
    ABORTING = 9  # abort requested: retract (or stop the joint move)
    ABORTED = 10  # aborted and at rest
    SAFE_RETRACT = 11  # a fault asked for a controlled retract
    FAULTED = 12  # stopped by a fault (cause in the outcome and the events)


class Trigger(IntEnum):
    """What moves the scan from one state to the next (see ``transitions.TABLE``)."""

    START = 0  # start(request)
    PLANNED = 1  # plan ready and F/T tare done
    PLAN_FAILED = 2  # the stroke could not be mapped or the path not planned
    ARRIVED = 3  # at the pre-approach pose
    CONTACT = 4  # the guarded approach made contact
    SETTLED = 5  # force settled (and the settle time elapsed)
    SWEPT = 6  # the time law reached the path end
    RETRACTED = 7  # the controlled retract finished
    STOPPED = 8  # the joint move came to rest (abort during the transfer)
    PAUSE = 9
    RESUME = 10
    ABORT = 11
    FAULT_RETRACT = 12  # fault whose reaction is a controlled retract
    FAULT_STOP = 13  # fault whose reaction is an immediate stop


class ScanFault(IntEnum):
    """Faults raised by the scan itself (the safety supervisor's are ``FaultCode`` 1-99)."""

    PLAN_FAILED = 101  # stroke mapping or planning failed (nothing moved)
    TRANSFER_TIMEOUT = 102  # the move to the pre-approach pose did not arrive in time
    APPROACH_FAILED = 103  # no contact within force_control.contact.approach_max_distance
    CONTACT_LOST = 104  # contact lost in the sweep and not regained by the re-seek
    TIME_LAW = 105  # the time law rejected its input
    COMMAND = 106  # a controller request was refused (e.g. motion while a fault is latched)


class ScanResult(IntEnum):
    """How a scan ended (``RUNNING`` while it has not)."""

    RUNNING = 0
    DONE = 1
    ABORTED = 2
    FAULTED = 3


#: Terminal state -> result.
RESULT_OF: dict[ScanState, ScanResult] = {
    ScanState.DONE: ScanResult.DONE,
    ScanState.ABORTED: ScanResult.ABORTED,
    ScanState.FAULTED: ScanResult.FAULTED,
}

#: State id -> name (for the recorder's transition events and the state stream).
STATE_NAMES: dict[int, str] = {int(s): s.name.lower() for s in ScanState}
#: Fault id -> name (safety supervisor faults and the scan's own).
FAULT_NAMES: dict[int, str] = {
    **{int(f): f.name for f in FaultCode},
    **{int(f): f.name for f in ScanFault},
}
