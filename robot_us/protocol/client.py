"""The Python client of the robot-side server (the console, ``robot-us teleop``, the tests
and the benchmarks use it; docs/protocol.md is the contract it implements).

Sockets: a DEALER for commands (request/reply matched by ``seq``), SUBs for the state
stream (CONFLATE: only the newest state is kept), the frames (a small high-water mark, the
newest frame wins) and the events (queued, bounded). All sockets live on one I/O thread;
calls from any thread hand their message to it through an inproc PUSH/PULL pair (ZeroMQ
sockets are not thread safe) and wait for the reply on an event.

The I/O thread also sends the heartbeats: ``heartbeat_hz`` (>= 20 Hz) while this client
holds control, ``idle_heartbeat_hz`` otherwise (they keep the round trip and the clock
offset estimate fresh). Callbacks (``on_state``, ``on_frame``, ``on_event``, ``on_error``)
run on the I/O thread: keep them short, a blocked callback stops the heartbeat and the
server's deadman stops the probe.

Times: every message this client sends is stamped ``t_sent`` = local Unix time + the
clock offset estimate (the server's clock, as well as it is known; see link_stats.py), so
the server can tell its age directly.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from robot_us import __version__
from robot_us.protocol import messages as m
from robot_us.protocol.catalogue import CATALOGUE, TYPE_OF
from robot_us.protocol.codec import (
    Message,
    decode_command,
    decode_server_message,
    encode,
)
from robot_us.protocol.endpoints import Endpoints
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.link_stats import LinkMonitor, finite_or_none
from robot_us.protocol.security import ClientKeys

#: Default reply timeout (s).
DEFAULT_TIMEOUT = 1.0
#: Heartbeat rates (Hz): while in control (the server's deadman needs >= 20 Hz) and idle.
HEARTBEAT_HZ = 50.0
IDLE_HEARTBEAT_HZ = 2.0
#: Requests awaiting a reply at most; the oldest beyond it counts as lost.
MAX_PENDING = 4096
#: Events and asynchronous errors kept for polling.
MAX_EVENTS = 1000
MAX_ASYNC_ERRORS = 100
#: Reconnect back-off of the sockets (ms).
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 2000
#: ZMTP heartbeats: a link that answers nothing for this long is closed and reconnected.
ZMTP_HEARTBEAT_IVL_MS = 500
ZMTP_HEARTBEAT_TIMEOUT_MS = 2000
#: Receive high-water marks of the subscriptions.
FRAME_RCVHWM = 2
EVENT_RCVHWM = 1000

T = TypeVar("T")


class RequestTimeoutError(TimeoutError):
    """No reply within the timeout."""


class NotConnectedError(ConnectionError):
    """The command socket has no connection to the server (nothing was sent)."""


class AuthenticationRefusedError(ConnectionError):
    """The server refused this client's CurveZMQ key (not on its allowlist)."""


class RemoteError(ProtocolError):
    """The server answered with an ``error`` reply."""


@dataclass(frozen=True)
class Reply:
    """A reply: the decoded message, its round trip (s) and receive time (local clock)."""

    msg: Message
    rtt: float
    t_local: float

    @property
    def body(self) -> Any:
        """The typed reply body."""
        return self.msg.body


@dataclass(frozen=True)
class StateSample:
    """The newest state, when it arrived (local clock) and its one-way latency (s)."""

    state: m.State
    seq: int
    t_local: float
    latency: float


@dataclass(frozen=True)
class FrameSample:
    """An ultrasound frame: its body, the pixels (uint8, height x width), arrival time and,
    when the server sends one, the confidence map (uint8, 0..255 = 0..1)."""

    frame: m.Frame
    image: np.ndarray
    seq: int
    t_local: float
    confidence: np.ndarray | None = None


@dataclass(frozen=True)
class SnapshotData:
    """A camera snapshot: calibration and pose (``body``), RGB (uint8 H x W x 3) and depth
    (float32 H x W, m)."""

    body: m.SnapshotReply
    rgb: np.ndarray
    depth: np.ndarray


class _Pending:
    """A request awaiting its reply."""

    __slots__ = ("error", "event", "reply", "seq", "t1", "t_submit", "type")

    def __init__(self, seq: int, kind: str, wait: bool) -> None:
        self.seq = seq
        self.type = kind
        self.t1: float | None = None
        self.t_submit = time.monotonic()
        self.event = threading.Event() if wait else None
        self.reply: Reply | None = None
        self.error: Exception | None = None


def remote_error(msg: Message) -> RemoteError:
    """The exception of an ``error`` reply."""
    body: m.Error = msg.body
    try:
        code = ErrorCode(body.code)
    except ValueError:
        code = ErrorCode.INTERNAL
    return RemoteError(
        code,
        body.message,
        field=body.field,
        reason=body.reason,
        seq=msg.seq,
        versions=tuple(body.versions),
    )


class Client:
    """A connection to one robot-side server (see the module docstring). ``connect()``
    says hello; the typed methods send one command each and return its reply body or raise
    ``RemoteError`` / ``RequestTimeoutError`` / ``NotConnectedError``."""

    def __init__(
        self,
        url: str = "tcp://127.0.0.1:5560",
        *,
        name: str = "robot-us client",
        keys: ClientKeys | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        heartbeat_hz: float = HEARTBEAT_HZ,
        idle_heartbeat_hz: float = IDLE_HEARTBEAT_HZ,
        streams: Sequence[str] = ("state", "frames", "events"),
        ttl: dict[str, float] | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        if heartbeat_hz < 20.0:
            raise ValueError(f"heartbeat_hz {heartbeat_hz} < 20: the deadman would trip")
        unknown = set(streams) - {"state", "frames", "events"}
        if unknown:
            raise ValueError(f"unknown streams {sorted(unknown)}; use state, frames, events")
        self.endpoints = Endpoints.parse(url)
        self.name = name
        self.keys = keys
        self.timeout = timeout
        self.heartbeat_hz = heartbeat_hz
        self.idle_heartbeat_hz = idle_heartbeat_hz
        self.streams = tuple(streams)
        self.ttl = dict(ttl or {})
        self._ctx = context or zmq.Context.instance()
        self._inproc = f"inproc://robot-us-client-{uuid.uuid4().hex}"
        self.link = LinkMonitor()
        self.welcome: m.Welcome | None = None
        self.in_control = False
        self.auth_refused = False
        self.connected = threading.Event()  # the command connection is up (handshake done)
        self.unsent = 0
        self.bad_messages = 0
        self.heartbeats_sent = 0
        self.on_state: Callable[[StateSample], None] | None = None
        self.on_frame: Callable[[FrameSample], None] | None = None
        self.on_event: Callable[[m.Event], None] | None = None
        self.on_error: Callable[[RemoteError], None] | None = None
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # pending requests
        self._push_lock = threading.Lock()  # the PUSH socket into the I/O thread
        self._control_t = 0.0  # server time of the last control reply (s)
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._events: deque[m.Event] = deque(maxlen=MAX_EVENTS)
        self.async_errors: deque[RemoteError] = deque(maxlen=MAX_ASYNC_ERRORS)
        self._state: StateSample | None = None
        self._frame: FrameSample | None = None
        self._state_cond = threading.Condition()
        self._stream_seq: dict[str, int] = {}
        self._push: zmq.Socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- life cycle --------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> m.Welcome:
        """Open the sockets, start the I/O thread and say hello; returns the welcome."""
        if self._thread is None:
            pull = self._ctx.socket(zmq.PULL)
            pull.linger = 0
            pull.bind(self._inproc)
            self._push = self._ctx.socket(zmq.PUSH)
            self._push.linger = 0
            self._push.connect(self._inproc)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, args=(pull,), name="robot-us-client", daemon=True
            )
            self._thread.start()
        wait = self.timeout if timeout is None else timeout
        try:
            if not self.connected.wait(wait):
                raise NotConnectedError(
                    f"no connection to {self.endpoints.commands} within {wait * 1e3:.0f} ms"
                )
            return self.hello(timeout=timeout)
        except (RequestTimeoutError, NotConnectedError) as exc:
            if self.auth_refused:
                raise AuthenticationRefusedError(
                    f"{self.endpoints.commands} refused this client's key (not on the "
                    "server's allowlist: copy NAME.key into its keys/clients/)"
                ) from exc
            raise

    def reconnect(self, timeout: float | None = None) -> m.Welcome:
        """New sockets (a new identity: the server sees a new client), then hello. Requests
        awaiting a reply fail with ``NotConnectedError``; control must be taken again."""
        self.connected.clear()
        self._to_io([b"r"])
        wait = self.timeout if timeout is None else timeout
        if not self.connected.wait(wait):
            raise NotConnectedError(f"no connection to {self.endpoints.commands}")
        return self.hello(timeout=timeout)

    def close(self) -> None:
        """Stop the I/O thread and close the sockets (does not release control: the
        server's deadman does, or call ``release_control`` first)."""
        if self._thread is not None:
            self._to_io([b"q"])
            self._thread.join(timeout=2.0)
            self._thread = None
        with self._push_lock:
            if self._push is not None:
                self._push.close(linger=0)
                self._push = None

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------

    def request(
        self,
        body: msgspec.Struct,
        *,
        timeout: float | None = None,
        ttl: float | None = None,
    ) -> Reply:
        """Send one command and wait for its reply (``RemoteError`` for an error reply)."""
        pending = self._submit(body, ttl, wait=True)
        wait = self.timeout if timeout is None else timeout
        assert pending.event is not None
        if not pending.event.wait(wait):
            with self._lock:
                if self._pending.pop(pending.seq, None) is not None:
                    self.link.lost += 1
            raise RequestTimeoutError(
                f"{pending.type} (seq {pending.seq}): no reply within {wait * 1e3:.0f} ms"
            )
        if pending.error is not None:
            raise pending.error
        reply = pending.reply
        assert reply is not None
        if reply.msg.type == "error":
            raise remote_error(reply.msg)
        return reply

    def send(self, body: msgspec.Struct, *, ttl: float | None = None) -> int:
        """Send one command without waiting; its reply updates the link statistics, an
        error reply goes to ``async_errors`` and ``on_error``. Returns the seq."""
        return self._submit(body, ttl, wait=False).seq

    def _submit(self, body: msgspec.Struct, ttl: float | None, wait: bool) -> _Pending:
        kind = TYPE_OF[type(body)]
        if CATALOGUE[kind].ttl is not None and ttl is None:
            ttl = self.ttl.get(kind)
        seq = next(self._seq)
        frames = encode(body, seq, t_sent=self.link.server_time(time.time()), ttl=ttl)
        decode_command(frames)  # the server would reject what does not decode: fail here
        pending = _Pending(seq, kind, wait)
        with self._lock:
            self._pending[seq] = pending
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
                self.link.lost += 1
        self._to_io([b"s", seq.to_bytes(8, "little"), *frames])
        return pending

    def _to_io(self, frames: list) -> None:
        with self._push_lock:  # never a send on a socket another thread is closing
            if self._push is None:
                raise NotConnectedError("the client is not connected (call connect())")
            self._push.send_multipart(frames, copy=False)

    def _call(self, body: msgspec.Struct, expect: type[T], **kw: Any) -> T:
        reply = self.request(body, **kw).body
        if not isinstance(reply, expect):
            raise ProtocolError(
                ErrorCode.BAD_BODY,
                f"{TYPE_OF[type(body)]}: expected a {TYPE_OF[expect]} reply, "
                f"got {TYPE_OF[type(reply)]}",
            )
        return reply

    # --- typed commands ----------------------------------------------------------------

    def hello(self, timeout: float | None = None) -> m.Welcome:
        """Introduce this client; returns the server's limits, ports and rules."""
        welcome = self._call(
            m.Hello(client_name=self.name, client_version=__version__),
            m.Welcome,
            timeout=timeout,
        )
        self.welcome = welcome
        return welcome

    def map_stroke(
        self, stroke_px: Sequence[Sequence[float]], snapshot_id: int, plane: str | None = None
    ) -> m.PathPreview:
        """Map a stroke (N x 2 pixels, u column / v row, on snapshot ``snapshot_id``)."""
        points = [(float(u), float(v)) for u, v in stroke_px]
        return self._call(
            m.MapStroke(snapshot_id=snapshot_id, stroke_px=points, plane=plane), m.PathPreview
        )

    def plan(self, preview_id: int, speed: float | None = None) -> m.PlanResult:
        """Plan the scan of a preview at ``speed`` (m/s; None: configured)."""
        return self._call(m.Plan(preview_id=preview_id, speed=speed), m.PlanResult)

    def start_scan(self, plan_id: int) -> None:
        """Start a planned scan."""
        self._call(m.StartScan(plan_id=plan_id), m.Ack)

    def pause_scan(self, reason: str = "operator") -> None:
        """Pause the scan (holds in contact)."""
        self._call(m.PauseScan(reason=reason), m.Ack)

    def resume_scan(self) -> None:
        """Resume a paused scan."""
        self._call(m.ResumeScan(), m.Ack)

    def abort_scan(self, reason: str = "operator") -> None:
        """Abort the scan (retract and stop)."""
        self._call(m.AbortScan(reason=reason), m.Ack)

    def set_force(self, force: float) -> None:
        """Contact force set-point (N) within the server's limits."""
        self._call(m.SetForce(force=float(force)), m.Ack)

    def set_speed(self, override: float) -> None:
        """Sweep speed override (fraction of the planned speed)."""
        self._call(m.SetSpeed(override=float(override)), m.Ack)

    def teleop_start(self) -> None:
        """Enter teleoperation (needs control)."""
        self._call(m.TeleopStart(), m.Ack)

    def teleop_stop(self) -> None:
        """Leave teleoperation."""
        self._call(m.TeleopStop(), m.Ack)

    def teleop_twist(
        self,
        vx: float = 0.0,
        vy: float = 0.0,
        wx: float = 0.0,
        wy: float = 0.0,
        wz: float = 0.0,
        *,
        hold: float | None = None,
        ttl: float | None = None,
        wait: bool = False,
    ) -> int:
        """Send a probe-frame rate command (m/s, rad/s), by default without waiting for the
        reply (errors arrive in ``async_errors``). Returns the seq."""
        body = m.TeleopTwist(
            vx=float(vx), vy=float(vy), wx=float(wx), wy=float(wy), wz=float(wz), hold=hold
        )
        if wait:
            return self.request(body, ttl=ttl).msg.seq
        return self.send(body, ttl=ttl)

    def heartbeat(self) -> Reply:
        """One heartbeat, waiting for its reply (the I/O thread sends them by itself)."""
        return self.request(self._heartbeat_body())

    def estop(self, reason: str = "operator") -> None:
        """Emergency stop (any client may)."""
        self._call(m.EStop(reason=reason), m.Ack)

    def reset_faults(self) -> None:
        """Clear latched faults."""
        self._call(m.ResetFaults(), m.Ack)

    def take_control(self) -> m.Control:
        """Become the controlling client (``RemoteError`` busy if another one is); the
        heartbeat goes to ``heartbeat_hz`` while control lasts."""
        return self._control(m.TakeControl())

    def release_control(self) -> m.Control:
        """Give control back."""
        return self._control(m.ReleaseControl())

    def _control(self, body: msgspec.Struct) -> m.Control:
        reply = self.request(body)
        control = reply.body
        if not isinstance(control, m.Control):
            raise ProtocolError(
                ErrorCode.BAD_BODY, f"expected a control reply, got {reply.msg.type}"
            )
        self._control_t = reply.msg.env.t_sent
        self.in_control = control.you
        return control

    def snapshot(self, timeout: float | None = None) -> SnapshotData:
        """Capture an RGB-D frame with its calibration."""
        reply = self.request(m.Snapshot(), timeout=timeout)
        body = reply.body
        if not isinstance(body, m.SnapshotReply) or len(reply.msg.parts) != 2:
            raise ProtocolError(ErrorCode.BAD_BODY, "snapshot: expected snapshot_data + 2 parts")
        rgb = _image(reply.msg.parts[0], np.uint8, (body.height, body.width, 3), "rgb")
        depth = _image(reply.msg.parts[1], np.dtype("<f4"), (body.height, body.width), "depth")
        return SnapshotData(body, rgb, depth)

    # --- streams -----------------------------------------------------------------------

    def latest_state(self) -> StateSample | None:
        """The newest state received, or None."""
        return self._state

    def wait_state(self, timeout: float = 1.0, newer_than: int = 0) -> StateSample | None:
        """Wait for a state with seq > ``newer_than``; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._state_cond:
            while self._state is None or self._state.seq <= newer_than:
                left = deadline - time.monotonic()
                if left <= 0 or not self._state_cond.wait(left):
                    return None
            return self._state

    def latest_frame(self) -> FrameSample | None:
        """The newest ultrasound frame received, or None."""
        return self._frame

    def events(self) -> list[m.Event]:
        """The events received since the last call (oldest first, at most MAX_EVENTS)."""
        out = []
        while self._events:
            out.append(self._events.popleft())
        return out

    # --- the I/O thread ----------------------------------------------------------------

    def _heartbeat_body(self) -> m.Heartbeat:
        link = self.link
        return m.Heartbeat(
            rtt=finite_or_none(link.rtt_last),
            jitter=finite_or_none(link.jitter),
            offset=link.offset if link.offset_bound is not None else None,
            lost=min(link.lost, 2**53),
        )

    def _open(self) -> tuple[zmq.Socket, zmq.Socket, dict[zmq.Socket, str]]:
        dealer = self._ctx.socket(zmq.DEALER)
        self._common(dealer)
        # a fixed identity per socket: after a TCP reconnect the server knows this client
        dealer.routing_id = b"rus-" + uuid.uuid4().bytes
        dealer.immediate = True  # never queue commands for a connection that is not up
        dealer.sndhwm = 1000
        dealer.rcvhwm = 1000
        monitor = dealer.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
        )
        dealer.connect(self.endpoints.commands)
        subs: dict[zmq.Socket, str] = {}
        for stream in self.streams:
            sub = self._ctx.socket(zmq.SUB)
            self._common(sub)
            if stream == "state":
                sub.conflate = True
            elif stream == "frames":
                sub.rcvhwm = FRAME_RCVHWM
            else:
                sub.rcvhwm = EVENT_RCVHWM
            sub.subscribe(b"")
            sub.connect(getattr(self.endpoints, stream))
            subs[sub] = stream
        return dealer, monitor, subs

    def _common(self, sock: zmq.Socket) -> None:
        sock.linger = 0
        sock.reconnect_ivl = RECONNECT_IVL_MS
        sock.reconnect_ivl_max = RECONNECT_IVL_MAX_MS
        sock.heartbeat_ivl = ZMTP_HEARTBEAT_IVL_MS
        sock.heartbeat_timeout = ZMTP_HEARTBEAT_TIMEOUT_MS
        if self.keys is not None:
            self.keys.secure(sock)

    def _close(self, dealer: zmq.Socket, monitor: zmq.Socket, subs: dict) -> None:
        dealer.disable_monitor()
        monitor.close(linger=0)
        dealer.close(linger=0)
        for sub in subs:
            sub.close(linger=0)

    def _run(self, pull: zmq.Socket) -> None:
        dealer, monitor, subs = self._open()
        poller = _poller(pull, dealer, monitor, *subs)
        next_beat = time.monotonic()
        last_rate = 0.0
        try:
            while True:
                rate = self.heartbeat_hz if self.in_control else self.idle_heartbeat_hz
                now = time.monotonic()
                if rate != last_rate:  # control taken or lost: the new rate starts now
                    next_beat, last_rate = now, rate
                wait_ms = max(0, int((next_beat - now) * 1e3) + 1) if rate > 0 else 100
                ready = dict(poller.poll(wait_ms))
                if pull in ready:
                    op = self._drain_outbound(pull, dealer)
                    if op == b"q":
                        return
                    if op == b"r":
                        self._close(dealer, monitor, subs)
                        self.connected.clear()
                        self._fail_pending(NotConnectedError("reconnecting: new sockets"))
                        self.in_control = False
                        dealer, monitor, subs = self._open()
                        poller = _poller(pull, dealer, monitor, *subs)
                        continue
                if dealer in ready:
                    self._drain_replies(dealer)
                if monitor in ready:
                    self._drain_monitor(monitor)
                for sub, stream in subs.items():
                    if sub in ready:
                        self._drain_stream(sub, stream)
                now = time.monotonic()
                if rate > 0 and now >= next_beat and self.welcome is not None:
                    next_beat = max(next_beat + 1.0 / rate, now)
                    self._send_heartbeat(dealer)
                self._expire(now)
        finally:
            self._close(dealer, monitor, subs)
            pull.close(linger=0)

    def _drain_outbound(self, pull: zmq.Socket, dealer: zmq.Socket) -> bytes | None:
        while True:
            try:
                frames = pull.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            if frames[0] != b"s":
                return frames[0]
            self._send_request(dealer, int.from_bytes(frames[1], "little"), frames[2:])

    def _send_request(self, dealer: zmq.Socket, seq: int, frames: list) -> None:
        with self._lock:
            pending = self._pending.get(seq)
        t1 = time.time()
        try:
            dealer.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            self.unsent += 1
            with self._lock:
                self._pending.pop(seq, None)
            if pending is not None and pending.event is not None:
                pending.error = NotConnectedError(
                    "no connection to the server"
                    + (" (it refused this client's key)" if self.auth_refused else "")
                )
                pending.event.set()
            return
        if pending is not None:
            pending.t1 = t1

    def _send_heartbeat(self, dealer: zmq.Socket) -> None:
        seq = next(self._seq)
        t_local = time.time()
        frames = encode(
            self._heartbeat_body(),
            seq,
            t_sent=self.link.server_time(t_local),
            ttl=self.ttl.get("heartbeat"),
        )
        pending = _Pending(seq, "heartbeat", wait=False)
        with self._lock:
            self._pending[seq] = pending
        self.heartbeats_sent += 1
        self._send_request(dealer, seq, frames)

    def _drain_replies(self, dealer: zmq.Socket) -> None:
        while True:
            try:
                frames = dealer.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            t4 = time.time()
            try:
                msg = decode_server_message([f.buffer for f in frames])
            except ProtocolError:
                self.bad_messages += 1
                continue
            with self._lock:
                pending = self._pending.pop(msg.seq, None)
            if pending is None or pending.t1 is None:
                self.link.unmatched += 1
                if msg.type == "error":
                    self._async_error(remote_error(msg))
                continue
            self.link.on_reply(pending.t1, msg.env.t_recv, msg.env.t_sent, t4)
            reply = Reply(msg, t4 - pending.t1, t4)
            if msg.type == "welcome":
                self.welcome = msg.body
            elif msg.type == "error":
                err = remote_error(msg)
                if err.code is ErrorCode.NOT_IN_CONTROL:
                    self.in_control = False
                elif err.reason == "hello_required" and pending.type != "hello":
                    self._rehello(dealer)  # the server restarted or forgot this client
                if pending.event is None:
                    self._async_error(err)
            if pending.event is not None:
                pending.reply = reply
                pending.event.set()

    def _rehello(self, dealer: zmq.Socket) -> None:
        seq = next(self._seq)
        body = m.Hello(client_name=self.name, client_version=__version__)
        frames = encode(body, seq, t_sent=self.link.server_time(time.time()))
        with self._lock:
            self._pending[seq] = _Pending(seq, "hello", wait=False)
        self.in_control = False
        self._send_request(dealer, seq, frames)

    def _async_error(self, err: RemoteError) -> None:
        self.async_errors.append(err)
        if self.on_error is not None:
            self.on_error(err)

    def _drain_monitor(self, monitor: zmq.Socket) -> None:
        while True:
            try:
                event = recv_monitor_message(monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.auth_refused = True
            elif event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.auth_refused = False
                self.connected.set()
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                self.connected.clear()

    def _drain_stream(self, sub: zmq.Socket, stream: str) -> None:
        newest = None
        while True:  # keep the newest state/frame; every event
            try:
                frames = sub.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            if stream == "events":
                self._on_message(stream, frames, time.time())
            else:
                newest = frames
        if newest is not None:
            self._on_message(stream, newest, time.time())

    def _on_message(self, stream: str, frames: list, t_local: float) -> None:
        try:
            msg = decode_server_message([f.buffer for f in frames])
        except ProtocolError:
            self.bad_messages += 1
            return
        last = self._stream_seq.get(stream)
        if stream == "events" and last is not None and msg.seq > last + 1:
            self.link.gaps += msg.seq - last - 1
        self._stream_seq[stream] = msg.seq
        self.link.on_stream(msg.env.t_sent, t_local)
        if msg.type == "state":
            sample = StateSample(
                msg.body, msg.seq, t_local, self.link.server_time(t_local) - msg.env.t_sent
            )
            if self.in_control and self.welcome is not None and msg.env.t_sent > self._control_t:
                # control lost on the server's side (deadman, taken over)
                self.in_control = msg.body.controller == self.welcome.client_id
            with self._state_cond:
                self._state = sample
                self._state_cond.notify_all()
            if self.on_state is not None:
                self.on_state(sample)
        elif msg.type == "frame":
            body: m.Frame = msg.body
            confidence = None
            try:
                image = _image(msg.parts[0], np.uint8, (body.height, body.width), "frame")
                if body.confidence_width > 0 and body.confidence_height > 0:
                    shape = (body.confidence_height, body.confidence_width)
                    confidence = _image(msg.parts[1], np.uint8, shape, "confidence")
            except (ProtocolError, IndexError):
                self.bad_messages += 1
                return
            self._frame = FrameSample(body, image, msg.seq, t_local, confidence)
            if self.on_frame is not None:
                self.on_frame(self._frame)
        elif msg.type == "event":
            self._events.append(msg.body)
            if self.on_event is not None:
                self.on_event(msg.body)

    def _expire(self, now: float) -> None:
        """Requests older than the timeout without a reply count as lost."""
        horizon = now - max(self.timeout, 0.05)
        with self._lock:
            expired = []
            for seq, pending in self._pending.items():  # oldest first
                if pending.t_submit > horizon:
                    break
                if pending.event is None:  # a waiter removes its own entry
                    expired.append(seq)
            for seq in expired:
                del self._pending[seq]
            self.link.lost += len(expired)

    def _fail_pending(self, err: Exception) -> None:
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for p in pending:
            if p.event is not None:
                p.error = err
                p.event.set()


def _poller(*socks: zmq.Socket) -> zmq.Poller:
    poller = zmq.Poller()
    for sock in socks:
        poller.register(sock, zmq.POLLIN)
    return poller


def _image(part: Any, dtype: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """An image from an extra part, checked against the shape the body announces."""
    dt = np.dtype(dtype)
    expected = int(np.prod(shape)) * dt.itemsize
    size = memoryview(part).nbytes
    if size != expected:
        raise ProtocolError(
            ErrorCode.BAD_BODY, f"{what} part has {size} bytes, {shape} {dt} needs {expected}"
        )
    return np.frombuffer(part, dtype=dt).reshape(shape)
