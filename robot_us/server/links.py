"""The messages between the server's three processes, over ZeroMQ ``ipc`` sockets (PAIR,
one per link) in a private folder (mode 0700): typed msgspec structs, msgpack-encoded,
one union per direction so a receiver decodes with one call. Times named ``*_mono`` are
``time.monotonic()`` (one clock for every process on the machine), ``t_loop`` is loop
time (s since the loop started), ``t_unix`` the server's wall clock.

Server -> control process (``ToControl``): the control lease (who holds control and until
when, renewed by every fresh heartbeat of the controller), teleop twists, commands with an
id (answered by a ``Reply``), quality results for the scan, shutdown.
Control process -> server (``FromControl``): ready (the loop's time origin), replies,
events (scan, teleop, faults, deadman), the final statistics.
Imaging process -> server (``FromImaging``): ready, and one ``FrameInfo`` per frame with
the pixels as a second ZeroMQ frame.

Sends never wait (``NOBLOCK``; a full queue drops and counts); these links carry small,
rare messages except frames (30 Hz) and twists (the operator's rate).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import msgspec
import zmq

#: Queue length of each ipc link (messages) before a send is dropped.
LINK_HWM = 1000
#: Queue length of the frame link: a frame the server has not taken yet is replaced.
FRAME_HWM = 4


class Lease(msgspec.Struct, tag="lease"):
    """Who holds control (``holder``; None: nobody) and until when the controller's
    heartbeat keeps it (``until_mono``); ``cause`` of a change."""

    holder: str | None
    until_mono: float
    cause: str = ""


class Twist(msgspec.Struct, tag="twist"):
    """A teleop twist (probe frame, m/s and rad/s) from client command ``seq``, valid
    until ``until_mono``; its send time (server clock) and horizon, to check it again."""

    seq: int
    vx: float
    vy: float
    wx: float
    wy: float
    wz: float
    until_mono: float
    t_sent: float
    ttl: float


class Command(msgspec.Struct, tag="command"):
    """A command for the control process, answered by a ``Reply`` with the same ``id``.
    ``op``: start_scan (``plan``: a packed plan, ``plan_id``), pause_scan, resume_scan,
    abort_scan, set_force (``value`` N), set_speed (``value``), teleop_start,
    teleop_stop, estop, reset_faults; ``reason`` where the op has one."""

    id: int
    op: str
    value: float = 0.0
    reason: str = ""
    plan: bytes = b""
    plan_id: int = 0


class Quality(msgspec.Struct, tag="quality"):
    """A frame's quality for the scan: frame ``seq``, its loop time, score and class,
    out-of-distribution flag and reason, lateral coverage of confident scanlines and mean
    confidence below the coupled face (NaN: no confidence map)."""

    seq: int
    t_loop: float
    score: float
    label: str
    ood: bool = False
    ood_reason: str = ""
    coverage: float = float("nan")
    coupled_confidence: float = float("nan")


class Shutdown(msgspec.Struct, tag="shutdown"):
    """Stop the loop (the arm holds where it is) and exit."""


ToControl = Lease | Twist | Command | Quality | Shutdown


class ControlReady(msgspec.Struct, tag="ready"):
    """The loop runs: its time origin (Unix s and monotonic s at loop time 0), joints."""

    t0_unix: float
    t0_mono: float
    n_joints: int
    pid: int


class Reply(msgspec.Struct, tag="reply"):
    """The answer to ``Command`` ``id``: done, or refused with a protocol ``reason``
    token and a one-line ``message``."""

    id: int
    ok: bool
    reason: str = ""
    message: str = ""


class ControlEvent(msgspec.Struct, tag="event"):
    """Something happened in the control process at loop time ``t_loop``: ``kind`` (a
    protocol event kind or a scan event kind), one-line cause, arc length, the scan state
    id and details (fault ``code``/``name``/``reaction``, ``from``/``to`` of a
    transition)."""

    t_loop: float
    kind: str
    cause: str
    s: float | None = None
    state: int | None = None
    detail: dict[str, Any] = {}


class ControlStopped(msgspec.Struct, tag="stopped"):
    """The loop ended: its statistics (``LoopStats`` as a dict) and the intake's timing."""

    loop: dict[str, Any]
    intake_us_p99: float
    intake_us_max: float
    error: str = ""


FromControl = ControlReady | Reply | ControlEvent | ControlStopped


class ImagingReady(msgspec.Struct, tag="ready"):
    """The imaging process runs: its source and frame size."""

    source: str
    width: int
    height: int
    pid: int


class QualityInfo(msgspec.Struct):
    """The newest quality result when a frame is sent: of frame ``seq`` (loop time
    ``t_loop``), class, score, mean confidence (NaN if not computed), and what the scan's
    quality policy reads besides (``Quality``'s fields)."""

    seq: int
    t_loop: float
    label: str
    score: float
    mean_confidence: float
    ood: bool = False
    ood_reason: str = ""
    coverage: float = float("nan")
    coupled_confidence: float = float("nan")


class FrameInfo(msgspec.Struct, tag="frame"):
    """An ultrasound frame (pixels: the next ZeroMQ frame, uint8 height x width): its
    sequence number, the loop time of its pose and force (for the simulator: the state row
    its render started from), when it was acquired (Unix s: the simulator's render
    finished), spacing (m/px), probe pose and force, the newest quality result (new since
    the last frame: ``fresh``), how long the grab took (s), the source's own meta data."""

    seq: int
    t_loop: float
    t_unix: float
    width: int
    height: int
    spacing: tuple[float, float]
    T_base_probe: list[float]
    force: float
    quality: QualityInfo | None
    fresh: bool
    grab_s: float
    meta: dict[str, Any] = {}


class ImagingError(msgspec.Struct, tag="error"):
    """The imaging process failed (its source or model); it keeps running if it can."""

    message: str


FromImaging = ImagingReady | FrameInfo | ImagingError

_encoder = msgspec.msgpack.Encoder()
_to_control = msgspec.msgpack.Decoder(ToControl)
_from_control = msgspec.msgpack.Decoder(FromControl)
_from_imaging = msgspec.msgpack.Decoder(FromImaging)


def encode(msg: msgspec.Struct) -> bytes:
    """A link message as bytes."""
    return _encoder.encode(msg)


def decode_to_control(data: bytes) -> ToControl:
    """A server -> control message."""
    return _to_control.decode(data)


def decode_from_control(data: bytes) -> FromControl:
    """A control -> server message."""
    return _from_control.decode(data)


def decode_from_imaging(data: bytes) -> FromImaging:
    """An imaging -> server message (the first ZeroMQ frame)."""
    return _from_imaging.decode(data)


def context(priority: int = 0) -> zmq.Context:
    """A ZeroMQ context whose background I/O threads run at ``SCHED_FIFO`` ``priority``
    (0: normal scheduling). The threads move every message between the kernel and the
    sockets: left at normal priority they would starve on a busy machine and delay a
    real-time thread's messages (the control lease, heartbeats) by tens of milliseconds."""
    ctx = zmq.Context()
    if priority > 0:
        ctx.set(zmq.THREAD_SCHED_POLICY, os.SCHED_FIFO)
        ctx.set(zmq.THREAD_PRIORITY, priority)
    return ctx


def private_dir() -> Path:
    """A new folder only this user may enter (mode 0700) for the ipc sockets."""
    return Path(tempfile.mkdtemp(prefix="robot-us-serve-"))


def ipc_endpoint(folder: Path, name: str) -> str:
    """The ipc endpoint of link ``name`` in ``folder``."""
    return f"ipc://{os.fspath(folder / name)}.ipc"


def pair(ctx: zmq.Context, endpoint: str, *, bind: bool, hwm: int = LINK_HWM) -> zmq.Socket:
    """One end of a link (PAIR): the server binds, a child process connects."""
    sock = ctx.socket(zmq.PAIR)
    sock.linger = 0
    sock.sndhwm = hwm
    sock.rcvhwm = hwm
    if bind:
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    return sock


def send(sock: zmq.Socket, msg: msgspec.Struct, *parts: bytes | memoryview) -> bool:
    """Send without waiting; False when the link's queue is full (dropped)."""
    try:
        if parts:
            sock.send_multipart([encode(msg), *parts], zmq.NOBLOCK, copy=False)
        else:
            sock.send(encode(msg), zmq.NOBLOCK)
    except zmq.Again:
        return False
    return True


def keep_tracked(shm: SharedMemory) -> None:
    """Undo the unregistering an ``attach`` does (``StateLog.attach``,
    ``ControlStatus.attach``) in a child process spawned by the block's creator: the child
    shares its parent's resource tracker, so the creator's own record must stay for its
    ``unlink`` (Python < 3.13)."""
    resource_tracker.register(shm._name, "shared_memory")  # type: ignore[attr-defined]


#: Signals a child process ignores: Ctrl-C in a terminal, ``systemctl stop`` and
#: ``kill -- -PGID`` send them to every process of the group, and a child that died of
#: one would leave the arm without its loop or the recording without its end. The server
#: process stops its children in order; a child also ends when its parent is gone.
CHILD_IGNORED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_stop_signals() -> None:
    """In a child process: ignore ``CHILD_IGNORED_SIGNALS`` (the server stops it)."""
    for sig in CHILD_IGNORED_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def exit_child(code: int) -> None:
    """End a child process without the interpreter's finalization (nanobind, under
    roboticstoolbox, reports spurious leaks there); call after closing everything."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
