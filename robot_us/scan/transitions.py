"""The scan's transition table: (state, trigger) -> next state. Nothing else decides where
the scan goes; a trigger that has no entry for the current state is refused (and, for an
operator command, reported as a ``command_refused`` event).

::

    idle --start--> planning --planned--> transfer --arrived--> approach --contact--> settle
         --settled--> sweep --swept--> retract --retracted--> done
    planning --plan_failed--> faulted                         (nothing moved)
    transfer/approach/settle/sweep/retract --pause--> paused --resume--> (the state paused)
    any moving state or paused --abort--> aborting --retracted | stopped--> aborted
    any non-terminal state --fault_retract--> safe_retract --retracted--> faulted
    any non-terminal state --fault_stop--> faulted
"""

from __future__ import annotations

from robot_us.scan.states import ScanState, Trigger

S, T = ScanState, Trigger  # short names for the table

#: Pseudo-state: "return to the state that was paused" (the scan remembers it).
RESUME_PREVIOUS = -1

#: States in which the arm moves under the scan's control (pause and abort apply).
MOVING: tuple[S, ...] = (S.TRANSFER, S.APPROACH, S.SETTLE, S.SWEEP, S.RETRACT)
#: States that end a scan.
TERMINAL: tuple[S, ...] = (S.DONE, S.ABORTED, S.FAULTED)
#: Every state a fault can interrupt.
ACTIVE: tuple[S, ...] = tuple(s for s in S if s not in TERMINAL)

TABLE: dict[tuple[S, T], S | int] = {
    (S.IDLE, T.START): S.PLANNING,
    (S.IDLE, T.ABORT): S.ABORTED,
    (S.PLANNING, T.PLANNED): S.TRANSFER,
    (S.PLANNING, T.PLAN_FAILED): S.FAULTED,
    (S.PLANNING, T.ABORT): S.ABORTED,
    (S.TRANSFER, T.ARRIVED): S.APPROACH,
    (S.APPROACH, T.CONTACT): S.SETTLE,
    (S.SETTLE, T.SETTLED): S.SWEEP,
    (S.SWEEP, T.SWEPT): S.RETRACT,
    (S.RETRACT, T.RETRACTED): S.DONE,
    (S.PAUSED, T.RESUME): RESUME_PREVIOUS,
    (S.PAUSED, T.ABORT): S.ABORTING,
    (S.ABORTING, T.RETRACTED): S.ABORTED,
    (S.ABORTING, T.STOPPED): S.ABORTED,
    (S.SAFE_RETRACT, T.RETRACTED): S.FAULTED,
    **{(s, T.PAUSE): S.PAUSED for s in MOVING},
    **{(s, T.ABORT): S.ABORTING for s in MOVING},
    **{(s, T.FAULT_RETRACT): S.SAFE_RETRACT for s in ACTIVE if s is not S.SAFE_RETRACT},
    **{(s, T.FAULT_STOP): S.FAULTED for s in ACTIVE},
}


def next_state(state: ScanState, trigger: Trigger) -> ScanState | int | None:
    """The state ``trigger`` leads to from ``state`` (``RESUME_PREVIOUS`` for a resume),
    or None when the table has no such transition."""
    return TABLE.get((state, trigger))
