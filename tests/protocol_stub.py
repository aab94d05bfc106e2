"""A test-only robot-side server: the real sockets, decode path and session rules of
``robot_us.protocol`` on a thread, with a toy robot behind them (no control cycle). It
answers every command of the catalogue the way docs/protocol.md says the server will, so
the client, CurveZMQ, the fuzzers and the impairment proxy are tested end to end before the
real server exists. The benchmark (bench/protocol.py) runs it in a subprocess."""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable

import msgspec
import zmq

from robot_us import __version__
from robot_us.protocol import messages as m
from robot_us.protocol.catalogue import CATALOGUE
from robot_us.protocol.codec import PROTOCOL_VERSION
from robot_us.protocol.endpoints import PORT_SPAN, Endpoints
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

STUB_LIMITS = m.Limits(
    force_min=1.0,
    force_max=15.0,
    speed_min=0.001,
    speed_max=0.05,
    teleop_linear_max=0.02,
    teleop_angular_max=0.3,
    twist_hold_max=0.1,
    ttl_max=5.0,
    deadman=0.1,
    deadman_action="hold",
)
SNAPSHOT_SIZE = (48, 64)  # height, width
BASE_PORT_RANGE = (21000, 60000)


def bind_block(bind: Callable[[int], None], start: int) -> int:
    """Call ``bind(base)`` for bases from ``start`` until one succeeds; returns it."""
    base = start
    for _ in range(200):
        try:
            bind(base)
            return base
        except zmq.ZMQError:
            base += PORT_SPAN + 1
    raise RuntimeError("no free block of ports")


def bind_exactly(bind: Callable[[int], None], base: int, timeout: float = 5.0) -> int:
    """Call ``bind(base)`` until it succeeds (a closed server's sockets may take a moment
    to release their ports); raises after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            bind(base)
            return base
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


#: stubs whose serving thread did not stop: kept alive so no collector closes their sockets
_NEVER_COLLECTED: list = []


class StubServer:
    """Answers commands and publishes state (``state_rate_hz``), frames (``frame_rate_hz``,
    ``frame_size`` pixels) and events on 127.0.0.1 (or ``host``) from a thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        keys: ServerKeys | None = None,
        limits: m.Limits = STUB_LIMITS,
        state_rate_hz: float = 100.0,
        frame_rate_hz: float = 0.0,
        frame_size: tuple[int, int] = (256, 256),
        context: zmq.Context | None = None,
    ) -> None:
        self._owns_ctx = context is None
        self.ctx = context or zmq.Context()
        self.keys = keys
        self.limits = limits
        self.state_rate_hz = state_rate_hz
        self.frame_rate_hz = frame_rate_hz
        self.frame_size = frame_size
        self.sessions = SessionTable(deadman=limits.deadman, ttl_max=limits.ttl_max)
        self.auth = keys.start_authenticator(self.ctx) if keys is not None else None
        if port is None:
            self.port = bind_block(lambda base: self._bind(host, base), _random_base())
        else:  # a restart on the same ports: wait for the previous server's to be free
            self.port = bind_exactly(lambda base: self._bind(host, base), port)
        self.endpoints = Endpoints.at(host, self.port)
        self.url = self.endpoints.commands
        # the toy robot
        self.force_setpoint = 5.0
        self.override = 1.0
        self.scan_state = "idle"
        self.teleop = False
        self.twist = m.TeleopTwist()
        self.twist_until = 0.0
        self.twists_executed = 0
        self.estop = False
        self.faults: list[m.Fault] = []
        self.previews: dict[int, m.PathPreview] = {}
        self.plans: dict[int, m.PlanResult] = {}
        self.executed: list[str] = []  # command types executed, in order
        self.handled = 0
        self._ids = iter(range(1, 2**31))
        self._handlers: dict[str, Callable[[Inbound, float], msgspec.Struct]] = {
            spec.type: getattr(self, f"_on_{spec.type}")
            for spec in CATALOGUE.values()
            if spec.kind == "command"
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blank = b""

    def _bind(self, host: str, base: int) -> None:
        ep = Endpoints.at(host, base)
        made = []
        try:
            made.append(CommandSocket(self.ctx, ep.commands, self.keys))
            made.append(StreamPublisher(self.ctx, ep.state, STATE_HWM, self.keys))
            made.append(StreamPublisher(self.ctx, ep.frames, FRAME_HWM, self.keys))
            made.append(StreamPublisher(self.ctx, ep.events, EVENT_HWM, self.keys))
        except zmq.ZMQError:
            for sock in made:
                sock.close()
            raise
        self.commands, self.state_pub, self.frame_pub, self.event_pub = made

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> StubServer:
        """Serve from a daemon thread (once: two threads on the same sockets abort libzmq)."""
        if self._thread is not None:
            raise RuntimeError("the stub server is already serving (start() or `with`, not both)")
        self._thread = threading.Thread(target=self.run, name="stub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close everything."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                # closing sockets a live thread polls aborts libzmq; so does the garbage
                # collector destroying the context later from whichever thread it runs in
                _NEVER_COLLECTED.append(self)
                return
        for sock in (self.commands, self.state_pub, self.frame_pub, self.event_pub):
            sock.close()
        if self.auth is not None:
            self.auth.stop()
        if self._owns_ctx:
            # closed here, in the stopping thread, never by the garbage collector (which
            # destroys an open context from whatever thread it happens to run in)
            self.ctx.destroy(linger=0)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        """The serving thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The serving loop: commands as they come, streams at their rates, the deadman."""
        state_period = 1.0 / self.state_rate_hz if self.state_rate_hz > 0 else math.inf
        frame_period = 1.0 / self.frame_rate_hz if self.frame_rate_hz > 0 else math.inf
        next_state = next_frame = time.monotonic()
        while not self._stop.is_set():
            due = min(next_state, next_frame, time.monotonic() + 0.01)
            timeout_ms = max(0, int((due - time.monotonic()) * 1e3))
            inbound = self.commands.receive(timeout_ms)
            now = time.time()
            if inbound is not None:
                self._handle(inbound, now)
            lost = self.sessions.expire(now)
            if lost is not None:
                self._stop_motion()
                self.event("deadman", f"no heartbeat from {lost} for {self.limits.deadman} s")
            self.step(now)
            mono = time.monotonic()
            if mono >= next_state:
                next_state = max(next_state + state_period, mono)
                self.state_pub.publish(self.state(now))
            if mono >= next_frame:
                next_frame = max(next_frame + frame_period, mono)
                message = self.frame_message(now)
                if message is not None:
                    self.frame_pub.publish(message[0], parts=message[1])

    def _handle(self, inbound: Inbound, now: float) -> None:
        self.handled += 1
        try:
            self.sessions.admit(inbound.identity, inbound.key_name, inbound.msg, now)
            body = self._handlers[inbound.msg.type](inbound, now)
        except ProtocolError as err:
            if err.code is ErrorCode.STALE:
                self.event("stale", err.message)
            self.sessions.count_error(inbound.identity, err.code)
            self.commands.refuse(inbound, err)
            return
        self.executed.append(inbound.msg.type)
        parts: list[bytes] = []
        if isinstance(body, _WithParts):
            body, parts = body.body, body.parts
        self.commands.reply(inbound, body, parts)

    # --- streams -----------------------------------------------------------------------

    def event(self, kind: str, cause: str, client: str | None = None) -> None:
        """Publish an event."""
        self.event_pub.publish(m.Event(t=time.time(), kind=kind, cause=cause, client=client))

    def moving(self, now: float) -> bool:
        """The toy probe moves: teleoperating with an unexpired twist and a controller."""
        return self.teleop and now < self.twist_until and self.sessions.controller is not None

    def state(self, now: float) -> m.State:
        """The toy robot's state."""
        v = self.twist if self.moving(now) else m.TeleopTwist()
        return m.State(
            t=now,
            cycle=self.state_pub.seq,
            q=[0.0] * 7,
            qd=[v.vx, v.vy, 0.0, v.wx, v.wy, v.wz, 0.0],
            T_base_probe=[1.0, 0, 0, 0.5, 0, 1.0, 0, 0.0, 0, 0, 1.0, 0.1, 0, 0, 0, 1.0],
            wrench=[0.0, 0.0, -self.force_setpoint, 0.0, 0.0, 0.0],
            force=self.force_setpoint,
            force_setpoint=self.force_setpoint,
            mode="teleop" if self.teleop else "hold",
            scan=m.ScanStatus(state=self.scan_state, override=self.override),
            faults=list(self.faults),
            estop=self.estop,
            teleop=self.teleop,
            controller=self.sessions.controller_name,
            loop=m.LoopTiming(
                rate_hz=1000.0, compute_us_p99=0.0, late_us_p99=0.0, overruns=0, skipped=0
            ),
            links=self.sessions.links(now),
            errors=dict(self.commands.errors),
            stale_commands=self.sessions.stale_total,
        )

    def step(self, now: float) -> None:
        """Advance the toy robot (called every loop turn; nothing moves here)."""

    def frame_message(self, now: float) -> tuple[m.Frame, list[bytes]] | None:
        """The frame to publish now and its extra parts (a blank image); None: none."""
        if len(self._blank) != self.frame_size[0] * self.frame_size[1]:
            self._blank = bytes(self.frame_size[0] * self.frame_size[1])
        return self.frame(now), [self._blank]

    def frame(self, now: float) -> m.Frame:
        """A blank ultrasound frame's body."""
        h, w = self.frame_size
        return m.Frame(
            frame_seq=self.frame_pub.seq + 1,
            t=now,
            width=w,
            height=h,
            spacing=(2e-4, 2e-4),
            T_base_probe=[1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0],
            force=self.force_setpoint,
            quality=m.Quality(frame_seq=self.frame_pub.seq, label="good", score=0.9),
        )

    def _stop_motion(self) -> None:
        self.teleop = False
        self.twist_until = 0.0

    # --- command handlers (``admit`` already ran) ----------------------------------------

    def _on_hello(self, inbound: Inbound, now: float) -> m.Welcome:
        body: m.Hello = inbound.msg.body
        name = self.sessions.hello(inbound.identity, body.client_name, inbound.key_name, now)
        e = self.endpoints
        return m.Welcome(
            server_name="stub",
            server_version=__version__,
            protocol_version=PROTOCOL_VERSION,
            client_id=name,
            limits=self.limits,
            ports=m.Ports(
                commands=_port(e.commands),
                state=_port(e.state),
                frames=_port(e.frames),
                events=_port(e.events),
            ),
            state_rate_hz=self.state_rate_hz,
            frame_rate_hz=self.frame_rate_hz,
            controller=self.sessions.controller_name,
            curve=self.keys is not None,
        )

    def _on_map_stroke(self, inbound: Inbound, now: float) -> m.PathPreview:
        body: m.MapStroke = inbound.msg.body
        if len(body.stroke_px) > self.limits.max_stroke_points:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, "too many points", field="stroke_px")
        points = [(u * 1e-3, v * 1e-3, 0.1) for u, v in body.stroke_px]
        s = [0.0]
        for a, b in itertools.pairwise(points):
            s.append(s[-1] + math.dist(a, b))
        reach = all(u < 1000 for u, _ in body.stroke_px)
        preview = m.PathPreview(
            preview_id=next(self._ids),
            snapshot_id=body.snapshot_id,
            points=points,
            normals=[(0.0, 0.0, 1.0)] * len(points),
            s=s,
            spans=[m.Span(s0=0.0, s1=s[-1], status="ok" if reach else "out_of_reach")],
            length=s[-1],
            duration=s[-1] / 0.01,
            feasible=reach,
            reason="" if reach else "out_of_reach",
        )
        self.previews[preview.preview_id] = preview
        return preview

    def _on_plan(self, inbound: Inbound, now: float) -> m.PlanResult:
        body: m.Plan = inbound.msg.body
        preview = self.previews.get(body.preview_id)
        if preview is None:
            raise ProtocolError(
                ErrorCode.REFUSED, f"no preview {body.preview_id}", reason="unknown_preview"
            )
        speed = 0.01 if body.speed is None else body.speed
        if not self.limits.speed_min <= speed <= self.limits.speed_max:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, f"speed {speed}", field="speed")
        plan = m.PlanResult(
            plan_id=next(self._ids),
            preview_id=preview.preview_id,
            feasible=preview.feasible,
            reason=preview.reason,
            spans=preview.spans,
            length=preview.length,
            duration=preview.length / speed,
            speed=speed,
        )
        self.plans[plan.plan_id] = plan
        return plan

    def _on_start_scan(self, inbound: Inbound, now: float) -> m.Ack:
        plan = self.plans.get(inbound.msg.body.plan_id)
        if plan is None or not plan.feasible:
            raise ProtocolError(ErrorCode.REFUSED, "no feasible plan", reason="unknown_plan")
        self._refuse_unless(self.scan_state in ("idle", "done", "aborted"), "scan_running")
        self._refuse_unless(not self.teleop, "teleoperating")
        self.scan_state = "sweep"
        return m.Ack()

    def _on_pause_scan(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.scan_state == "sweep", "not_sweeping")
        self.scan_state = "paused"
        return m.Ack()

    def _on_resume_scan(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.scan_state == "paused", "not_paused")
        self.scan_state = "sweep"
        return m.Ack()

    def _on_abort_scan(self, inbound: Inbound, now: float) -> m.Ack:
        if self.scan_state in ("sweep", "paused"):
            self.scan_state = "aborted"
        return m.Ack()

    def _on_set_force(self, inbound: Inbound, now: float) -> m.Ack:
        force = inbound.msg.body.force
        lim = self.limits
        if not lim.force_min <= force <= lim.force_max:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"force {force:g} N outside {lim.force_min:g}..{lim.force_max:g} N",
                field="force",
            )
        self.force_setpoint = force
        return m.Ack()

    def _on_set_speed(self, inbound: Inbound, now: float) -> m.Ack:
        override = inbound.msg.body.override
        if override > self.limits.speed_override_max:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, f"override {override}", field="override")
        self.override = override
        return m.Ack()

    def _on_teleop_start(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.scan_state not in ("sweep", "paused"), "scan_running")
        self._refuse_unless(not self.estop and not self.faults, "fault_latched")
        self.teleop = True
        return m.Ack()

    def _on_teleop_stop(self, inbound: Inbound, now: float) -> m.Ack:
        self._stop_motion()
        return m.Ack()

    def _on_teleop_twist(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.teleop, "not_teleoperating")
        t: m.TeleopTwist = inbound.msg.body
        lin, ang = self.limits.teleop_linear_max, self.limits.teleop_angular_max
        hold = min(t.hold or self.limits.twist_hold_max, self.limits.twist_hold_max)
        self.twist = m.TeleopTwist(
            vx=_clamp(t.vx, lin),
            vy=_clamp(t.vy, lin),
            wx=_clamp(t.wx, ang),
            wy=_clamp(t.wy, ang),
            wz=_clamp(t.wz, ang),
            hold=hold,
        )
        self.twist_until = now + hold
        self.twists_executed += 1
        return m.Ack()

    def _on_heartbeat(self, inbound: Inbound, now: float) -> m.Ack:
        self.sessions.heartbeat(inbound.identity, inbound.msg.body, now)
        return m.Ack()

    def _on_estop(self, inbound: Inbound, now: float) -> m.Ack:
        self.estop = True
        self._stop_motion()
        if self.scan_state in ("sweep", "paused"):
            self.scan_state = "faulted"
        self.faults = [m.Fault(code=1, name="estop", cause=inbound.msg.body.reason, t=now)]
        self.event("estop", inbound.msg.body.reason)
        return m.Ack()

    def _on_reset_faults(self, inbound: Inbound, now: float) -> m.Ack:
        self.estop = False
        self.faults = []
        return m.Ack()

    def _on_take_control(self, inbound: Inbound, now: float) -> m.Control:
        self.sessions.take(inbound.identity, now)
        self.event("control", "taken", self.sessions.controller_name)
        return m.Control(controller=self.sessions.controller_name, you=True)

    def _on_release_control(self, inbound: Inbound, now: float) -> m.Control:
        self._stop_motion()
        self.sessions.release(inbound.identity)
        return m.Control(controller=self.sessions.controller_name, you=False)

    def _on_snapshot(self, inbound: Inbound, now: float) -> _WithParts:
        h, w = SNAPSHOT_SIZE
        rgb = bytes(range(256)) * (h * w * 3 // 256)
        depth = (b"\x00\x00\x00\x3f") * (h * w)  # 0.5 m everywhere
        body = m.SnapshotReply(
            snapshot_id=next(self._ids),
            t=now,
            width=w,
            height=h,
            K=[500.0, 0.0, w / 2, 0.0, 500.0, h / 2, 0.0, 0.0, 1.0],
            dist=[0.0] * 5,
            T_base_camera=[1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0.8, 0, 0, 0, 1.0],
        )
        return _WithParts(body, [rgb, depth])

    @staticmethod
    def _refuse_unless(ok: bool, reason: str) -> None:
        if not ok:
            raise ProtocolError(ErrorCode.REFUSED, reason.replace("_", " "), reason=reason)


class _WithParts:
    """A reply body with extra parts."""

    def __init__(self, body: msgspec.Struct, parts: list[bytes]) -> None:
        self.body = body
        self.parts = parts


def _clamp(x: float, limit: float) -> float:
    return max(-limit, min(limit, x))


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _random_base() -> int:
    lo, hi = BASE_PORT_RANGE
    return random.randrange(lo, hi)
