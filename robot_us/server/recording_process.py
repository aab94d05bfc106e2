"""The recording process of ``robot-us serve``: the session's MCAP file
(``robot_us.recording.Recorder``, docs/recording.md), in a helper process of the server.

The recorder drains the shared state stream (it is the ``StateLog``'s one drainer) and
writes what the server hands it over two private ipc links: frames on one (a frame that
finds it full is dropped and counted: the recorder fell behind), everything else on the
other (quality results, the plan, events, the clients' commands and link figures, the
summary: small, queued up to ``ITEMS_QUEUED``).
Encoding images and state rows as JSON holds the interpreter lock for milliseconds at a
time, which would hold off the server's event loop (and its heartbeats) if it ran in the
server's interpreter: so it runs here, synchronously (``Recorder(threaded=False)`` and
``pump()`` between link messages). ``RecordingLink`` is the server's end.
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from robot_us.config import Config
from robot_us.core.types import ScanPlan, UltrasoundFrame
from robot_us.recording import Recorder
from robot_us.recording.contents import QualitySample
from robot_us.scan.states import FAULT_NAMES, STATE_NAMES
from robot_us.server import links
from robot_us.state_log import StateLog

#: Frames queued for the recorder at most (then the server drops them, counted), and
#: other items (small; dropped, counted, only if the recorder stalls for minutes).
FRAMES_QUEUED = 64
ITEMS_QUEUED = 100_000
#: The server's last item: write what is queued, close the file, end.
CLOSE = b"close"


class RecordingLink:
    """The server's end of the recording process: non-blocking hand-overs over the item
    and frame links (what finds its link full is dropped and counted)."""

    def __init__(self, items: zmq.Socket, frames: zmq.Socket) -> None:
        self.sock = items
        self.frames = frames
        self.dropped = 0
        self.frames_dropped = 0

    def _send(self, *item: Any) -> None:
        try:
            self.sock.send(pickle.dumps(item), zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1

    def frame(self, info: links.FrameInfo, pixels: memoryview) -> None:
        """An ultrasound frame (pixels as sent by the imaging process)."""
        try:
            self.frames.send_multipart([pickle.dumps(info), pixels], zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.frames_dropped += 1

    def quality(self, sample: QualitySample) -> None:
        """A quality result."""
        self._send("quality", sample)

    def event(
        self,
        t: float,
        kind: str,
        cause: str,
        s: float | None = None,
        state: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An event at loop time ``t`` (s)."""
        self._send("event", t, kind, cause, s, state, dict(detail or {}))

    def command(self, t: float, payload: dict[str, Any]) -> None:
        """A client command and its result."""
        self._send("command", t, payload)

    def link(self, t: float, payload: dict[str, Any]) -> None:
        """One client's link figures."""
        self._send("link", t, payload)

    def plan(self, plan: ScanPlan) -> None:
        """The plan of a started scan."""
        self._send("plan", plan)

    def finish(self, summary: dict[str, Any], alive: Callable[[], bool], timeout: float) -> bool:
        """The session's summary, then ``close``: each waits for room on the link while
        the recording process is ``alive()``, for ``timeout`` s in all (never blocks on a
        process that is gone). False if they could not be handed over."""
        deadline = time.monotonic() + timeout
        for data in (pickle.dumps(("summary", summary)), CLOSE):
            while not (self.sock.poll(100, zmq.POLLOUT) and _try_send(self.sock, data)):
                if not alive() or time.monotonic() > deadline:
                    return False
        return True


def _try_send(sock: zmq.Socket, data: bytes) -> bool:
    try:
        sock.send(data, zmq.NOBLOCK)
    except zmq.Again:
        return False
    return True


def _frame(info: links.FrameInfo, pixels: Any) -> UltrasoundFrame:
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(info.height, info.width)
    return UltrasoundFrame(
        t=info.t_loop,
        image=image,
        spacing_m=info.spacing,
        seq=info.seq,
        T_base_probe=np.array(info.T_base_probe, dtype=float).reshape(4, 4),
        wrench=np.array([0.0, 0.0, info.force, 0.0, 0.0, 0.0]),
        meta=dict(info.meta),
    )


def run_recording(
    cfg: Config,
    log_name: str,
    path: str,
    origin_unix_s: float,
    metadata: dict[str, str],
    endpoint: str,
    frame_endpoint: str,
    error_path: str,
) -> None:
    """The recording process's entry point (``multiprocessing`` spawn target): records
    until the server sends ``close`` (or goes away), then closes the file."""
    links.ignore_stop_signals()
    ctx = zmq.Context()
    sock = links.pair(ctx, endpoint, bind=False, hwm=ITEMS_QUEUED)
    frame_sock = links.pair(ctx, frame_endpoint, bind=False, hwm=FRAMES_QUEUED)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(frame_sock, zmq.POLLIN)
    log = StateLog.attach(log_name)
    links.keep_tracked(log.shm)
    ppid = os.getppid()
    rec: Recorder | None = None
    try:
        rec = Recorder(
            Path(path),
            cfg.recording,
            state_log=log,
            state_names=STATE_NAMES,
            fault_names=FAULT_NAMES,
            origin_unix_s=origin_unix_s,
            metadata=metadata,
            threaded=False,
        ).start()
        rec.write_config(cfg)
        sock.send(b"ready")
        handlers = {
            "quality": rec.add_quality,
            "plan": rec.write_plan,
            "summary": rec.write_summary,
            "event": rec.post_event,
            "command": rec.add_operator_command,
            "link": rec.add_link_stats,
        }
        wait_ms = max(1, int(cfg.recording.drain_period_s * 1e3))
        closing = False
        while os.getppid() == ppid and not closing:
            ready = dict(poller.poll(wait_ms))
            while sock in ready and sock.poll(0):  # items first: they are small
                data = sock.recv()
                if data == CLOSE:
                    closing = True
                    break
                kind, *args = pickle.loads(data)  # from our own server process
                handlers[kind](*args)
            if frame_sock in ready and frame_sock.poll(0):
                info, pixels = frame_sock.recv_multipart(copy=False)
                rec.add_frame(_frame(pickle.loads(info.buffer), pixels.buffer))
            rec.pump()
    except Exception:
        with open(error_path, "w") as f:
            traceback.print_exc(file=f)
    finally:
        if rec is not None:
            rec.close(raise_on_error=False)
        log.close()
        sock.close(linger=0)
        frame_sock.close(linger=0)
        ctx.term()
        links.exit_child(0)
