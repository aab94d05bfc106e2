"""The message catalogue: every message type, its body, who sends it, and the rules the
server applies to it (reply type, needs control, default validity horizon, extra parts).
This table is the protocol; docs/protocol.md describes it and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec

from robot_us.protocol import messages as m


class Kind(StrEnum):
    """Who sends a message: commands go client -> server and get exactly one reply;
    replies answer one command (same ``seq``); streams are published by the server."""

    COMMAND = "command"
    REPLY = "reply"
    STREAM = "stream"


@dataclass(frozen=True)
class MessageSpec:
    """One message type: wire name, body struct, kind; for commands the reply type, whether
    the sender must hold control, and the default validity horizon ``ttl`` (s; None: never
    stale: read-only or safety-increasing commands); extra parts the message carries."""

    type: str
    body: type[msgspec.Struct]
    kind: Kind
    reply: str | None = None
    needs_control: bool = False
    ttl: float | None = None
    parts: int = 0


#: Default validity horizons (s): a twist or heartbeat older than this is never used.
TWIST_TTL = 0.25
HEARTBEAT_TTL = 0.25
SETPOINT_TTL = 1.0
ACTION_TTL = 2.0

C, R, S = Kind.COMMAND, Kind.REPLY, Kind.STREAM
_SPECS = (
    MessageSpec("hello", m.Hello, C, "welcome"),
    MessageSpec("map_stroke", m.MapStroke, C, "path_preview"),
    MessageSpec("plan", m.Plan, C, "plan_result", needs_control=True),
    MessageSpec("start_scan", m.StartScan, C, "ack", needs_control=True, ttl=ACTION_TTL),
    MessageSpec("pause_scan", m.PauseScan, C, "ack", needs_control=True),
    MessageSpec("resume_scan", m.ResumeScan, C, "ack", needs_control=True, ttl=ACTION_TTL),
    MessageSpec("abort_scan", m.AbortScan, C, "ack", needs_control=True),
    MessageSpec("set_force", m.SetForce, C, "ack", needs_control=True, ttl=SETPOINT_TTL),
    MessageSpec("set_speed", m.SetSpeed, C, "ack", needs_control=True, ttl=SETPOINT_TTL),
    MessageSpec("teleop_start", m.TeleopStart, C, "ack", needs_control=True, ttl=SETPOINT_TTL),
    MessageSpec("teleop_stop", m.TeleopStop, C, "ack", needs_control=True),
    MessageSpec("teleop_twist", m.TeleopTwist, C, "ack", needs_control=True, ttl=TWIST_TTL),
    MessageSpec("heartbeat", m.Heartbeat, C, "ack", ttl=HEARTBEAT_TTL),
    MessageSpec("estop", m.EStop, C, "ack"),
    MessageSpec("reset_faults", m.ResetFaults, C, "ack", needs_control=True, ttl=ACTION_TTL),
    MessageSpec("take_control", m.TakeControl, C, "control", ttl=ACTION_TTL),
    MessageSpec("release_control", m.ReleaseControl, C, "control", needs_control=True),
    MessageSpec("snapshot", m.Snapshot, C, "snapshot_data"),
    MessageSpec("welcome", m.Welcome, R),
    MessageSpec("path_preview", m.PathPreview, R),
    MessageSpec("plan_result", m.PlanResult, R),
    MessageSpec("ack", m.Ack, R),
    MessageSpec("control", m.Control, R),
    MessageSpec("snapshot_data", m.SnapshotReply, R, parts=2),
    MessageSpec("error", m.Error, R),
    MessageSpec("state", m.State, S),
    MessageSpec("frame", m.Frame, S, parts=1),
    MessageSpec("event", m.Event, S),
)
del C, R, S

#: Message type -> spec.
CATALOGUE: dict[str, MessageSpec] = {s.type: s for s in _SPECS}
#: Body struct -> message type (each type has its own body struct).
TYPE_OF: dict[type, str] = {s.body: s.type for s in _SPECS}
#: The command types (what a server accepts).
COMMANDS: tuple[str, ...] = tuple(s.type for s in _SPECS if s.kind is Kind.COMMAND)
#: What a client receives: replies and streams.
SERVER_MESSAGES: tuple[str, ...] = tuple(s.type for s in _SPECS if s.kind is not Kind.COMMAND)
