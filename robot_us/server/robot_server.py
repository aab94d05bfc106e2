"""The server process of ``robot-us serve``: the protocol's endpoints, the client sessions
and control rules, the published streams; it starts and supervises the other processes
(docs/architecture.md "Processes", docs/protocol.md): control (the loop and the backend),
imaging (frames and quality), and two helpers that keep slow work off its interpreter:
planning (snapshots, stroke mapping, planning) and recording (the session's MCAP file).

One thread, one event loop (``serve``) owns every socket: the command ROUTER, the three
PUBs and the links to the children. It reads commands as they come, checks them against
the session rules (``SessionTable``), answers at once what it can answer itself (hello,
heartbeats, twists, control), hands planning work to the planning process and control
work to the control process, and answers those when their results come back; it publishes
the newest state row every ``server.state_decimation`` cycles, every frame the imaging
process sends and every event, and hands what is recorded to the recording process.
Nothing here can delay a control cycle (the loop runs in another process and reads
nothing from this one but small link messages), and nothing slow runs here (a held
interpreter lock would hold off heartbeats and trip the deadman).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import zmq

from robot_us import __version__
from robot_us.config import Config
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.protocol import messages as m
from robot_us.protocol.catalogue import CATALOGUE
from robot_us.protocol.codec import PROTOCOL_VERSION
from robot_us.protocol.endpoints import PORT_SPAN, Endpoints, bind_refusal
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.security import ServerKeys
from robot_us.protocol.server_sockets import (
    EVENT_HWM,
    FRAME_HWM,
    STATE_HWM,
    CommandSocket,
    Inbound,
    StreamPublisher,
)
from robot_us.protocol.sessions import SessionTable
from robot_us.recording.contents import QualitySample
from robot_us.server import links
from robot_us.server.config import check_server_limits
from robot_us.server.control_process import run_control
from robot_us.server.control_status import ControlStatus
from robot_us.server.imaging_process import run_imaging
from robot_us.server.planning_service import (
    PackedPlan,
    PlanningClient,
    SnapshotResult,
    run_planning,
)
from robot_us.server.recording_process import (
    FRAMES_QUEUED,
    ITEMS_QUEUED,
    RecordingLink,
    run_recording,
)
from robot_us.server.state_stream import ServerCounters, StateBuilder
from robot_us.state_log import StateLog
from robot_us.teleop_reference import TeleopPhase
from robot_us.timing_histogram import TimingHistogram

#: Longest the control process may take to answer a command (s) before `internal`.
CONTROL_REPLY_TIMEOUT = 3.0
#: Commands read per wake-up at most (then the streams get their turn).
MAX_COMMANDS_PER_WAKE = 64
#: How often each client's link figures are recorded (Hz).
LINK_RECORD_HZ = 10.0
#: How often the children are checked for being alive (s).
CHILD_CHECK_S = 0.2
#: GIL switch interval of the server process (s): how long another thread (the ZAP
#: authenticator, a test's) can keep the event loop waiting.
SWITCH_INTERVAL_S = 5e-4
#: How long each of the control, imaging and planning processes may take to stop (s)
#: before it is killed (the control process: the loop ends within a cycle of the request).
CHILD_STOP_S = 5.0
#: How long the recording process may take to write what is queued and close its file (s).
RECORDING_CLOSE_S = 60.0
#: Random base ports tried when none is given (tests).
RANDOM_PORTS = (21000, 60000)
_STOPPED_PHASE = int(TeleopPhase.STOPPED) + 1


class ServerError(RuntimeError):
    """The server could not start or lost its control process (message names why)."""


class StartInterruptedError(ServerError):
    """``stop_event`` was set (SIGINT / SIGTERM) while the server was starting."""


@dataclass
class _Pending:
    """A client command waiting for the control process (or the planning thread)."""

    inbound: Inbound
    t_mono: float
    on_ok: Callable[[], tuple[msgspec.Struct, list[bytes]]]


class RobotServer:
    """``robot-us serve`` (see the module doc): ``start()``, then ``serve()`` until
    ``stop_event`` is set (or ``start_thread()`` to serve from a thread), then ``close()``.
    ``port`` None picks a free block of four ports (``self.port``)."""

    def __init__(
        self,
        cfg: Config,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        keys: ServerKeys | None = None,
        record_path: Path | None = None,
        name: str = "robot-us",
        config_files: tuple[str, ...] = (),
    ) -> None:
        refusal = bind_refusal(host, keys is not None)
        if refusal is not None:
            raise ValueError(refusal)
        check_server_limits(cfg.server, cfg.safety.force_soft_limit, cfg.loop.realtime_priority)
        self.cfg = cfg
        self.host = host
        self.requested_port = port
        self.keys = keys
        self.record_path = record_path
        self.name = name
        self.config_files = config_files
        sc = cfg.server
        self.deadman = sc.deadman_ms * 1e-3
        self.limits = m.Limits(
            force_min=sc.force_min,
            force_max=sc.force_max,
            speed_min=sc.speed_min,
            speed_max=sc.speed_max,
            teleop_linear_max=sc.teleop_linear_max,
            teleop_angular_max=sc.teleop_angular_max,
            twist_hold_max=sc.twist_hold_max,
            ttl_max=sc.max_command_age,
            deadman=self.deadman,
            deadman_action=sc.deadman_action,
            speed_override_max=sc.speed_override_max,
            max_stroke_points=sc.max_stroke_points,
        )
        self.sessions = SessionTable(deadman=self.deadman, ttl_max=sc.max_command_age)
        self.stop_event = threading.Event()
        self.error: str | None = None
        self.port = 0
        self.t0_unix = 0.0
        self.t0_mono = 0.0
        self.faults: list[m.Fault] = []
        self.counters = ServerCounters()
        self.frames_published = 0
        self.states_published = 0
        self.commands_executed: dict[str, int] = {}
        self.control_stats: links.ControlStopped | None = None
        #: CPU time (s) of each process over the session, taken at close (Linux)
        self.child_cpu_s: dict[str, float | None] = {}
        #: the event loop: work per wake-up, and time between wake-ups (us)
        self.iteration_us = TimingHistogram()
        self.gap_us = TimingHistogram()
        self.imaging_error: str | None = None
        self.recording_error: str | None = None
        self._pending: dict[int, _Pending] = {}
        self._planning_pending: dict[int, Inbound] = {}
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._started = False
        self._closed = False
        self.recorder: RecordingLink | None = None
        self.recording_proc: Any = None
        self.planning: PlanningClient | None = None
        self.control_proc: Any = None
        self.imaging_proc: Any = None
        self.planning_proc: Any = None
        self._handlers: dict[str, Callable[[Inbound, float], Any]] = {
            spec.type: getattr(self, f"_on_{spec.type}")
            for spec in CATALOGUE.values()
            if spec.kind == "command"
        }

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> RobotServer:
        """Start the control and imaging processes, bind the endpoints, start recording
        (on failure everything started is stopped again)."""
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> RobotServer:
        cfg = self.cfg
        # no other thread may hold the event loop off for the default 5 ms
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._dir = links.private_dir()
        self.ctx = links.context(cfg.server.realtime_priority)
        self._started = True
        self._bind()  # first: a port in use fails before anything else starts
        self.kin = ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))
        self.log = StateLog.create_shared(cfg.loop.ring_capacity, self.kin.n)
        self.status = ControlStatus.create()
        ctrl_ep = links.ipc_endpoint(self._dir, "control")
        img_ep = links.ipc_endpoint(self._dir, "imaging")
        self.ctrl = links.pair(self.ctx, ctrl_ep, bind=True)
        self.img = links.pair(self.ctx, img_ep, bind=True, hwm=links.FRAME_HWM)
        plan_ep = links.ipc_endpoint(self._dir, "planning")
        self.plan_link = links.pair(self.ctx, plan_ep, bind=True)
        spawn = mp.get_context("spawn")
        args = (cfg, self.log.shm.name, self.status.name)
        self._ctrl_err = self._dir / "control-error.txt"
        self._img_err = self._dir / "imaging-error.txt"
        self.control_proc = spawn.Process(
            target=run_control,
            args=(*args, ctrl_ep, str(self._ctrl_err)),
            name="robot-us-control",
            daemon=True,
        )
        self.control_proc.start()
        self.planning_proc = spawn.Process(
            target=run_planning,
            args=(cfg, plan_ep, str(self._dir / "planning-error.txt")),
            name="robot-us-planning",
            daemon=True,
        )
        self.planning_proc.start()
        self._wait_control_ready()
        self._wait_planning_ready()
        self.imaging_proc = spawn.Process(
            target=run_imaging,
            args=(cfg, self.log.shm.name, img_ep, str(self._img_err)),
            name="robot-us-imaging",
            daemon=True,
        )
        self.imaging_proc.start()
        self.planning = PlanningClient(self.plan_link)
        self.builder = StateBuilder(self.log, self.status, cfg.loop.rate_hz)
        if self.record_path is not None:
            self._start_recorder(self.record_path)
        return self

    def _check_not_stopped(self) -> None:
        if self.stop_event.is_set():
            raise StartInterruptedError("stopped while starting")

    def _wait_control_ready(self) -> None:
        deadline = time.monotonic() + self.cfg.server.startup_timeout
        while time.monotonic() < deadline:
            self._check_not_stopped()
            if self.ctrl.poll(100):
                msg = links.decode_from_control(self.ctrl.recv())
                if isinstance(msg, links.ControlReady):
                    self.t0_unix, self.t0_mono = msg.t0_unix, msg.t0_mono
                    return
                if isinstance(msg, links.ControlStopped):
                    raise ServerError(f"the control process failed: {msg.error}")
            if not self.control_proc.is_alive():
                raise ServerError(f"the control process ended at start: {self._child_error()}")
        raise ServerError(
            f"the control process did not start within {self.cfg.server.startup_timeout:g} s"
        )

    def _wait_planning_ready(self) -> None:
        deadline = time.monotonic() + self.cfg.server.startup_timeout
        while time.monotonic() < deadline:
            self._check_not_stopped()
            if self.plan_link.poll(100) and self.plan_link.recv() == b"ready":
                return
            if not self.planning_proc.is_alive():
                raise ServerError(
                    f"the planning process ended at start (exit code {self.planning_proc.exitcode})"
                )
        raise ServerError(
            f"the planning process did not start within {self.cfg.server.startup_timeout:g} s"
        )

    def _child_error(self) -> str:
        return _last_line(self._ctrl_err) or f"exit code {self.control_proc.exitcode}"

    def _bind(self) -> None:
        keys = self.keys
        self.auth = keys.start_authenticator(self.ctx) if keys is not None else None
        if self.requested_port is not None:
            self._bind_at(self.requested_port)
            return
        base = random.randrange(*RANDOM_PORTS)
        for _ in range(200):
            try:
                self._bind_at(base)
                return
            except ServerError:
                base += PORT_SPAN + 1
        raise ServerError("no free block of four ports")

    def _bind_at(self, base: int) -> None:
        ep = Endpoints.at(self.host, base)
        made: list[Any] = []
        try:
            made.append(CommandSocket(self.ctx, ep.commands, self.keys))
            made.append(StreamPublisher(self.ctx, ep.state, STATE_HWM, self.keys))
            made.append(StreamPublisher(self.ctx, ep.frames, FRAME_HWM, self.keys))
            made.append(StreamPublisher(self.ctx, ep.events, EVENT_HWM, self.keys))
        except zmq.ZMQError as exc:
            for sock in made:
                sock.close()
            raise ServerError(
                f"cannot listen on {self.host} ports {base}..{base + PORT_SPAN - 1}: {exc}"
            ) from None
        self.commands, self.state_pub, self.frame_pub, self.event_pub = made
        self.port = base
        self.endpoints = ep
        self.url = ep.commands

    def _start_recorder(self, path: Path) -> None:
        ep = links.ipc_endpoint(self._dir, "recording")
        frame_ep = links.ipc_endpoint(self._dir, "recording-frames")
        sock = links.pair(self.ctx, ep, bind=True, hwm=ITEMS_QUEUED)
        self.rec_link = sock
        self.rec_frames = links.pair(self.ctx, frame_ep, bind=True, hwm=FRAMES_QUEUED)
        metadata = {
            "source": "robot-us serve (real time)",
            "cell": self.cfg.cell.backend,
            "config_files": ",".join(self.config_files),
        }
        self.recording_proc = mp.get_context("spawn").Process(
            target=run_recording,
            args=(
                self.cfg,
                self.log.shm.name,
                str(path),
                self.t0_unix,
                metadata,
                ep,
                frame_ep,
                str(self._dir / "recording-error.txt"),
            ),
            name="robot-us-recording",
            daemon=True,
        )
        self.recording_proc.start()
        deadline = time.monotonic() + self.cfg.server.startup_timeout
        while not (sock.poll(100) and sock.recv() == b"ready"):
            self._check_not_stopped()
            if time.monotonic() > deadline or not self.recording_proc.is_alive():
                why = _last_line(self._dir / "recording-error.txt")
                raise ServerError(f"the recording process did not start ({path}): {why}")
        self.recorder = RecordingLink(sock, self.rec_frames)

    def start_thread(self) -> RobotServer:
        """``start()`` if needed, then ``serve()`` on a daemon thread."""
        if not self._started:
            self.start()
        self._thread = threading.Thread(target=self.serve, name="robot-us-server", daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """The server thread runs (``start_thread``) and the control process is alive."""
        return (
            self._thread is not None
            and self._thread.is_alive()
            and self.control_proc is not None
            and self.control_proc.is_alive()
        )

    def close(self) -> dict[str, Any]:
        """Stop serving, stop the children (the arm holds), close the recording; returns
        the session's summary. Idempotent."""
        if self._closed:
            return {}
        self._closed = True
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        summary: dict[str, Any] = {}
        if not self._started:
            return summary
        self.child_cpu_s = {
            name: _cpu_seconds(proc)
            for name, proc in (
                ("control", self.control_proc),
                ("imaging", self.imaging_proc),
                ("planning", self.planning_proc),
                ("recording", self.recording_proc),
            )
        }
        self.child_cpu_s["server"] = time.process_time()
        # imaging and planning stop while the control process does; a child that cannot
        # be told (not connected yet: still starting, no loop, no file) is killed at once
        for proc, link in (
            (self.imaging_proc, getattr(self, "img", None)),
            (self.planning_proc, getattr(self, "plan_link", None)),
        ):
            if proc is not None and proc.is_alive() and link is not None:
                try:
                    link.send(b"stop", zmq.NOBLOCK)
                except zmq.ZMQError:
                    _kill(proc)
        if self.control_proc is not None and self.control_proc.is_alive():
            if not links.send(self.ctrl, links.Shutdown()):
                _kill(self.control_proc)
            deadline = time.monotonic() + CHILD_STOP_S
            while time.monotonic() < deadline and self.control_stats is None:
                if self.ctrl.poll(100):
                    msg = links.decode_from_control(self.ctrl.recv())
                    if isinstance(msg, links.ControlStopped):
                        self.control_stats = msg
                if not self.control_proc.is_alive() and not self.ctrl.poll(0):
                    break
            self.control_proc.join(timeout=max(0.0, deadline - time.monotonic()))
        deadline = time.monotonic() + CHILD_STOP_S
        for proc in (self.imaging_proc, self.planning_proc):
            if proc is not None:
                proc.join(timeout=max(0.0, deadline - time.monotonic()))
        for proc in (self.control_proc, self.imaging_proc, self.planning_proc):
            _kill(proc)  # still there: they ignore SIGTERM (links.ignore_stop_signals)
        summary = self.summary() if getattr(self, "status", None) is not None else {}
        if self.recorder is not None:
            proc = self.recording_proc
            deadline = time.monotonic() + RECORDING_CLOSE_S
            if self.recorder.finish(summary, proc.is_alive, RECORDING_CLOSE_S):
                proc.join(timeout=max(0.0, deadline - time.monotonic()))
        _kill(self.recording_proc)
        for sock in (
            getattr(self, "commands", None),
            getattr(self, "state_pub", None),
            getattr(self, "frame_pub", None),
            getattr(self, "event_pub", None),
        ):
            if sock is not None:
                sock.close()
        for name in ("ctrl", "img", "plan_link", "rec_link", "rec_frames"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=0)
        if getattr(self, "auth", None) is not None:
            self.auth.stop()
        self.ctx.term()
        if getattr(self, "log", None) is not None:
            self.log.unlink()
        if getattr(self, "status", None) is not None:
            self.status.close()
        for p in self._dir.iterdir():
            p.unlink(missing_ok=True)
        self._dir.rmdir()
        return summary

    def __enter__(self) -> RobotServer:
        return self.start_thread()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summary(self) -> dict[str, Any]:
        """The session in figures (the recording's /summary)."""
        cs = self.control_stats
        st = self.status.read()
        return {
            "result": "error" if self.error else "ok",
            "error": self.error,
            "recording_error": self.recording_error,
            "loop": cs.loop if cs is not None else {},
            "intake_us_p99": cs.intake_us_p99 if cs is not None else None,
            "intake_us_max": cs.intake_us_max if cs is not None else None,
            "commands": dict(self.commands_executed),
            "errors": dict(self.commands.errors) if hasattr(self, "commands") else {},
            "stale_commands": self.sessions.stale_total,
            "deadman_trips": int(st["deadman"]),
            "twists_applied": int(st["twists"]),
            "twists_stale_in_control": int(st["twists_stale"]),
            "server_work_us_p99": self.iteration_us.percentile(99),
            "server_work_us_max": self.iteration_us.max,
            "server_gap_us_p99": self.gap_us.percentile(99),
            "server_gap_us_max": self.gap_us.max,
            "states_published": self.states_published,
            "cpu_s": dict(self.child_cpu_s),
            "recording_frames_dropped": self.recorder.frames_dropped if self.recorder else 0,
            "recording_items_dropped": self.recorder.dropped if self.recorder else 0,
            "frames_published": self.frames_published,
        }

    # -- the event loop -------------------------------------------------------------------
    def serve(self) -> None:
        """Serve until ``stop_event`` is set or the control process is lost (this thread
        takes ``server.realtime_priority``, if set)."""
        prio = self.cfg.server.realtime_priority
        if prio > 0:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
            except PermissionError as exc:
                raise PermissionError(
                    f"server.realtime_priority > 0 needs CAP_SYS_NICE (or an rtprio limit): {exc}"
                ) from exc
        poller = zmq.Poller()
        cmd_sock = self.commands.sock
        for sock in (cmd_sock, self.ctrl, self.img, self.plan_link):
            poller.register(sock, zmq.POLLIN)
        decimation = self.cfg.server.state_decimation
        last_count = 0
        next_check = next_link_record = 0.0
        link_period = 1.0 / LINK_RECORD_HZ
        work = self.iteration_us
        t_prev = time.perf_counter_ns()
        while not self.stop_event.is_set():
            ready = dict(poller.poll(1))
            t_woke = time.perf_counter_ns()
            self.gap_us.add((t_woke - t_prev) * 1e-3)
            if cmd_sock in ready:
                for _ in range(MAX_COMMANDS_PER_WAKE):
                    if not cmd_sock.poll(0):
                        break
                    inbound = self.commands.receive(0)
                    if inbound is not None:
                        self._handle(inbound)
            if self.ctrl in ready:
                self._drain_control()
            if self.img in ready:
                self._drain_imaging()
            if self.plan_link in ready:
                self._drain_planning()
            now = time.time()
            mono = time.monotonic()
            lost = self.sessions.expire(now)
            if lost is not None:
                self._control_lost(lost)
            count = self.log.count
            if count - last_count >= decimation:
                last_count = count
                self._publish_state(now)
            if mono >= next_check:
                next_check = mono + CHILD_CHECK_S
                self._expire_pending(mono)
                if not self.control_proc.is_alive():
                    self.error = f"the control process ended: {self._child_error()}"
                    break
                self._check_recording()
            if mono >= next_link_record:
                next_link_record = mono + link_period
                self._record_links(now)
            t_prev = time.perf_counter_ns()
            work.add((t_prev - t_woke) * 1e-3)

    def _check_recording(self) -> None:
        """A recording process that ended before ``close``: said once on the events
        stream, and in the session's summary (the session goes on unrecorded)."""
        proc = self.recording_proc
        if self.recording_error is not None or proc is None or proc.is_alive():
            return
        why = _last_line(self._dir / "recording-error.txt") or f"exit code {proc.exitcode}"
        self.recording_error = f"the recording process ended: {why}"
        self.recorder = None
        self._event("recording", self.recording_error)

    def _t_loop(self, t_unix: float) -> float:
        return t_unix - self.t0_unix

    # -- commands -------------------------------------------------------------------------
    def _handle(self, inbound: Inbound) -> None:
        now = inbound.t_recv
        try:
            self.sessions.admit(inbound.identity, inbound.key_name, inbound.msg, now)
            result = self._handlers[inbound.msg.type](inbound, now)
        except ProtocolError as err:
            self._refuse(inbound, err)
            return
        if result is not None:
            body, parts = result
            self._answer(inbound, body, parts)

    def _answer(self, inbound: Inbound, body: msgspec.Struct, parts: list[bytes]) -> None:
        self.commands.reply(inbound, body, parts)
        kind = inbound.msg.type
        self.commands_executed[kind] = self.commands_executed.get(kind, 0) + 1
        if kind != "heartbeat":
            self._record_command(inbound, "ok")

    def _refuse(self, inbound: Inbound, err: ProtocolError) -> None:
        if err.code is ErrorCode.STALE:
            self._event("stale", err.message, client=self._client_name(inbound))
        self.sessions.count_error(inbound.identity, err.code)
        self.commands.refuse(inbound, err)
        if inbound.msg.type != "heartbeat" or err.code is not ErrorCode.STALE:
            self._record_command(inbound, err.code.value, err.reason or err.message)

    def _client_name(self, inbound: Inbound) -> str | None:
        s = self.sessions.sessions.get(inbound.identity)
        return s.name if s is not None else None

    def _q_now(self) -> np.ndarray:
        row = self.log.latest()
        if row is None:
            raise ProtocolError(
                ErrorCode.REFUSED, "the control loop has not started", reason="busy"
            )
        return np.array(row["q"], dtype=float).ravel()

    def _to_control(
        self,
        inbound: Inbound,
        op: str,
        value: float = 0.0,
        reason: str = "",
        plan: bytes = b"",
        plan_id: int = 0,
        on_ok: Callable[[], tuple[msgspec.Struct, list[bytes]]] | None = None,
    ) -> None:
        cid = next(self._ids)
        cmd = links.Command(cid, op, value, reason, plan, plan_id)
        if not links.send(self.ctrl, cmd):
            raise ProtocolError(ErrorCode.BUSY, "the control link is full", reason="busy")
        self._pending[cid] = _Pending(inbound, time.monotonic(), on_ok or (lambda: (m.Ack(), [])))

    def _to_planning(self, inbound: Inbound, job: str, *args: Any) -> None:
        assert self.planning is not None
        key = next(self._ids)
        if not self.planning.submit(key, job, *args):
            raise ProtocolError(
                ErrorCode.BUSY, "the planner is busy: try again", reason="planning_busy"
            )
        self._planning_pending[key] = inbound

    def _on_hello(self, inbound: Inbound, now: float) -> tuple[m.Welcome, list[bytes]]:
        body: m.Hello = inbound.msg.body
        new = inbound.identity not in self.sessions.sessions
        name = self.sessions.hello(inbound.identity, body.client_name, inbound.key_name, now)
        if new:
            self._event("client", f"{name} connected (hello)", client=name)
        return (
            m.Welcome(
                server_name=self.name,
                server_version=__version__,
                protocol_version=PROTOCOL_VERSION,
                client_id=name,
                limits=self.limits,
                ports=m.Ports(
                    commands=self.port,
                    state=self.port + 1,
                    frames=self.port + 2,
                    events=self.port + 3,
                ),
                state_rate_hz=self.cfg.loop.rate_hz / self.cfg.server.state_decimation,
                frame_rate_hz=self.cfg.server.frame_rate_hz,
                controller=self.sessions.controller_name,
                curve=self.keys is not None,
            ),
            [],
        )

    def _on_map_stroke(self, inbound: Inbound, now: float) -> None:
        body: m.MapStroke = inbound.msg.body
        if len(body.stroke_px) > self.limits.max_stroke_points:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"{len(body.stroke_px)} stroke points above {self.limits.max_stroke_points}",
                field="stroke_px",
            )
        self._to_planning(inbound, "map_stroke", body, self._q_now())

    def _on_plan(self, inbound: Inbound, now: float) -> None:
        self._to_planning(inbound, "plan", inbound.msg.body, self._q_now())

    def _on_start_scan(self, inbound: Inbound, now: float) -> None:
        if int(self.status.rec["teleop"]) not in (0, _STOPPED_PHASE):
            raise ProtocolError(
                ErrorCode.REFUSED, "teleoperation is active", reason="teleoperating"
            )
        self._to_planning(inbound, "package", inbound.msg.body.plan_id, self._q_now())

    def _start_packaged(self, inbound: Inbound, packed: PackedPlan) -> None:
        plan_id = inbound.msg.body.plan_id

        def started() -> tuple[msgspec.Struct, list[bytes]]:
            self.builder.scan.plan_id = plan_id
            self.builder.scan.length = packed.length
            if self.recorder is not None:
                self.recorder.plan(packed.plan)
            return m.Ack(), []

        self._to_control(inbound, "start_scan", plan=packed.data, plan_id=plan_id, on_ok=started)

    def _on_pause_scan(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "pause_scan", reason=inbound.msg.body.reason)

    def _on_resume_scan(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "resume_scan")

    def _on_abort_scan(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "abort_scan", reason=inbound.msg.body.reason)

    def _on_set_force(self, inbound: Inbound, now: float) -> None:
        force = inbound.msg.body.force
        lim = self.limits
        if not lim.force_min <= force <= lim.force_max:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"force {force:g} N outside {lim.force_min:g}..{lim.force_max:g} N",
                field="force",
            )
        self._to_control(inbound, "set_force", value=force)

    def _on_set_speed(self, inbound: Inbound, now: float) -> None:
        override = inbound.msg.body.override
        if override > self.limits.speed_override_max:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"speed override {override:g} above {self.limits.speed_override_max:g}",
                field="override",
            )
        self._to_control(inbound, "set_speed", value=override)

    def _on_teleop_start(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "teleop_start")

    def _on_teleop_stop(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "teleop_stop")

    def _on_teleop_twist(self, inbound: Inbound, now: float) -> tuple[m.Ack, list[bytes]]:
        phase = int(self.status.rec["teleop"])
        if phase in (0, _STOPPED_PHASE):
            raise ProtocolError(
                ErrorCode.REFUSED, "not teleoperating (teleop_start)", reason="not_teleoperating"
            )
        t: m.TeleopTwist = inbound.msg.body
        msg = inbound.msg
        ttl = msg.env.ttl if msg.env.ttl is not None else msg.spec.ttl
        assert ttl is not None
        age = now - msg.env.t_sent
        hold = min(t.hold or self.limits.twist_hold_max, self.limits.twist_hold_max)
        valid = max(0.0, min(hold, ttl - age))
        mono = time.monotonic() - (time.time() - now)  # the receive time, monotonic
        twist = links.Twist(
            msg.seq, t.vx, t.vy, t.wx, t.wy, t.wz, mono + valid, msg.env.t_sent, ttl
        )
        if not links.send(self.ctrl, twist):
            raise ProtocolError(ErrorCode.BUSY, "the control link is full", reason="busy")
        return m.Ack(), []

    def _on_heartbeat(self, inbound: Inbound, now: float) -> tuple[m.Ack, list[bytes]]:
        self.sessions.heartbeat(inbound.identity, inbound.msg.body, now)
        if inbound.identity == self.sessions.controller:
            self._renew_lease(now)
        return m.Ack(), []

    def _renew_lease(self, now: float) -> None:
        mono = time.monotonic() - (time.time() - now)
        links.send(self.ctrl, links.Lease(self.sessions.controller_name, mono + self.deadman))

    def _on_estop(self, inbound: Inbound, now: float) -> None:
        self._to_control(inbound, "estop", reason=inbound.msg.body.reason)

    def _on_reset_faults(self, inbound: Inbound, now: float) -> None:
        def reset() -> tuple[msgspec.Struct, list[bytes]]:
            self.faults.clear()
            return m.Ack(), []

        self._to_control(inbound, "reset_faults", on_ok=reset)

    def _on_take_control(self, inbound: Inbound, now: float) -> tuple[m.Control, list[bytes]]:
        self.sessions.take(inbound.identity, now)
        self._renew_lease(now)
        name = self.sessions.controller_name
        self._event("control", f"{name} took control", client=name)
        return m.Control(controller=name, you=True), []

    def _on_release_control(self, inbound: Inbound, now: float) -> tuple[m.Control, list[bytes]]:
        name = self.sessions.controller_name
        self.sessions.release(inbound.identity)
        links.send(self.ctrl, links.Lease(None, 0.0, f"control released by {name}"))
        self._event("control", f"{name} released control", client=name)
        return m.Control(controller=self.sessions.controller_name, you=False), []

    def _on_snapshot(self, inbound: Inbound, now: float) -> None:
        self._to_planning(inbound, "snapshot", self._q_now(), now)

    def _control_lost(self, name: str) -> None:
        links.send(self.ctrl, links.Lease(None, 0.0, "deadman"))
        ms = self.cfg.server.deadman_ms
        self._event("control", f"{name} lost control: no heartbeat for {ms:g} ms", client=name)

    # -- results from the children and the planning thread ------------------------------
    def _drain_control(self) -> None:
        while self.ctrl.poll(0):
            msg = links.decode_from_control(self.ctrl.recv())
            if isinstance(msg, links.Reply):
                self._control_reply(msg)
            elif isinstance(msg, links.ControlEvent):
                self._control_event(msg)
            elif isinstance(msg, links.ControlStopped):
                self.control_stats = msg
                if not self.stop_event.is_set():
                    self.error = f"the control loop stopped: {msg.error or 'unexpectedly'}"
                    self.stop_event.set()

    def _control_reply(self, msg: links.Reply) -> None:
        pending = self._pending.pop(msg.id, None)
        if pending is None:
            return  # answered as timed out already
        if msg.ok:
            body, parts = pending.on_ok()
            self._answer(pending.inbound, body, parts)
            return
        code = ErrorCode.INTERNAL if msg.reason == "internal" else ErrorCode.REFUSED
        err = ProtocolError(code, msg.message, reason=msg.reason or None)
        self._refuse(pending.inbound, err)

    def _control_event(self, ev: links.ControlEvent) -> None:
        t = self.t0_unix + ev.t_loop
        if ev.kind == "fault":
            d = ev.detail
            self.faults.append(
                m.Fault(
                    code=int(d.get("code", 0)), name=str(d.get("name", "")), cause=ev.cause, t=t
                )
            )
        client = ev.detail.get("client") if ev.kind == "deadman" else None
        self.event_pub.publish(m.Event(t=t, kind=ev.kind, cause=ev.cause, s=ev.s, client=client))
        if self.recorder is not None and ev.kind not in ("transition", "fault"):
            # transitions and faults: the recorder derives them from the state rows
            self.recorder.event(ev.t_loop, ev.kind, ev.cause, ev.s, ev.state, ev.detail)

    def _expire_pending(self, mono: float) -> None:
        for cid in [c for c, p in self._pending.items() if mono - p.t_mono > CONTROL_REPLY_TIMEOUT]:
            pending = self._pending.pop(cid)
            err = ProtocolError(ErrorCode.INTERNAL, "the control process did not answer")
            self._refuse(pending.inbound, err)

    def _drain_planning(self) -> None:
        assert self.planning is not None
        for key, result in self.planning.receive():
            inbound = self._planning_pending.pop(key, None)
            if inbound is None:
                continue
            if isinstance(result, ProtocolError):
                self._refuse(inbound, result)
            elif isinstance(result, SnapshotResult):
                self._answer(inbound, result.body, result.parts)
            elif isinstance(result, PackedPlan):  # for start_scan
                try:
                    self._start_packaged(inbound, result)
                except ProtocolError as err:
                    self._refuse(inbound, err)
            else:
                self._answer(inbound, result, [])

    def _drain_imaging(self) -> None:
        while self.img.poll(0):
            frames = self.img.recv_multipart(copy=False)
            msg = links.decode_from_imaging(frames[0].buffer)
            if isinstance(msg, links.FrameInfo) and len(frames) == 2:
                self._frame(msg, frames[1].buffer)
            elif isinstance(msg, links.ImagingError):
                self.imaging_error = msg.message
                self._event("imaging", f"imaging stopped: {msg.message}")

    def _frame(self, info: links.FrameInfo, pixels: memoryview) -> None:
        q = info.quality
        quality = None
        if q is not None:
            quality = m.Quality(
                frame_seq=q.seq, label=q.label, score=q.score, mean_confidence=q.mean_confidence
            )
            if info.fresh:
                links.send(
                    self.ctrl,
                    links.Quality(
                        q.seq,
                        q.t_loop,
                        q.score,
                        q.label,
                        q.ood,
                        q.ood_reason,
                        q.coverage,
                        q.coupled_confidence,
                    ),
                )
        body = m.Frame(
            frame_seq=info.seq,
            t=info.t_unix,
            width=info.width,
            height=info.height,
            spacing=info.spacing,
            T_base_probe=info.T_base_probe,
            force=info.force,
            quality=quality,
        )
        self.frame_pub.publish(body, parts=[pixels])
        self.frames_published += 1
        rec = self.recorder
        if rec is None:
            return
        rec.frame(info, pixels)
        if q is not None and info.fresh:
            rec.quality(QualitySample(q.t_loop, q.seq, q.label, q.score, q.mean_confidence))

    # -- streams --------------------------------------------------------------------------
    def _event(self, kind: str, cause: str, client: str | None = None) -> None:
        now = time.time()
        self.event_pub.publish(m.Event(t=now, kind=kind, cause=cause, client=client))
        if self.recorder is not None:
            detail = {"client": client} if client is not None else {}
            self.recorder.event(self._t_loop(now), kind, cause, None, None, detail)

    def _publish_state(self, now: float) -> None:
        row = self.builder.newest()
        if row is None:
            return
        c = self.counters
        c.controller = self.sessions.controller_name
        c.links = self.sessions.links(now)
        c.errors = dict(self.commands.errors)
        c.stale = self.sessions.stale_total
        c.faults = self.faults
        self.state_pub.publish(self.builder.build(row, c))
        self.states_published += 1

    def _record_command(self, inbound: Inbound, result: str, reason: str = "") -> None:
        rec = self.recorder
        if rec is None:
            return
        msg = inbound.msg
        now = time.time()
        rec.command(
            self._t_loop(now),
            {
                "client": self._client_name(inbound),
                "type": msg.type,
                "seq": msg.seq,
                "t_sent": msg.env.t_sent,
                "t_recv": inbound.t_recv,
                "age": inbound.t_recv - msg.env.t_sent,
                "ttl": msg.env.ttl,
                "result": result,
                "reason": reason,
                "body": msgspec.to_builtins(msg.body),
            },
        )

    def _record_links(self, now: float) -> None:
        rec = self.recorder
        if rec is None or not self.sessions.sessions:
            return
        t = self._t_loop(now)
        controller = self.sessions.controller_name
        for link in self.sessions.links(now):
            payload = msgspec.to_builtins(link)
            payload["controller"] = link.client == controller
            rec.link(t, payload)


def _last_line(path: Path) -> str:
    """The last line a child process wrote to its error file ("" if none)."""
    try:
        lines = path.read_text().strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _kill(proc: Any) -> None:
    """SIGKILL a child process that is still running, and reap it."""
    if proc is not None and proc.is_alive():
        proc.kill()
        proc.join(timeout=5.0)


def _cpu_seconds(proc: Any) -> float | None:
    """User + system CPU time (s) a child process has used so far (Linux ``/proc``; None
    elsewhere or when it is gone)."""
    if proc is None or proc.pid is None:
        return None
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
