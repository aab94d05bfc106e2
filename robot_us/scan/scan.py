"""The autonomous scan: a state machine that takes a stroke (or a surface path) to a
finished sweep, as the control cycle's reference provider
(``robot_us.reference_provider``).

Each cycle, in the control cycle's *reference* stage (``update``), the scan applies the
operator's commands, picks up the newest image-quality result and runs its state's step,
which sets the reference through the cycle's requests (joint move, guarded approach,
time law along the path, retract). In the *observe* stage (``observe``) it reacts to what
the controller and the safety supervisor did in that same cycle: a latched fault, a
controller event (contact made, settled, contact lost/regained, retract done). Its arc
length, speed, state and fault go into the cycle's state row through ``status``.

Ownership: the controller owns the motion laws (guarded approach, re-seek, controlled
retract); the scan owns the sequencing (which state, when to ask for which motion) and
reads the controller's mode and events, never keeps a copy of them. Transitions come from
``transitions.TABLE`` only; what each state does is one ``StateRow`` (enter, step, pause,
paused step, resume).

Work that must not run in a cycle (stroke mapping, planning) runs in ``service()``: the
lockstep runner calls it between cycles, a real-time server from its own thread. The
imaging side hands quality results over with ``submit_quality`` (a single-slot swap; the
cycle takes the newest).

Real-time contract: commands (``start``, ``pause``, ``resume``, ``abort``,
``set_speed``) are cheap appends to a bounded queue applied at the start of the next
cycle, from any thread. Per cycle the scan allocates no arrays (preallocated poses and
twists; the time law, ``ProbePath.pose_at``, the feed-forward twist table
(``SweepTwist``, built at planning) and the joint move write in place); events
(transitions, adjustments, faults) are small records created only when they happen. A
refused controller request comes back as a ``RequestResult`` and becomes a scan fault
(``ScanFault.COMMAND``); no exception is caught.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from force_control import Event, Mode
from robot_us.config import Config
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.recording.contents import ScanEvent
from robot_us.reference_provider import (
    CycleInputs,
    CycleOutcome,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.safety import FaultLatch, Reaction
from robot_us.scan.config import check_force_limits
from robot_us.scan.joint_move import JointMoveFollower
from robot_us.scan.messages import EventSink, ScanOutcome, ScanRequest, Transition
from robot_us.scan.planning import PlannedScan, ScanPlanningError, plan_scan
from robot_us.scan.quality_policy import Adjustment, QualityObservation, QualityPolicy
from robot_us.scan.states import RESULT_OF, ScanFault, ScanResult, ScanState, Trigger
from robot_us.scan.transitions import RESUME_PREVIOUS, TERMINAL, next_state
from trajectory.time_law import TimeLawInput, TimeLawOutput, TimeLawResult

#: Most events and transitions the scan keeps for its report (oldest dropped first).
MAX_EVENTS = 2000
#: Most commands waiting for the next cycle.
MAX_COMMANDS = 64
#: Cycles of arc-length history kept to place a quality result on the path (2 s at 1 kHz).
ARC_HISTORY = 2048
#: The joint move has arrived when every joint is this slow (rad/s) ...
ARRIVE_SPEED = 0.02
#: ... and it has stopped (abort during the transfer) below this joint speed (rad/s).
STOP_SPEED = 0.01

_PAUSE_BY_OPERATOR = "operator"
_PAUSE_BY_QUALITY = "quality"
_OK = RequestResult.OK
_RESEEK = Mode.RESEEK
_EVENT_NONE = Event.NONE
_WORKING, _FINISHED = ReferenceResult.WORKING, ReferenceResult.FINISHED


def _nothing() -> None:
    """Nothing to do."""


@dataclass(frozen=True)
class StateRow:
    """What one scan state does: on entering it, every cycle in it, and, for a state the
    operator or the quality policy can pause (``pause`` set), on pausing it, every cycle
    while it is paused and on resuming it."""

    enter: Callable[[], None] = _nothing
    step: Callable[[], None] = _nothing
    pause: Callable[[], None] | None = None  # None: the state cannot be paused
    paused_step: Callable[[], None] = _nothing
    resume: Callable[[], None] = _nothing


class Scan:
    """The scan state machine, the reference provider of ``cycle`` (see the module doc).
    Attach it with ``cycle.reference = scan``; ``events`` receives its events."""

    def __init__(self, cfg: Config, cycle: ControlCycle, events: EventSink | None = None) -> None:
        check_force_limits(cfg.scan, cfg.force_control.force_setpoint, cfg.safety.force_soft_limit)
        self.cfg = cfg
        sc = cfg.scan
        # configuration consumed here, never in a cycle
        self._stop_ramp = sc.stop_ramp_time
        self._transfer_tol = sc.transfer_tolerance
        self._transfer_timeout = sc.transfer_timeout
        self._settle_time = sc.settle_time
        self._settle_timeout = sc.settle_timeout
        self._pause_timeout = sc.pause_timeout
        self._reseek_distance = cfg.force_control.contact.reseek_distance
        self._approach_distance = cfg.force_control.contact.approach_max_distance
        self._retare = sc.retare_after_retract
        self._retaring = False  # the final retract is done; the F/T re-tare runs
        self._tares = 0  # completed tares when the re-tare started
        self.bias_correction: list[float] | None = None
        self.cycle = cycle
        self.dt = cycle.dt
        self.sink = events
        self.force = cfg.force_control.force_setpoint
        self.policy = QualityPolicy(cfg.scan, self.force)
        self.status = ReferenceStatus()

        self.state = ScanState.IDLE
        self.t = 0.0
        self.k = 0
        self.t_state = 0.0  # loop time the current state was entered (s)
        self.request: ScanRequest | None = None
        self.planned: PlannedScan | None = None
        self.plan_error: str | None = None
        self.follower: JointMoveFollower | None = None
        self._q_goal: list[float] = []
        self.fault = 0
        self.cause = ""
        self.operator_speed = 1.0
        self.events: deque[ScanEvent] = deque(maxlen=MAX_EVENTS)
        self.transitions: deque[Transition] = deque(maxlen=MAX_EVENTS)
        #: transitions made since construction (the deque keeps the last MAX_EVENTS)
        self.transition_count = 0
        self.outcome: ScanOutcome | None = None

        # what the cycle reported (the controller's mode, the sensed joints, the tare)
        self.mode = Mode.IDLE
        self._inputs: CycleInputs | None = None

        # sweep
        self.s = 0.0
        self.s_dot = 0.0
        self.length = 0.0
        self._law_in = TimeLawInput()
        self._law_out = TimeLawOutput()
        self._T_ref = np.eye(4)
        self._twist = np.zeros(6)
        self._force_set = self.force
        self._s_hist = np.zeros(ARC_HISTORY)
        self._t_sweep = math.inf  # loop time the sweep began (s)

        # pause bookkeeping
        self._paused_from = ScanState.IDLE
        self._pause_by = ""
        self._settled_at: float | None = None
        self._fault_reaction = Reaction.NONE

        # commands and quality hand-over (any thread -> the loop)
        self._commands: deque[tuple[Trigger | str, Any]] = deque(maxlen=MAX_COMMANDS)
        self.commands_dropped = 0
        self._quality: QualityObservation | None = None
        self._quality_seen = -1
        self.quality_seen = 0

        S = ScanState
        self._rows: dict[ScanState, StateRow] = {
            S.IDLE: StateRow(),
            S.PLANNING: StateRow(enter=self._enter_planning, step=self._step_planning),
            S.TRANSFER: StateRow(
                enter=self._enter_transfer,
                step=self._step_transfer,
                pause=self._pause_transfer,
                paused_step=self._follow_joint_move,
                resume=self._resume_transfer,
            ),
            S.APPROACH: StateRow(
                enter=self._enter_approach, pause=self._hold, resume=self._enter_approach
            ),
            S.SETTLE: StateRow(enter=self._enter_settle, step=self._step_settle, pause=_nothing),
            S.SWEEP: StateRow(
                enter=self._enter_sweep,
                step=self._step_sweep,
                pause=_nothing,
                paused_step=self._paused_sweep,
                resume=self._resume_sweep,
            ),
            S.RETRACT: StateRow(
                enter=self._enter_retract,
                step=self._step_retract,
                pause=self._hold,
                resume=self._enter_retract,
            ),
            S.DONE: StateRow(),
            S.PAUSED: StateRow(enter=self._enter_paused, step=self._step_paused),
            S.ABORTING: StateRow(enter=self._enter_aborting, step=self._step_aborting),
            S.ABORTED: StateRow(),
            S.SAFE_RETRACT: StateRow(enter=self._enter_safe_retract),
            S.FAULTED: StateRow(),
        }
        self._on_event: dict[Event, Callable[[], None]] = {
            Event.CONTACT_MADE: self._ev_contact_made,
            Event.SETTLED: self._ev_settled,
            Event.CONTACT_LOST: self._ev_contact_lost,
            Event.CONTACT_REGAINED: self._ev_contact_regained,
            Event.RESEEK_FAILED: self._ev_reseek_failed,
            Event.APPROACH_FAILED: self._ev_approach_failed,
            Event.RETRACT_DONE: self._ev_retract_done,
        }
        self._command_handlers: dict[str, Callable[[Any], None]] = {
            "speed": self._apply_speed,
            "force": self._apply_force,
        }

    # -- commands (any thread; applied at the start of the next cycle) ---------------------
    def start(self, request: ScanRequest) -> None:
        """Start a scan of ``request`` (idle only)."""
        self._command(Trigger.START, request)

    def pause(self, cause: str = "operator request") -> None:
        """Pause: the sweep stops jerk-limited and holds in contact; a joint move ramps to
        a stop; an approach or retract holds where it is."""
        self._command(Trigger.PAUSE, cause)

    def resume(self, cause: str = "operator request") -> None:
        """Resume what was paused."""
        self._command(Trigger.RESUME, cause)

    def abort(self, cause: str = "operator request") -> None:
        """Abort: retract from the skin (or stop the joint move), then ``ABORTED``."""
        self._command(Trigger.ABORT, cause)

    def set_speed(self, override: float) -> None:
        """Operator speed override of the sweep (0..1 of the planned speed)."""
        if not 0.0 <= override <= 1.0 or math.isnan(override):
            raise ValueError(f"speed override {override} is outside [0, 1]")
        self._command("speed", float(override))

    def set_force(self, force: float) -> None:
        """Operator force set-point (N): the nominal force of the approach and the sweep
        (the quality policy's raised force stays that much above it)."""
        if not force >= 0.0:  # NaN fails too
            raise ValueError(f"force set-point {force} N is not a pressing force")
        self._command("force", float(force))

    def _command(self, what: Trigger | str, arg: Any) -> None:
        if len(self._commands) == self._commands.maxlen:
            self.commands_dropped += 1
        self._commands.append((what, arg))

    def submit_quality(self, sample: QualityObservation) -> None:
        """Hand over a frame's quality (``QualityObservation.of(result)``: frame ``seq``,
        frame time in loop time, score, class, OOD flag, confidence signals); the next
        cycle takes the newest one. Any thread."""
        self._quality = sample

    # -- outside the loop ---------------------------------------------------------------
    def service(self) -> None:
        """Run the work that does not belong in a cycle: mapping and planning while the
        scan is planning. Call between cycles (lockstep) or from a worker thread."""
        if self.state is not ScanState.PLANNING or self.planned is not None:
            return
        if self.plan_error is not None or self.request is None:
            return
        try:
            self.planned = plan_scan(self.cfg, self.cycle.kin, self.request, self.cycle.inp.q)
        except ScanPlanningError as exc:
            self.plan_error = str(exc)

    @property
    def reference_position(self) -> np.ndarray:
        """The sweep's current reference position (m, base frame; a view)."""
        return self._T_ref[:3, 3]

    @property
    def active_state(self) -> ScanState:
        """The state the scan is in or, while paused, the state it paused (and resumes)."""
        return self._paused_from if self.state is ScanState.PAUSED else self.state

    @property
    def finished(self) -> bool:
        """True once the scan reached a terminal state."""
        return self.state in TERMINAL

    @property
    def result(self) -> ScanResult:
        """``RUNNING`` or how the scan ended."""
        return RESULT_OF.get(self.state, ScanResult.RUNNING)

    @property
    def reseeking(self) -> bool:
        """True while the controller re-seeks lost contact (the sweep is held meanwhile)."""
        return self.mode is _RESEEK

    @property
    def pausable(self) -> tuple[ScanState, ...]:
        """The states this scan can pause (those whose row has a ``pause``)."""
        return tuple(s for s, row in self._rows.items() if row.pause is not None)

    # -- the reference provider ---------------------------------------------------------
    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """Reference stage: commands, the newest quality result, the state's step."""
        self._inputs = inputs
        self.t = inputs.t
        self.k = inputs.k
        self.mode = inputs.mode
        while self._commands:
            what, arg = self._commands.popleft()
            self._apply_command(what, arg)
        self._take_quality()
        self._rows[self.state].step()
        self._s_hist[self.k % ARC_HISTORY] = self.s
        return _FINISHED if self.state in TERMINAL else _WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """Observe stage: this cycle's safety faults, then its controller event."""
        self.mode = outcome.control.mode
        self._check_safety(outcome.latch)
        event = outcome.control.event
        if event is not _EVENT_NONE:
            handler = self._on_event.get(event)
            if handler is not None:
                handler()
        return self._publish_status()

    def _publish_status(self) -> ReferenceResult:
        """The scan's columns of this cycle's state row (written after observe)."""
        st = self.status
        st.s = self.s
        st.s_dot = self.s_dot
        st.speed_override = self.operator_speed * self.policy.override
        st.state = int(self.state)
        st.fault = self.fault
        return _FINISHED if self.state in TERMINAL else _WORKING

    # -- transitions ---------------------------------------------------------------------
    def _fire(self, trigger: Trigger, cause: str = "") -> bool:
        dst = next_state(self.state, trigger)
        if dst is None:
            return False
        src = self.state
        if dst == RESUME_PREVIOUS:
            dst = self._paused_from
        dst = ScanState(dst)
        self.state = dst
        self.t_state = self.t
        self.transitions.append(Transition(self.t, src, dst, trigger.name.lower(), cause))
        self.transition_count += 1
        if src is ScanState.PAUSED and trigger is Trigger.RESUME:
            self._rows[dst].resume()
        else:
            if dst is ScanState.PAUSED:
                self._paused_from = src
            self._rows[dst].enter()
        if dst in TERMINAL:
            self._finish()
        return True

    def _apply_command(self, what: Trigger | str, arg: Any) -> None:
        if isinstance(what, str):
            self._command_handlers[what](arg)
            return
        name = what.name.lower()
        if next_state(self.state, what) is None:
            self._post("command_refused", f"{name} is not possible in {self.state.name}")
            return
        if what is Trigger.START:
            self.request = arg
        elif what is Trigger.PAUSE:
            self._pause_by = _PAUSE_BY_OPERATOR
        elif what is Trigger.ABORT:
            self.cause = f"aborted: {arg}"
        self._fire(what, "requested" if what is Trigger.START else str(arg))
        if what is Trigger.START:
            self._post("start", self._describe_request(arg))
        else:
            self._post(name, str(arg), self._s_or_none())

    @staticmethod
    def _describe_request(req: ScanRequest) -> str:
        if req.planned is not None:
            return f"scan requested: a planned sweep of {req.planned.length * 1e3:.1f} mm"
        if req.path is not None:
            return f"scan requested: surface path of {len(req.path)} points"
        return f"scan requested: stroke of {len(req.stroke)} pixels on the camera image"

    def _apply_force(self, force: float) -> None:
        self.force = force
        self.policy.set_nominal(force)
        if self.active_state in (ScanState.APPROACH, ScanState.SETTLE, ScanState.SWEEP):
            self._force_set = self.policy.force
            self._granted(self.cycle.set_force(self._force_set), "set_force")
        self._post("force", f"operator force set-point {force:.1f} N", self._s_or_none())

    def _apply_speed(self, override: float) -> None:
        self.operator_speed = override
        self._post("speed", f"operator speed override {override:.0%}", self._s_or_none())

    # -- faults --------------------------------------------------------------------------
    def _check_safety(self, latch: FaultLatch) -> None:
        """React once per escalation of the latched safety reaction."""
        reaction = latch.reaction
        if reaction <= self._fault_reaction or self.state in TERMINAL:
            return
        self._fault_reaction = reaction
        cause = latch.cause
        if self.fault == 0 and cause is not None:
            self.fault = int(cause.code)
            self.cause = cause.describe()
            self._post("fault_detail", self.cause, self._s_or_none(), {"code": self.fault})
        trigger = Trigger.FAULT_STOP if reaction is Reaction.STOP else Trigger.FAULT_RETRACT
        self._fire(trigger, self.cause)

    def _scan_fault(self, code: ScanFault, cause: str, trigger: Trigger) -> None:
        """A fault of the scan itself (``code``); ``trigger``: ``FAULT_RETRACT`` or
        ``FAULT_STOP``."""
        if self.state in TERMINAL:
            return
        if self.fault == 0:
            self.fault = int(code)
            self.cause = f"{code.name}: {cause}"
            self._post("fault_detail", self.cause, self._s_or_none(), {"code": int(code)})
        self._fire(trigger, self.cause)

    def _granted(self, result: RequestResult, what: str) -> bool:
        """True if a controller request was accepted; a refusal is a scan fault."""
        if result is _OK:
            return True
        self._scan_fault(
            ScanFault.COMMAND,
            f"controller request '{what}' refused: {result.name.lower()}",
            Trigger.FAULT_RETRACT,
        )
        return False

    # -- controller events ---------------------------------------------------------------
    def _ev_contact_made(self) -> None:
        self._fire(Trigger.CONTACT, "contact made")

    def _ev_settled(self) -> None:
        self._settled_at = self.t

    def _ev_contact_lost(self) -> None:
        self._post(
            "recontact",
            "contact lost: re-seeking along the probe axis, sweep held",
            self._s_or_none(),
        )

    def _ev_contact_regained(self) -> None:
        self._post("contact_regained", "contact regained: sweep continues", self._s_or_none())

    def _ev_reseek_failed(self) -> None:
        dist = self._reseek_distance
        self._scan_fault(
            ScanFault.CONTACT_LOST,
            f"contact lost at s={self.s * 1e3:.1f} mm and not regained within {dist * 1e3:.0f} mm",
            Trigger.FAULT_RETRACT,
        )

    def _ev_approach_failed(self) -> None:
        dist = self._approach_distance
        self._scan_fault(
            ScanFault.APPROACH_FAILED,
            f"no contact within {dist * 1e3:.0f} mm of approach",
            Trigger.FAULT_RETRACT,
        )

    def _ev_retract_done(self) -> None:
        if self.state is ScanState.RETRACT and self._retare:
            self._tares = self.cycle.tares
            if self.cycle.retare() is _OK:
                self._retaring = True  # RETRACTED once the tare is done (_step_retract)
                return
        self._fire(Trigger.RETRACTED, "retract finished")

    # -- quality ---------------------------------------------------------------------------
    def _take_quality(self) -> None:
        q = self._quality
        if q is None or q.seq == self._quality_seen:
            return
        self._quality_seen = q.seq
        self.quality_seen += 1
        if self.active_state is not ScanState.SWEEP or self.reseeking or q.t < self._t_sweep:
            return  # (a frame taken before the sweep began: real time delivers them late)
        self._adjust(self.policy.observe(q, self._s_at(q.t)))

    def arc_length_at(self, t: float) -> float:
        """Arc length (m) at loop time ``t``: from the last ``ARC_HISTORY`` cycles, else the
        current one. Any thread (reads a preallocated ring)."""
        return self._s_at(t)

    def _s_at(self, t: float) -> float:
        """Arc length (m) at loop time ``t`` (from the recent history; now if older)."""
        kf = round(t / self.dt)
        if 0 <= self.k - kf < ARC_HISTORY - 1 and kf < self.k:
            return float(self._s_hist[kf % ARC_HISTORY])
        return self.s

    def _adjust(self, adjustments: tuple[Adjustment, ...]) -> None:
        for a in adjustments:
            self._post(a.kind, a.cause, a.s, a.detail)
        if self.policy.force != self._force_set:
            self._force_set = self.policy.force
            self._granted(self.cycle.set_force(self._force_set), "set_force")

    # -- the states: planning and transfer --------------------------------------------------
    def _enter_planning(self) -> None:
        c = self.cycle
        c.hold()
        c.start_tare()
        self.planned = self.request.planned if self.request is not None else None
        self.plan_error = None

    def _step_planning(self) -> None:
        if self.plan_error is not None:
            self.fault = int(ScanFault.PLAN_FAILED)
            self.cause = self.plan_error
            self._post("fault_detail", self.cause, None, {"code": self.fault})
            self._fire(Trigger.PLAN_FAILED, self.plan_error)
            return
        if self.planned is not None and self._inputs.tare_progress >= 1.0:
            self.length = self.planned.length
            self._fire(Trigger.PLANNED, "plan ready, F/T sensor tared")

    def _enter_transfer(self) -> None:
        p = self.planned
        assert p is not None
        self.follower = JointMoveFollower(p.transfer, self.dt, self._stop_ramp)
        self._q_goal = p.q_approach.tolist()
        self.cycle.set_joint_reference(self.follower.q_ref, self.follower.qd_ref)
        self._granted(self.cycle.track_joints(), "track_joints")

    def _follow_joint_move(self) -> None:
        f = self.follower
        assert f is not None
        f.update()
        self.cycle.set_joint_reference(f.q_ref, f.qd_ref)

    def _step_transfer(self) -> None:
        self._follow_joint_move()
        f = self.follower
        assert f is not None
        if f.finished:
            arm = self._inputs.arm
            err = _max_abs_diff(arm.q.tolist(), self._q_goal)
            if err <= self._transfer_tol and _max_abs(arm.qd.tolist()) < ARRIVE_SPEED:
                self._fire(Trigger.ARRIVED, f"at the pre-approach pose (joint error {err:.4f} rad)")
                return
        if self.t - self.t_state > f.duration + self._transfer_timeout:
            self._scan_fault(
                ScanFault.TRANSFER_TIMEOUT,
                f"not at the pre-approach pose {self._transfer_timeout:.1f} s after the "
                f"planned {f.duration:.1f} s move",
                Trigger.FAULT_STOP,
            )
            self.cycle.hold()

    def _pause_transfer(self) -> None:
        assert self.follower is not None
        self.follower.stop()

    def _resume_transfer(self) -> None:
        assert self.follower is not None
        self.follower.go()

    # -- approach and settle (the controller's guarded approach; the scan waits) -----------
    def _enter_approach(self) -> None:
        p = self.planned
        assert p is not None
        c = self.cycle
        c.set_reference(p.T_path_start)
        self._force_set = self.force
        if self._granted(c.set_force(self.force), "set_force"):
            self._granted(c.approach(), "approach")

    def _enter_settle(self) -> None:
        self._settled_at = None

    def _step_settle(self) -> None:
        if self.reseeking:
            return
        if self._settled_at is not None and self.t - self._settled_at >= self._settle_time:
            self._fire(Trigger.SETTLED, "force settled at the setpoint")
        elif self.t - self.t_state >= self._settle_timeout:
            self._post(
                "settle_timeout",
                f"force not settled within {self._settle_timeout:.1f} s: sweeping anyway",
                0.0,
            )
            self._fire(Trigger.SETTLED, "settle timeout")

    # -- sweep ---------------------------------------------------------------------------
    def _enter_sweep(self) -> None:
        p = self.planned
        assert p is not None
        p.law.reset(0.0)
        self.policy.reset(self.force)
        self._t_sweep = self.t
        self._law_in.pause = False
        self.s = self.s_dot = 0.0
        self._reference_at(p, 0.0, 0.0)

    def _step_sweep(self) -> None:
        res = self._sweep_step(paused=False)
        if res is TimeLawResult.FINISHED:
            self._adjust(self.policy.finish(self.t, self.s))
            self._fire(Trigger.SWEPT, "end of the path")
        elif self.policy.pause_requested:
            self._pause_by = _PAUSE_BY_QUALITY
            self._fire(Trigger.PAUSE, "image quality")

    def _paused_sweep(self) -> None:
        self._sweep_step(paused=True)
        if self._pause_by != _PAUSE_BY_QUALITY:
            return
        timeout = self._pause_timeout
        if not self.policy.pause_requested:
            self._fire(Trigger.RESUME, "image quality recovered")
        elif timeout > 0.0 and self.t - self.t_state >= timeout:
            self._post(
                "resume",
                f"quality pause not resolved in {timeout:.1f} s: skipping ahead",
                self.s,
            )
            self._fire(Trigger.RESUME, "quality pause timed out")

    def _resume_sweep(self) -> None:
        self._adjust(self.policy.resumed(self.t, self.s))
        self._pause_by = ""

    def _sweep_step(self, *, paused: bool) -> TimeLawResult:
        """Advance the time law (held while ``paused`` or re-seeking contact) and set the
        reference pose and twist at the new arc length."""
        p = self.planned
        assert p is not None
        inp, out = self._law_in, self._law_out
        inp.pause = paused or self.mode is _RESEEK  # held while re-seeking contact
        inp.override = self.operator_speed * self.policy.override
        res = p.law.update(inp, out)
        if res is TimeLawResult.ERROR:
            self._scan_fault(
                ScanFault.TIME_LAW, "the time law rejected its input", Trigger.FAULT_RETRACT
            )
            return res
        self.s, self.s_dot = out.s, out.s_dot
        self._reference_at(p, out.s, out.s_dot)
        return res

    def _reference_at(self, p: PlannedScan, s: float, s_dot: float) -> None:
        """Reference pose at ``s`` and its twist (base frame) at path speed ``s_dot``."""
        p.path.pose_at(s, self._T_ref)
        p.twist.twist_into(s, s_dot, self._twist)
        self.cycle.set_reference(self._T_ref, self._twist)

    # -- retract, pause, abort, faults (the controller's retract; the scan waits) ----------
    def _enter_retract(self) -> None:
        self._retaring = False
        self._granted(self.cycle.retract(), "retract")

    def _step_retract(self) -> None:
        """After the retract: wait for the F/T re-tare, report what it corrected."""
        if not self._retaring or self._inputs.tare_progress < 1.0:
            return
        self._retaring = False
        if self.cycle.tares > self._tares:  # completed (not dropped)
            c = self.cycle.bias_correction.tolist()
            self.bias_correction = c
            residual = math.sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
            self._post(
                "retare",
                f"F/T re-tared out of contact: the bias had drifted {residual:.3f} N",
                detail={"bias_correction": c, "force_residual_N": residual},
            )
        self._fire(Trigger.RETRACTED, "retract finished, F/T re-tared")

    def _enter_paused(self) -> None:
        self._rows[self._paused_from].pause()

    def _step_paused(self) -> None:
        self._rows[self._paused_from].paused_step()

    def _hold(self) -> None:
        self.cycle.hold()

    def _enter_aborting(self) -> None:
        src = self._paused_from if self._last_src() is ScanState.PAUSED else self._last_src()
        if src is ScanState.TRANSFER:
            assert self.follower is not None
            self.follower.stop()
        else:
            self._granted(self.cycle.retract(), "retract")

    def _last_src(self) -> ScanState:
        return self.transitions[-1].src if self.transitions else ScanState.IDLE

    def _step_aborting(self) -> None:
        if self.mode is not Mode.JOINT:
            return  # retracting: ends with RETRACT_DONE
        self._follow_joint_move()
        f = self.follower
        assert f is not None
        if f.stopped and _max_abs(self._inputs.arm.qd.tolist()) < STOP_SPEED:
            self.cycle.hold()
            self._fire(Trigger.STOPPED, "joint move stopped")

    def _enter_safe_retract(self) -> None:
        # a safety RETRACT fault already switched the controller to its retract; a stop
        # fault refuses it (ARM_STOPPED) and moves the scan on to FAULTED (_check_safety)
        if self.mode is not Mode.RETRACT:
            self.cycle.retract()

    def _finish(self) -> None:
        self.outcome = ScanOutcome(
            result=self.result,
            state=self.state,
            cause=self.cause,
            fault=self.fault,
            t=self.t,
            s=self.s,
            length=self.length,
            spans=list(self.policy.spans),
            bias_correction=self.bias_correction,
        )

    # -- events ----------------------------------------------------------------------------
    def _s_or_none(self) -> float | None:
        """The arc length if the probe is on the path (or has been), else None."""
        on_path = self.active_state is ScanState.SWEEP
        return self.s if on_path or self.s > 0.0 else None

    def _post(
        self, kind: str, cause: str, s: float | None = None, detail: dict | None = None
    ) -> None:
        ev = ScanEvent(self.t, kind, cause, s, int(self.state), dict(detail or {}))
        self.events.append(ev)
        if self.sink is not None:
            self.sink.post_event(self.t, kind, cause, s, int(self.state), ev.detail)


def _max_abs(v: list[float]) -> float:
    return max(abs(x) for x in v)


def _max_abs_diff(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))
