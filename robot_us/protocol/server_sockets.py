"""The server's side of the sockets: the command ROUTER (receive, decode, reply, count
errors) and the stream publishers. The server process builds one ``CommandSocket`` and
three ``StreamPublisher``s from ``Endpoints`` and runs the handlers of the commands; every
inbound message goes through ``decode_command`` here, and every rejected one gets its
``error`` reply here, so no handler sees a malformed message.

Threading: a socket belongs to the thread that uses it (ZeroMQ sockets are not thread
safe). Nothing here blocks: receives poll with a timeout, sends never wait (a publisher
drops at its high-water mark, a reply to a vanished client is dropped).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import zmq

from robot_us.protocol.codec import Message, decode_command, encode, error_body
from robot_us.protocol.errors import ProtocolError
from robot_us.protocol.security import ServerKeys

#: Messages queued per client / subscriber before ZeroMQ drops (streams) or refuses (replies).
COMMAND_HWM = 1000
STATE_HWM = 4
FRAME_HWM = 4
EVENT_HWM = 1000
#: Largest inbound ZeroMQ frame; a peer sending more is disconnected by ZeroMQ itself.
#: Frames up to this size but over COMMAND_LIMITS get a ``too_large`` reply.
MAX_INBOUND_FRAME = 1024 * 1024


@dataclass
class Inbound:
    """A decoded command: the ROUTER identity of its sender, the sender's key name (CURVE;
    None without keys), the message, and when it arrived (Unix s, server clock)."""

    identity: bytes
    key_name: str | None
    msg: Message
    t_recv: float


class CommandSocket:
    """The command ROUTER at ``endpoint``. ``receive`` returns the next valid command or
    None; rejected messages are answered with an ``error`` reply and counted by code in
    ``errors``."""

    def __init__(self, ctx: zmq.Context, endpoint: str, keys: ServerKeys | None = None) -> None:
        self.keys = keys
        self.sock = ctx.socket(zmq.ROUTER)
        if keys is not None:
            keys.secure(self.sock)
        self.sock.linger = 0
        self.sock.maxmsgsize = MAX_INBOUND_FRAME
        self.sock.sndhwm = COMMAND_HWM
        self.sock.rcvhwm = COMMAND_HWM
        self.sock.router_mandatory = False  # a reply to a vanished client is dropped
        self.sock.router_handover = True  # a client reconnecting keeps its identity
        self.sock.bind(endpoint)
        self.errors: Counter[str] = Counter()
        self.received = 0
        self.dropped_replies = 0

    def receive(self, timeout_ms: int = 0) -> Inbound | None:
        """The next valid command, waiting at most ``timeout_ms``; None when there is none
        (or the message was rejected and answered)."""
        if not self.sock.poll(timeout_ms, zmq.POLLIN):
            return None
        frames = self.sock.recv_multipart(copy=False)
        t_recv = time.time()
        self.received += 1
        identity = frames[0].bytes
        key_name = self._key_name(frames[0])
        try:
            msg = decode_command([f.buffer for f in frames[1:]])
        except ProtocolError as err:
            self.error(identity, err, t_recv)
            return None
        return Inbound(identity, key_name, msg, t_recv)

    def _key_name(self, frame: zmq.Frame) -> str | None:
        if self.keys is None:
            return None
        try:
            user_id = frame.get("User-Id")
        except zmq.ZMQError:
            return None
        return self.keys.name_of(user_id)

    def reply(
        self,
        inbound: Inbound,
        body: msgspec.Struct,
        parts: Sequence[bytes | memoryview] = (),
    ) -> None:
        """Answer ``inbound`` with ``body`` (and extra ``parts``), echoing its seq."""
        frames = encode(body, inbound.msg.seq, t_recv=inbound.t_recv, parts=parts)
        self._send(inbound.identity, frames)

    def error(self, identity: bytes, err: ProtocolError, t_recv: float) -> None:
        """Answer a message from ``identity`` with the ``error`` reply of ``err`` (seq 0
        when the request's seq could not be read) and count it."""
        self.errors[err.code.value] += 1
        frames = encode(error_body(err), err.seq or 0, t_recv=t_recv)
        self._send(identity, frames)

    def refuse(self, inbound: Inbound, err: ProtocolError) -> None:
        """Answer a decoded command with an error (stale, not in control, refused, ...)."""
        err.seq = inbound.msg.seq
        self.error(inbound.identity, err, inbound.t_recv)

    def _send(self, identity: bytes, frames: list) -> None:
        try:
            self.sock.send_multipart([identity, *frames], flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped_replies += 1

    def close(self) -> None:
        """Close the socket."""
        self.sock.close(linger=0)


class StreamPublisher:
    """A PUB socket at ``endpoint`` publishing one stream; ``publish`` never waits (a slow
    subscriber loses messages at its high-water mark, it never slows the server)."""

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str,
        hwm: int,
        keys: ServerKeys | None = None,
    ) -> None:
        self.sock = ctx.socket(zmq.PUB)
        if keys is not None:
            keys.secure(self.sock)
        self.sock.linger = 0
        self.sock.sndhwm = hwm
        self.sock.bind(endpoint)
        self.seq = 0
        self.dropped = 0

    def publish(self, body: msgspec.Struct, parts: Sequence[bytes | memoryview] = ()) -> int:
        """Publish ``body`` with the next seq (returned); extra ``parts`` follow it."""
        self.seq += 1
        try:
            self.sock.send_multipart(encode(body, self.seq, parts=parts), zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped += 1
        return self.seq

    def close(self) -> None:
        """Close the socket."""
        self.sock.close(linger=0)
