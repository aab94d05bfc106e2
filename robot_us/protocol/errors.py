"""The protocol's error codes and its one exception type: every malformed, oversized,
unknown, stale or refused message ends as a ``ProtocolError`` (and on the wire as an
``error`` reply carrying the same fields)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a message was not executed (the wire value is the lower-case name)."""

    BAD_ENVELOPE = "bad_envelope"  # not msgpack, not a map, a missing/ill-typed envelope key
    UNSUPPORTED_VERSION = "unsupported_version"  # envelope ``v`` the receiver does not speak
    UNKNOWN_TYPE = "unknown_type"  # ``type`` is not in the catalogue (or not a command)
    BAD_BODY = "bad_body"  # the body does not match the type's schema (``field`` names it)
    OUT_OF_RANGE = "out_of_range"  # well-formed, outside the server's configured limits
    TOO_LARGE = "too_large"  # a part, the number of parts, items or nesting over the limit
    STALE = "stale"  # arrived older than its validity horizon: never executed
    NOT_IN_CONTROL = "not_in_control"  # needs control and the sender does not hold it
    REFUSED = "refused"  # not allowed in the current state (``reason`` says why)
    BUSY = "busy"  # another client holds control / the server cannot take it now
    INTERNAL = "internal"  # the server failed executing a valid command


class ProtocolError(Exception):
    """A message the protocol rejects: ``code``, one-line ``message``, the offending
    ``field`` (body path, e.g. ``stroke_px[3][0]``) where there is one, a machine-readable
    ``reason`` for refusals, the request's ``seq`` when it could be read, and the versions
    the receiver supports (``unsupported_version``)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        seq: int | None = None,
        versions: tuple[int, ...] = (),
    ) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason
        self.seq = seq
        self.versions = versions
