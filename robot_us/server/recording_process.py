"""The recording process of ``robot-us serve``: the session's MCAP file
(``robot_us.recording.Recorder``, docs/recording.md), in a helper process of the server.

The recorder drains the shared state stream (it is the ``StateLog``'s one drainer) and
writes what the server hands it over a private ipc link: frames and quality results, the
plan, events, the clients' commands and link figures, the configuration and the summary.
Encoding images and state rows as JSON holds the interpreter lock for milliseconds at a
time, which would hold off the server's event loop (and its heartbeats) if it ran in the
server's interpreter: so it runs here, synchronously (``Recorder(threaded=False)`` and
``pump()`` between link messages). ``RecordingLink`` is the server's end.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
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

#: Items queued on the link at most (a frame is one item) before the server drops them.
RECORD_HWM = 256


class RecordingLink:
    """The server's end of the recording process: non-blocking hand-overs (an item that
    finds the link full is dropped and counted in ``dropped``)."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = sock
        self.dropped = 0

    def _send(self, *item: Any, parts: tuple[Any, ...] = ()) -> None:
        try:
            self.sock.send_multipart([pickle.dumps(item), *parts], zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped += 1

    def frame(self, info: links.FrameInfo, pixels: memoryview) -> None:
        """An ultrasound frame (pixels as sent by the imaging process)."""
        self._send("frame", info, parts=(pixels,))

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

    def summary(self, summary: dict[str, Any]) -> None:
        """The session's summary (at the end)."""
        self._send("summary", summary)


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
    error_path: str,
) -> None:
    """The recording process's entry point (``multiprocessing`` spawn target): records
    until the server sends ``close`` (or goes away), then closes the file."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctx = zmq.Context()
    sock = links.pair(ctx, endpoint, bind=False, hwm=RECORD_HWM)
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
            "frame": lambda info, parts: rec.add_frame(_frame(info, parts[0])),
            "quality": lambda sample, parts: rec.add_quality(sample),
            "plan": lambda plan, parts: rec.write_plan(plan),
            "summary": lambda summary, parts: rec.write_summary(summary),
        }
        wait_ms = max(1, int(cfg.recording.drain_period_s * 1e3))
        while os.getppid() == ppid:
            if sock.poll(wait_ms):
                frames = sock.recv_multipart(copy=False)
                if frames[0].bytes == b"close":
                    break
                kind, *args = pickle.loads(frames[0].buffer)  # from our own server process
                if kind == "event":
                    rec.post_event(*args)
                elif kind == "command":
                    rec.add_operator_command(*args)
                elif kind == "link":
                    rec.add_link_stats(*args)
                else:
                    handlers[kind](args[0], [f.buffer for f in frames[1:]])
            rec.pump()
    except Exception:
        with open(error_path, "w") as f:
            traceback.print_exc(file=f)
    finally:
        if rec is not None:
            rec.close(raise_on_error=False)
        log.close()
        sock.close(linger=0)
        ctx.term()
        links.exit_child(0)
