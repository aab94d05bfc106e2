"""The server's rules about clients, independent of what the commands do: who said hello,
who holds control, the deadman, the validity horizon and the per-client link statistics.
Pure bookkeeping (no sockets, no clock of its own: every call gets ``now``, server Unix
seconds), so the rules are tested without a network and the server applies them to every
command before its handler runs.

Rules (docs/protocol.md "Control"):
- a client says ``hello`` before anything else (``estop`` is accepted from anyone);
- one client holds control at a time; ``take_control`` while another holds it is ``busy``;
  commands marked ``needs_control`` from anyone else are ``not_in_control``;
- the controller's heartbeats must arrive every ``deadman`` seconds; past that it loses
  control (``expire`` reports it once, the server stops the probe);
- a command older than its validity horizon (or with a ``ttl`` above ``ttl_max``) is
  never executed; stale ones are counted per client.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from robot_us.protocol import messages as m
from robot_us.protocol.codec import Message, stale_error
from robot_us.protocol.errors import ErrorCode, ProtocolError

#: Most clients tracked at once; a session silent this long (s) is forgotten.
MAX_SESSIONS = 64
SESSION_IDLE_TIMEOUT = 30.0
#: Commands accepted from a client that has not said hello.
WITHOUT_HELLO = frozenset({"hello", "estop"})


@dataclass
class Session:
    """One client: its name, when it was last heard of and its heartbeat, the link figures
    it reports, and the stale commands and error replies counted against it."""

    name: str
    key_name: str | None
    last_seen: float
    last_heartbeat: float | None = None
    rtt: float | None = None
    jitter: float | None = None
    offset: float | None = None
    lost: int = 0
    stale: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class SessionTable:
    """Clients by ROUTER identity, the controller and the deadman (module docstring)."""

    def __init__(self, deadman: float, ttl_max: float) -> None:
        self.deadman = deadman
        self.ttl_max = ttl_max
        self.sessions: dict[bytes, Session] = {}
        self.controller: bytes | None = None
        self.stale_total = 0
        self.deadman_trips = 0

    @property
    def controller_name(self) -> str | None:
        """The controlling client's name, or None."""
        s = self.sessions.get(self.controller) if self.controller is not None else None
        return s.name if s is not None else None

    def hello(self, identity: bytes, client_name: str, key_name: str | None, now: float) -> str:
        """Register (or refresh) a client; returns the name the server calls it: its key
        name (CURVE) or its own name, with a short suffix of its identity to tell apart
        two clients of the same name."""
        session = self.sessions.get(identity)
        if session is not None and session.key_name != key_name:
            # a new key on a known identity starts a new session, without the old control
            if self.controller == identity:
                self.controller = None
            session = None
        if session is None:
            self._forget_idle(now)
            if len(self.sessions) >= MAX_SESSIONS:
                raise ProtocolError(
                    ErrorCode.BUSY, f"{MAX_SESSIONS} clients connected", reason="too_many_clients"
                )
            base = key_name or client_name or "client"
            session = Session(f"{base}#{identity.hex()[-6:]}", key_name, now)
            self.sessions[identity] = session
        session.last_seen = now
        return session.name

    def admit(self, identity: bytes, key_name: str | None, msg: Message, now: float) -> None:
        """Raise the ``ProtocolError`` that keeps ``msg`` from executing (hello first, ttl
        above the limit, stale, not in control); refresh the sender's session otherwise.
        ``key_name`` is the sender's CurveZMQ key name: a session belongs to one key."""
        session = self.sessions.get(identity)
        if session is not None and session.key_name != key_name:
            session = None  # another key reusing a known identity is a stranger
        if session is None and msg.type not in WITHOUT_HELLO:
            raise ProtocolError(
                ErrorCode.REFUSED, "say hello first", reason="hello_required", seq=msg.seq
            )
        if session is not None:
            session.last_seen = now
        if msg.env.ttl is not None and msg.env.ttl > self.ttl_max:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"ttl {msg.env.ttl:g} s above the server's limit {self.ttl_max:g} s",
                field="ttl",
                seq=msg.seq,
            )
        stale = stale_error(msg, now)
        if stale is not None:
            self.stale_total += 1
            if session is not None:
                session.stale += 1
            raise stale
        if msg.spec.needs_control and identity != self.controller:
            holder = self.controller_name
            raise ProtocolError(
                ErrorCode.NOT_IN_CONTROL,
                f"{msg.type} needs control; "
                + (f"{holder} holds it" if holder else "nobody holds it (take_control)"),
                seq=msg.seq,
            )

    def count_error(self, identity: bytes, code: ErrorCode) -> None:
        """Count an error reply sent to ``identity``."""
        session = self.sessions.get(identity)
        if session is not None:
            session.errors[code.value] += 1

    def heartbeat(self, identity: bytes, body: m.Heartbeat, now: float) -> None:
        """A (fresh) heartbeat: refreshes the deadman and the reported link figures."""
        session = self.sessions.get(identity)
        if session is None:
            return
        session.last_heartbeat = now
        session.rtt, session.jitter, session.offset = body.rtt, body.jitter, body.offset
        session.lost = body.lost

    def take(self, identity: bytes, now: float) -> None:
        """Give control to ``identity`` (``busy`` if someone else holds it)."""
        if self.controller is not None and self.controller != identity:
            raise ProtocolError(
                ErrorCode.BUSY, f"{self.controller_name} holds control", reason="controlled"
            )
        self.controller = identity
        self.sessions[identity].last_heartbeat = now  # the deadman starts now

    def release(self, identity: bytes) -> None:
        """``identity`` gives control back (it holds it: ``admit`` checked)."""
        if self.controller == identity:
            self.controller = None

    def expire(self, now: float) -> str | None:
        """Take control from a controller whose heartbeat is older than ``deadman``;
        returns its name once when that happens (the server then stops the probe)."""
        if self.controller is None:
            return None
        session = self.sessions.get(self.controller)
        last = session.last_heartbeat if session is not None else None
        if session is not None and last is not None and now - last <= self.deadman:
            return None
        self.controller = None
        self.deadman_trips += 1
        return session.name if session is not None else "?"

    def links(self, now: float) -> list[m.LinkStatus]:
        """The link figures of every client, for the state stream."""
        return [
            m.LinkStatus(
                client=s.name,
                rtt=s.rtt,
                jitter=s.jitter,
                offset=s.offset,
                heartbeat_age=None if s.last_heartbeat is None else now - s.last_heartbeat,
                stale=s.stale,
                errors=sum(s.errors.values()),
                lost=s.lost,
            )
            for s in self.sessions.values()
        ]

    def _forget_idle(self, now: float) -> None:
        for identity in [
            i
            for i, s in self.sessions.items()
            if now - s.last_seen > SESSION_IDLE_TIMEOUT and i != self.controller
        ]:
            del self.sessions[identity]
