"""The control process of ``robot-us serve``: the configured cell and the 1 kHz control
cycle in the real-time loop, and nothing else (docs/architecture.md "Processes").

What runs here, per cycle: the control cycle (sense ... record into the shared
``StateLog``) with the active reference provider (an autonomous ``Scan``, a
``TeleopReference``, or holding), then, between cycles (the loop's plant step, outside the
timed control work): the simulator's physics step (simulation only) and ``ControlIntake.
service()``: a non-blocking read of the server's link (a few small messages), the control
lease (the deadman), the new faults and scan transitions as events, the status record.
Nothing here parses client input, plans, images, records or logs.

The one heavier piece of work a server message brings, turning a planned scan's bytes
into the objects the scan runs (about a millisecond: unpickling, two ruckig solves, the
``Scan``), runs in a helper thread (``PlanDecoder``) with the interpreter's switch interval
lowered to ``SWITCH_INTERVAL_S``, so the loop thread waits at most that long for the GIL;
the decoded scan is swapped in between cycles.

Provider swaps happen between cycles only. The process ignores SIGINT (the server stops it
with ``Shutdown``) and stops the arm when the server process disappears.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from robot_us.config import Config
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.core.backends import CELLS, Cell, EStop, SoftwareEStop
from robot_us.loop import LoopRunner
from robot_us.reference_provider import (
    CycleInputs,
    CycleOutcome,
    HoldReference,
    ReferenceProvider,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.safety import SafetyResetError
from robot_us.scan.messages import ScanRequest
from robot_us.scan.quality_policy import QualityObservation
from robot_us.scan.scan import Scan
from robot_us.scan.states import STATE_NAMES, ScanState, Trigger
from robot_us.scan.transitions import next_state
from robot_us.server import links
from robot_us.server.control_status import ControlStatus
from robot_us.server.plan_transport import unpack_plan
from robot_us.state_log import StateLog
from robot_us.teleop_reference import TeleopLimits, TeleopPhase, TeleopReference
from robot_us.timing_histogram import TimingHistogram

#: Longest a server may run (s of loop time); the loop ends earlier on ``Shutdown``.
MAX_RUN_S = 365 * 24 * 3600.0
#: Link messages handled per between-cycles service at most (the rest wait a cycle).
MAX_MESSAGES_PER_CYCLE = 16
#: GIL switch interval in the control process (s): the loop waits at most this long for
#: the plan decoder thread.
SWITCH_INTERVAL_S = 2e-4
#: A planned scan starts only if the arm is this close (rad, every joint) to the joints
#: it was planned from.
START_TOLERANCE = 0.01
#: Events queued for the server at most (oldest dropped).
MAX_EVENTS = 1000
#: Above this measured force (N, a fraction of the soft limit) a fault reset is refused.
RESET_FORCE_FRACTION = 0.9

_WORKING, _FINISHED = ReferenceResult.WORKING, ReferenceResult.FINISHED


class EventOutbox:
    """The event sink of the scan and teleoperation in this process (``post_event``: a
    bounded deque append, loop-safe); drained between cycles to the server."""

    def __init__(self, capacity: int = MAX_EVENTS) -> None:
        self.events: deque[links.ControlEvent] = deque(maxlen=capacity)

    def post_event(
        self,
        t: float,
        kind: str,
        cause: str,
        s: float | None = None,
        state: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Queue one event (never blocks)."""
        self.events.append(links.ControlEvent(t, kind, cause, s, state, dict(detail or {})))


class AnyEStop(EStop):
    """Engaged while any of the cell's E-stop and the server's software E-stop is."""

    def __init__(self, cell_estop: EStop | None, software: SoftwareEStop) -> None:
        self.cell_estop = cell_estop
        self.software = software

    def pressed(self) -> bool:
        c = self.cell_estop
        return self.software.pressed() or (c is not None and c.pressed())

    def hardware_pressed(self) -> bool:
        """The cell's own E-stop is engaged."""
        c = self.cell_estop
        return c is not None and c is not self.software and c.pressed()


class ProviderSlot:
    """The cycle's reference provider in the server: delegates to ``active`` (a scan,
    teleoperation or holding, swapped between cycles) and never ends the loop, except on
    ``stop_loop``."""

    def __init__(self) -> None:
        self.active: ReferenceProvider = HoldReference()
        self.stopping = False

    @property
    def status(self) -> ReferenceStatus:
        """The active provider's status columns."""
        return self.active.status

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """The active provider's reference stage."""
        self.active.update(inputs)
        return _FINISHED if self.stopping else _WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """The active provider's observe stage."""
        self.active.observe(outcome)
        return _FINISHED if self.stopping else _WORKING


@dataclass
class _Decoded:
    """A decoded start_scan: its command id, plan id, the scan ready to start and the
    joints it was planned from; or the error that stopped decoding."""

    cmd_id: int
    plan_id: int
    scan: Scan | None
    q_start: np.ndarray | None
    error: str = ""


class PlanDecoder:
    """A daemon thread that turns packed plans into ``Scan`` objects ready to start."""

    def __init__(self, cfg: Config, cycle: ControlCycle, events: EventOutbox) -> None:
        self.cfg = cfg
        self.cycle = cycle
        self.events = events
        self.jobs: queue.Queue[links.Command] = queue.Queue(maxsize=4)
        self.done: deque[_Decoded] = deque(maxlen=8)
        self._thread = threading.Thread(target=self._run, name="plan-decoder", daemon=True)
        self._thread.start()

    def submit(self, cmd: links.Command) -> bool:
        """Queue a start_scan for decoding; False if the queue is full."""
        try:
            self.jobs.put_nowait(cmd)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            cmd = self.jobs.get()
            try:
                planned, q_start = unpack_plan(self.cfg, self.cycle.kin.limits, cmd.plan)
                scan = Scan(self.cfg, self.cycle, events=self.events)
                scan.request = ScanRequest(planned=planned)
                self.done.append(_Decoded(cmd.id, cmd.plan_id, scan, q_start))
            except Exception as exc:  # reported to the server as a refusal
                self.done.append(_Decoded(cmd.id, cmd.plan_id, None, None, f"{exc}"))


class ControlIntake:
    """Between cycles: the server's messages, the lease, events, the status record (see
    the module doc). ``slot`` is the cycle's provider."""

    def __init__(
        self,
        cfg: Config,
        cycle: ControlCycle,
        slot: ProviderSlot,
        sock: zmq.Socket,
        status: ControlStatus,
        estop: AnyEStop,
        runner: LoopRunner,
    ) -> None:
        sc = cfg.server
        self.cfg = cfg
        self.cycle = cycle
        self.slot = slot
        self.sock = sock
        self.status = status
        self.estop = estop
        self.runner = runner
        self.outbox = EventOutbox()
        self.decoder = PlanDecoder(cfg, cycle, self.outbox)
        self.limits = TeleopLimits(
            sc.teleop_linear_max, sc.teleop_angular_max, sc.twist_hold_max, sc.teleop_max_lag
        )
        self.deadman_action = sc.deadman_action
        self.force = cfg.force_control.force_setpoint
        self.speed = 1.0
        self._reset_force = RESET_FORCE_FRACTION * cfg.safety.force_soft_limit
        self.scan: Scan | None = None
        self.teleop: TeleopReference | None = None
        self.lease_until = -math.inf
        self.lease_holder: str | None = None
        self.t0_mono = 0.0
        self.t0_unix = 0.0
        self.ready = False
        self.twists = 0
        self.twists_stale = 0
        self.deadman_trips = 0
        self._faults_seen = 0
        self._transitions_seen = 0
        self.timing = TimingHistogram()
        self.intake_us_max = 0.0
        self._ppid = os.getppid()
        self._handlers: dict[type, Callable[[Any], None]] = {
            links.Lease: self._on_lease,
            links.Twist: self._on_twist,
            links.Command: self._on_command,
            links.Quality: self._on_quality,
            links.Shutdown: self._on_shutdown,
        }
        self._ops: dict[str, Callable[[links.Command], tuple[bool, str, str] | None]] = {
            "start_scan": self._op_start_scan,
            "pause_scan": self._op_pause_scan,
            "resume_scan": self._op_resume_scan,
            "abort_scan": self._op_abort_scan,
            "set_force": self._op_set_force,
            "set_speed": self._op_set_speed,
            "teleop_start": self._op_teleop_start,
            "teleop_stop": self._op_teleop_stop,
            "estop": self._op_estop,
            "reset_faults": self._op_reset_faults,
        }

    # -- between cycles ---------------------------------------------------------------
    def service(self) -> None:
        """The server link, lease, events and status (see the module doc)."""
        t_start = time.perf_counter_ns()
        if not self.ready:
            self._announce()
        now = time.monotonic()
        sock = self.sock
        for _ in range(MAX_MESSAGES_PER_CYCLE):
            if not sock.poll(0):
                break
            try:
                msg = links.decode_to_control(sock.recv(zmq.NOBLOCK))
            except (zmq.Again, ValueError):  # msgspec.DecodeError is a ValueError
                break
            self._handlers[type(msg)](msg)
        if self.lease_holder is not None and now > self.lease_until:
            self._deadman()
        if self.decoder.done:
            self._start_decoded(self.decoder.done.popleft())
        self._watch()
        self._flush_events()
        self._write_status()
        if os.getppid() != self._ppid:  # the server process is gone: stop here
            self.cycle.hold()
            self.slot.stopping = True
        us = (time.perf_counter_ns() - t_start) * 1e-3
        self.timing.add(us)
        if us > self.intake_us_max:
            self.intake_us_max = us

    def _announce(self) -> None:
        pacer = self.runner.pacer
        self.t0_mono = pacer.start_ns * 1e-9  # type: ignore[attr-defined]
        self.t0_unix = time.time() - (time.monotonic() - self.t0_mono)
        rec = self.status.rec
        rec["t0_unix"] = self.t0_unix
        rec["t0_mono"] = self.t0_mono
        self.ready = True
        links.send(
            self.sock,
            links.ControlReady(self.t0_unix, self.t0_mono, self.cycle.n, os.getpid()),
        )

    def _watch(self) -> None:
        """New latched faults and scan transitions become events."""
        latch = self.cycle.supervisor.latch
        n = len(latch.faults)
        if n < self._faults_seen:
            self._faults_seen = 0
        for f in latch.faults[self._faults_seen :]:
            self.outbox.post_event(
                f.t,
                "fault",
                f.describe(),
                None,
                None,
                {"code": int(f.code), "name": f.code.name.lower(), "reaction": f.reaction.name},
            )
        self._faults_seen = n
        scan = self.scan
        if scan is not None and scan.transition_count != self._transitions_seen:
            # counted, not measured by the bounded deque's length (constant once full)
            fresh = min(scan.transition_count - self._transitions_seen, len(scan.transitions))
            self._transitions_seen = scan.transition_count
            for tr in list(scan.transitions)[-fresh:]:
                self.outbox.post_event(
                    tr.t,
                    "transition",
                    f"{STATE_NAMES[tr.src]} -> {STATE_NAMES[tr.dst]} ({tr.trigger}"
                    + (f": {tr.cause})" if tr.cause else ")"),
                    scan.s if tr.dst is ScanState.SWEEP or scan.s > 0 else None,
                    int(tr.dst),
                    {"from": STATE_NAMES[tr.src], "to": STATE_NAMES[tr.dst]},
                )

    def _flush_events(self) -> None:
        ev = self.outbox.events
        while ev:
            if not links.send(self.sock, ev[0]):
                return  # the link is full: try again after the next cycle
            ev.popleft()

    def _write_status(self) -> None:
        rec, clock = self.status.rec, self.runner.clock
        rec["cycles"] = self.runner.cycles
        rec["overruns"] = clock.overruns
        rec["skipped"] = clock.skipped_cycles
        tel = self.teleop
        rec["teleop"] = int(tel.phase) + 1 if tel is not None and tel.active else 0
        rec["estop"] = self.estop.pressed()
        rec["reaction"] = int(self.cycle.supervisor.latch.reaction)
        rec["lease"] = self.lease_holder is not None
        rec["force_setpoint"] = self.force
        rec["twists"] = self.twists
        rec["twists_stale"] = self.twists_stale
        rec["deadman"] = self.deadman_trips
        rec["intake_us_max"] = self.intake_us_max

    # -- messages -------------------------------------------------------------------------
    def _on_lease(self, msg: links.Lease) -> None:
        if msg.holder is None:
            if self.lease_holder is None:
                return
            if msg.cause == "deadman":  # the server saw the heartbeat stop first
                self._deadman()
            else:
                self.lease_holder = None
                self._stop_motion("hold", msg.cause or "control released")
            return
        self.lease_holder = msg.holder
        self.lease_until = msg.until_mono

    def _deadman(self) -> None:
        holder = self.lease_holder
        self.lease_holder = None
        self.deadman_trips += 1
        action = self.deadman_action
        self._stop_motion(action, "deadman")
        ms = self.cfg.server.deadman_ms
        self.outbox.post_event(
            self._t(),
            "deadman",
            f"no heartbeat from {holder} for {ms:g} ms: probe stopped ({action})",
            None,
            None,
            {"client": holder, "action": action},
        )

    def _stop_motion(self, action: str, cause: str) -> None:
        """Stop whatever moves the probe: teleoperation stops (holding contact or
        retracting), a running scan pauses (hold) or aborts (retract)."""
        tel = self.teleop
        if tel is not None and tel.active:
            tel.stop(action, cause)
        scan = self.scan
        if scan is not None and not scan.finished:
            if action == "retract":
                scan.abort(cause)
            elif next_state(scan.state, Trigger.PAUSE) is not None:
                scan.pause(cause)

    def _on_twist(self, msg: links.Twist) -> None:
        tel = self.teleop
        if tel is None or tel.phase is TeleopPhase.STOPPED or self.lease_holder is None:
            return
        if time.time() - msg.t_sent > msg.ttl or time.monotonic() > msg.until_mono:
            self.twists_stale += 1  # older than its horizon by now: never executed
            return
        tel.twist(msg.vx, msg.vy, msg.wx, msg.wy, msg.wz, msg.until_mono - self.t0_mono)
        self.twists += 1

    def _on_quality(self, msg: links.Quality) -> None:
        if self.scan is not None and not self.scan.finished:
            self.scan.submit_quality(
                QualityObservation(
                    msg.seq,
                    msg.t_loop,
                    msg.score,
                    msg.label,
                    msg.ood,
                    msg.ood_reason,
                    msg.coverage,
                    msg.coupled_confidence,
                )
            )

    def _on_shutdown(self, msg: links.Shutdown) -> None:
        self.cycle.hold()
        self.slot.stopping = True

    def _on_command(self, cmd: links.Command) -> None:
        result = self._ops[cmd.op](cmd)
        if result is not None:  # None: answered later (start_scan)
            ok, reason, message = result
            links.send(self.sock, links.Reply(cmd.id, ok, reason, message))

    # -- commands -------------------------------------------------------------------------
    def _scan_running(self) -> bool:
        return self.scan is not None and not self.scan.finished

    def _teleoperating(self) -> bool:
        return self.teleop is not None and self.teleop.active

    def _op_start_scan(self, cmd: links.Command) -> tuple[bool, str, str] | None:
        if self._scan_running():
            return False, "scan_running", "a scan is running (abort it first)"
        if self._teleoperating():
            return False, "teleoperating", "teleoperation is active (teleop_stop first)"
        if self.cycle.supervisor.faulted:
            return False, "fault_latched", "a safety fault is latched (reset_faults first)"
        if not self.decoder.submit(cmd):
            return False, "busy", "a scan is being prepared"
        return None

    def _start_decoded(self, d: _Decoded) -> None:
        def reply(ok: bool, reason: str = "", message: str = "") -> None:
            links.send(self.sock, links.Reply(d.cmd_id, ok, reason, message))

        if d.scan is None or d.q_start is None:
            reply(False, "internal", f"the plan could not be prepared: {d.error}")
            return
        if self._scan_running() or self._teleoperating() or self.cycle.supervisor.faulted:
            reply(False, "scan_running", "the cell changed while the plan was prepared")
            return
        moved = float(np.max(np.abs(self.cycle.inp.q - d.q_start)))
        if moved > START_TOLERANCE:
            reply(
                False,
                "arm_moved",
                f"the arm moved {moved:.3f} rad since planning (plan again)",
            )
            return
        scan = d.scan
        if self.force != scan.force:
            scan.set_force(self.force)
        if self.speed != 1.0:
            scan.set_speed(self.speed)
        scan.start(scan.request)
        self.scan = scan
        self._transitions_seen = 0
        self.teleop = None
        self.slot.active = scan
        reply(True)

    def _op_pause_scan(self, cmd: links.Command) -> tuple[bool, str, str]:
        scan = self.scan
        if scan is None or scan.finished:
            return False, "no_scan", "no scan is running"
        if next_state(scan.state, Trigger.PAUSE) is None:
            return False, "not_pausable", f"a scan in {STATE_NAMES[scan.state]} cannot pause"
        scan.pause(cmd.reason or "operator")
        return True, "", ""

    def _op_resume_scan(self, cmd: links.Command) -> tuple[bool, str, str]:
        scan = self.scan
        if scan is None or scan.state is not ScanState.PAUSED:
            return False, "not_paused", "no scan is paused"
        if self.cycle.supervisor.faulted:
            return False, "fault_latched", "a safety fault is latched"
        scan.resume("operator")
        return True, "", ""

    def _op_abort_scan(self, cmd: links.Command) -> tuple[bool, str, str]:
        if self._scan_running():
            assert self.scan is not None
            self.scan.abort(cmd.reason or "operator")
        return True, "", ""

    def _op_set_force(self, cmd: links.Command) -> tuple[bool, str, str]:
        force = cmd.value
        if self._scan_running():
            assert self.scan is not None
            self.scan.set_force(force)
        elif self._teleoperating():
            assert self.teleop is not None
            if self.teleop.set_force(force) is not RequestResult.OK:
                return False, "out_of_range", f"force {force:g} N refused by the controller"
        elif self.cycle.set_force(force) is not RequestResult.OK:
            return False, "out_of_range", f"force {force:g} N refused by the controller"
        self.force = force
        return True, "", ""

    def _op_set_speed(self, cmd: links.Command) -> tuple[bool, str, str]:
        self.speed = cmd.value
        if self._scan_running():
            assert self.scan is not None
            self.scan.set_speed(cmd.value)
        return True, "", ""

    def _op_teleop_start(self, cmd: links.Command) -> tuple[bool, str, str]:
        if self._scan_running():
            return False, "scan_running", "a scan is running (abort it first)"
        if self.cycle.supervisor.faulted:
            return False, "fault_latched", "a safety fault is latched (reset_faults first)"
        if self._teleoperating():
            return True, "", ""
        state = int(self.scan.state) if self.scan is not None else int(ScanState.IDLE)
        tel = TeleopReference(self.cycle, self.limits, self.force, state, self.outbox)
        self.teleop = tel
        self.slot.active = tel
        return True, "", ""

    def _op_teleop_stop(self, cmd: links.Command) -> tuple[bool, str, str]:
        if self._teleoperating():
            assert self.teleop is not None
            self.teleop.stop("hold", "operator")
        return True, "", ""

    def _op_estop(self, cmd: links.Command) -> tuple[bool, str, str]:
        self.estop.software.press()
        self.outbox.post_event(self._t(), "estop", f"E-stop: {cmd.reason}", None, None, {})
        return True, "", ""

    def _op_reset_faults(self, cmd: links.Command) -> tuple[bool, str, str]:
        if self.estop.hardware_pressed():
            return False, "estop_pressed", "the cell's E-stop is still engaged"
        force = float(self.cycle.inp.wrench[2])
        if force > self._reset_force:
            return (
                False,
                "force_above_limit",
                f"contact force {force:.1f} N is still near the limit",
            )
        self.estop.software.release()
        try:
            self.cycle.reset_faults()
        except SafetyResetError as exc:
            return False, "estop_pressed", str(exc)
        self._faults_seen = 0
        self.outbox.post_event(self._t(), "faults_reset", "faults reset", None, None, {})
        return True, "", ""

    def _t(self) -> float:
        return self.runner.clock.t


def _cell_estop(cell: Cell) -> AnyEStop:
    """The cell's E-stop combined with the server's software E-stop."""
    software = cell.estop if isinstance(cell.estop, SoftwareEStop) else SoftwareEStop()
    return AnyEStop(cell.estop, software)


def run_control(
    cfg: Config, log_name: str, status_name: str, endpoint: str, error_path: str
) -> None:
    """The control process's entry point (``multiprocessing`` spawn target)."""
    links.ignore_stop_signals()  # the server stops us with Shutdown
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # the link's I/O thread just below the loop: the lease must never wait behind others
    ctx = links.context(max(1, cfg.loop.realtime_priority - 1) if cfg.loop.realtime_priority else 0)
    sock = links.pair(ctx, endpoint, bind=False)
    log = StateLog.attach(log_name)
    status = ControlStatus.attach(status_name)
    links.keep_tracked(log.shm)
    links.keep_tracked(status.shm)
    cell: Cell | None = None
    error = ""
    runner: LoopRunner | None = None
    intake: ControlIntake | None = None
    try:
        cell = CELLS.create(cfg.cell.backend, cfg)
        estop = _cell_estop(cell)
        cell.estop = estop
        cycle = ControlCycle(cfg, cell, state_log=log)
        slot = ProviderSlot()
        cycle.reference = slot
        runner = LoopRunner(
            cfg.loop.rate_hz, "realtime", realtime_priority=cfg.loop.realtime_priority
        )
        intake = ControlIntake(cfg, cycle, slot, sock, status, estop, runner)
        step_plant = cell.step_plant
        service = intake.service
        if step_plant is None:
            between = service
        else:

            def between() -> None:
                step_plant()
                service()

        cycle.hold()
        runner.run(cycle, plant_step=between, duration_s=MAX_RUN_S)
        cell.arm.stop()
    except Exception as exc:  # reported to the server, then the process ends
        error = f"{type(exc).__name__}: {exc}"
        with open(error_path, "w") as f:
            import traceback

            traceback.print_exc(file=f)
    finally:
        stats = runner.stats().as_dict() if runner is not None else {}
        p99 = intake.timing.percentile(99) if intake is not None and intake.timing.n else 0.0
        mx = intake.intake_us_max if intake is not None else 0.0
        links.send(sock, links.ControlStopped(stats, p99, mx, error))
        if cell is not None and cell.close is not None:
            cell.close()
        log.close()
        status.close()
        sock.close(linger=500)
        ctx.term()
        links.exit_child(1 if error else 0)
