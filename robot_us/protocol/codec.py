"""The envelope and the two decode paths.

A message is one or more ZeroMQ frames: frame 0 is the msgpack envelope
``{type, v, seq, t_sent, [ttl], [t_recv], [parts], body}``; frames 1.. are the extra parts
(raw bytes: images) that the body describes. Decoding checks, in this order and before
any msgpack is decoded: the number of frames, each frame's size, the envelope's nesting
depth and item count; then one typed msgspec pass decodes envelope and body together (the
``type`` key selects the body struct). Whatever the input, ``decode_command`` and
``decode_server_message`` return a ``Message`` or raise ``ProtocolError``: nothing else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta

from robot_us.protocol.catalogue import CATALOGUE, COMMANDS, SERVER_MESSAGES, TYPE_OF, MessageSpec
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.messages import Error, Id
from robot_us.protocol.msgpack_shape import check_shape

#: The protocol version this code speaks (envelope ``v``).
PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (PROTOCOL_VERSION,)
#: Longest validity horizon a message may state (s); the server may allow less.
MAX_TTL = 60.0
#: Most extra parts any message carries.
MAX_EXTRA_PARTS = 4

Frames = Sequence[bytes | memoryview | Any]  # bytes, memoryview or zmq.Frame (buffer)


@dataclass(frozen=True)
class SizeLimits:
    """Checked before decoding: frames per message, bytes of the envelope frame and of each
    extra frame, nesting depth and total items of the envelope."""

    max_frames: int
    max_envelope_bytes: int
    max_part_bytes: int
    max_depth: int
    max_items: int


#: What a server accepts: commands have no extra parts and fit in 64 KiB.
COMMAND_LIMITS = SizeLimits(
    max_frames=1, max_envelope_bytes=64 * 1024, max_part_bytes=0, max_depth=6, max_items=10_000
)
#: What a client accepts from a server: snapshots and frames carry large extra parts.
CLIENT_LIMITS = SizeLimits(
    max_frames=1 + MAX_EXTRA_PARTS,
    max_envelope_bytes=4 * 1024 * 1024,
    max_part_bytes=64 * 1024 * 1024,
    max_depth=8,
    max_items=500_000,
)


class Envelope(
    msgspec.Struct,
    forbid_unknown_fields=True,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
):
    """Envelope keys (the ``type`` key is the tag, ``body`` is added per type): version,
    sequence number (requests >= 1; a reply echoes its request's, 0 when it could not be
    read), send time (Unix s, server clock), validity horizon (s), the server's receive time
    of the request a reply answers (s), number of extra parts."""

    v: Annotated[int, Meta(ge=0, le=65535)]
    seq: Id
    t_sent: Annotated[float, Meta(ge=0.0, le=1e11)]
    ttl: Annotated[float, Meta(gt=0.0, le=MAX_TTL)] | None = None
    t_recv: Annotated[float, Meta(ge=0.0, le=1e11)] | None = None
    parts: Annotated[int, Meta(ge=0, le=MAX_EXTRA_PARTS)] = 0


#: Message type -> its envelope struct (``Envelope`` + ``body: <body struct>``).
ENVELOPES: dict[str, type[Envelope]] = {
    spec.type: msgspec.defstruct(
        f"{spec.body.__name__}Envelope",
        [("body", spec.body)],
        bases=(Envelope,),
        tag=spec.type,
        module=__name__,
        kw_only=True,
    )
    for spec in CATALOGUE.values()
}


@dataclass
class Message:
    """A decoded message: its envelope (with the typed ``body``) and its extra parts."""

    env: Envelope
    parts: list = field(default_factory=list)

    @property
    def type(self) -> str:
        """Wire type name."""
        return type_of(self.env)

    @property
    def seq(self) -> int:
        """Sequence number."""
        return self.env.seq

    @property
    def body(self) -> Any:
        """The typed body struct."""
        return self.env.body  # type: ignore[attr-defined]

    @property
    def spec(self) -> MessageSpec:
        """The catalogue entry."""
        return CATALOGUE[self.type]


def type_of(env: Envelope) -> str:
    """The wire type of an envelope instance."""
    return env.__struct_config__.tag  # type: ignore[return-value]


_ENCODER = msgspec.msgpack.Encoder()


def encode(
    body: msgspec.Struct,
    seq: int,
    *,
    t_sent: float | None = None,
    ttl: float | None = None,
    t_recv: float | None = None,
    parts: Sequence[bytes | memoryview] = (),
) -> list[bytes | memoryview]:
    """The frames of a message: the envelope of ``body`` (its type from the catalogue) and
    the extra ``parts``. ``t_sent`` defaults to now (Unix s)."""
    env = ENVELOPES[TYPE_OF[type(body)]](
        v=PROTOCOL_VERSION,
        seq=seq,
        t_sent=time.time() if t_sent is None else t_sent,
        ttl=ttl,
        t_recv=t_recv,
        parts=len(parts),
        body=body,
    )
    return [_ENCODER.encode(env), *parts]


def error_body(err: ProtocolError) -> Error:
    """The ``error`` reply body of ``err``."""
    return Error(
        code=err.code.value,
        message=err.message,
        field=err.field,
        reason=err.reason,
        versions=list(err.versions),
    )


def validity(msg: Message) -> float | None:
    """The message's validity horizon (s): its ``ttl`` or the type's default; None when the
    type never goes stale."""
    default = msg.spec.ttl
    if default is None:
        return None
    return msg.env.ttl if msg.env.ttl is not None else default


def stale_error(msg: Message, now: float) -> ProtocolError | None:
    """A ``stale`` error if ``msg`` (received at ``now``, server clock, s) is older than its
    validity horizon, or dated further in the future than that (a client clock gone wrong);
    None when it may be executed."""
    horizon = validity(msg)
    if horizon is None:
        return None
    age = now - msg.env.t_sent
    if -horizon <= age <= horizon:
        return None
    return ProtocolError(
        ErrorCode.STALE,
        f"{msg.type} is {age * 1e3:.0f} ms old, valid for {horizon * 1e3:.0f} ms: not executed",
        seq=msg.seq,
    )


_PATH = re.compile(r" - at `\$\.?(.*)`$")
_NAMED = re.compile(r"field `([^`]*)`")


def _field_of(text: str) -> str:
    """The dotted path a msgspec validation message points at (``body.stroke_px[3][0]``)."""
    match = _PATH.search(text)
    path = match.group(1) if match else ""
    named = _NAMED.search(text)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path


class _Decoder:
    """Decodes the messages of ``types`` under ``limits``; only ``ProtocolError`` escapes."""

    def __init__(self, types: Sequence[str], limits: SizeLimits, what: str) -> None:
        self.types = frozenset(types)
        self.limits = limits
        self.what = what
        union = Union[tuple(ENVELOPES[t] for t in types)]  # noqa: UP007 (a runtime tuple)
        self._decoder = msgspec.msgpack.Decoder(union)

    def decode(self, frames: Frames) -> Message:
        lim = self.limits
        if len(frames) == 0:
            raise ProtocolError(ErrorCode.BAD_ENVELOPE, "empty message")
        if len(frames) > lim.max_frames:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"{len(frames)} frames; a {self.what} has at most {lim.max_frames}",
            )
        head = memoryview(frames[0])
        if head.nbytes > lim.max_envelope_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"envelope of {head.nbytes} bytes; at most {lim.max_envelope_bytes}",
            )
        for i, part in enumerate(frames[1:], start=1):
            size = memoryview(part).nbytes
            if size > lim.max_part_bytes:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, f"part {i} of {size} bytes; at most {lim.max_part_bytes}"
                )
        if head.nbytes == 0:
            raise ProtocolError(ErrorCode.BAD_ENVELOPE, "empty envelope frame")
        check_shape(head, lim.max_depth, lim.max_items)
        try:
            env = self._decoder.decode(head)
        except msgspec.ValidationError as exc:
            raise self._classify(head, str(exc)) from None
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ProtocolError(ErrorCode.BAD_ENVELOPE, f"not a msgpack envelope: {exc}") from None
        if env.v != PROTOCOL_VERSION:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol version {env.v} not supported",
                seq=env.seq,
                versions=SUPPORTED_VERSIONS,
            )
        extra = len(frames) - 1
        if env.parts != extra:
            raise ProtocolError(
                ErrorCode.BAD_ENVELOPE,
                f"envelope announces {env.parts} extra parts, message has {extra}",
                field="parts",
                seq=env.seq,
            )
        return Message(env, list(frames[1:]))

    def _classify(self, head: memoryview, text: str) -> ProtocolError:
        """The error for an envelope the typed pass rejected (depth already bounded)."""
        try:
            raw = msgspec.msgpack.decode(head)
        except (msgspec.DecodeError, RecursionError) as exc:
            return ProtocolError(ErrorCode.BAD_ENVELOPE, f"not a msgpack envelope: {exc}")
        if not isinstance(raw, dict):
            return ProtocolError(ErrorCode.BAD_ENVELOPE, "the envelope is not a msgpack map")
        seq = raw.get("seq")
        seq = seq if type(seq) is int and 0 <= seq <= 2**53 else None
        v, kind = raw.get("v"), raw.get("type")
        if type(v) is not int:
            return ProtocolError(
                ErrorCode.BAD_ENVELOPE, "envelope key 'v' missing or not an integer", seq=seq
            )
        if v not in SUPPORTED_VERSIONS:
            return ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol version {v} not supported",
                seq=seq,
                versions=SUPPORTED_VERSIONS,
            )
        if not isinstance(kind, str):
            return ProtocolError(
                ErrorCode.BAD_ENVELOPE, "envelope key 'type' missing or not a string", seq=seq
            )
        if kind not in self.types:
            text = (
                f"'{kind}' is not a {self.what}"
                if kind in CATALOGUE
                else f"unknown message type '{kind[:64]}'"
            )
            return ProtocolError(ErrorCode.UNKNOWN_TYPE, text, seq=seq)
        where = _field_of(text)
        if where == "body" or where.startswith(("body.", "body[")):
            name = where[5:] or None
            return ProtocolError(ErrorCode.BAD_BODY, f"{kind}: {text}", field=name, seq=seq)
        return ProtocolError(ErrorCode.BAD_ENVELOPE, text, field=where or None, seq=seq)


_COMMAND_DECODER = _Decoder(COMMANDS, COMMAND_LIMITS, "command")
_SERVER_DECODER = _Decoder(SERVER_MESSAGES, CLIENT_LIMITS, "server message")


def decode_command(frames: Frames) -> Message:
    """Decode one inbound command (the server's only decode path; the ROUTER's identity
    frame already removed). Raises ``ProtocolError`` and nothing else."""
    msg = _COMMAND_DECODER.decode(frames)
    if msg.seq == 0:
        raise ProtocolError(ErrorCode.BAD_ENVELOPE, "a command's seq must be >= 1", field="seq")
    return msg


def decode_server_message(frames: Frames) -> Message:
    """Decode one reply or stream message (the client's decode path). Raises
    ``ProtocolError`` and nothing else."""
    return _SERVER_DECODER.decode(frames)
