"""The imaging process of ``robot-us serve``: the ultrasound frame source and the quality
inference, stepped at ``server.frame_rate_hz`` (``ImagingPipeline`` with the configured
``QualityWorker``, assessing at most ``server.quality_rate_hz`` frames a second), each
frame sent to the server with its pose, force, time and the newest quality result
(docs/architecture.md "Processes").

Where the pose comes from: the simulated ultrasound source renders the phantom at the
probe's pose and contact force. The simulated world lives in the control process, so this
process builds its own B-mode simulator with its own copy of the phantom geometry (from
the configuration, as the world does) and reads the probe pose and the measured force
along the probe axis from the newest row of the shared state stream (``StateLog``), via
``StreamedProbe``, which offers the simulated source what a world would
(``probe_pose``, ``contact_force``, ``breathing_offset``, ``t``). Breathing is the
configured motion at the row's loop time. The state row's pose is the arm's forward
kinematics, which in the simulator is the true pose to within its joint tracking; its
force is the filtered F/T measurement (the simulator's contact force differs by sensor
noise and filter lag). A real probe (a frame grabber) needs none of it: its frames are
stamped with the loop time of the newest state row when grabbed, and carry that row's
pose.

The process runs at a lower scheduling priority (``server.imaging_nice``) so that it
yields the CPU to the control process; it ignores SIGINT (the server stops it).
"""

from __future__ import annotations

import math
import os
import time
import traceback
from typing import Any

import cv2
import numpy as np
import zmq

from perception.quality.assess import QualityResult
from robot_us.config import Config
from robot_us.core.backends import ULTRASOUND_SOURCES
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.pipeline import ImagingPipeline
from robot_us.imaging.worker import QualityWorker, WorkerStats, make_quality_worker
from robot_us.scan.quality_policy import QualityObservation
from robot_us.server import links
from robot_us.state_log import StateLog

#: How long the process waits for the control loop's first row (s).
START_WAIT_S = 120.0


class StreamedProbe:
    """The probe as the newest state row shows it, with the interface the simulated
    ultrasound source reads from a simulated world (see the module doc)."""

    def __init__(self, cfg: Config, log: StateLog) -> None:
        self.log = log
        ph = cfg.sim.phantom
        self._amp = ph.breathing_amplitude
        self._w = 2.0 * math.pi * ph.breathing_hz
        self.row: Any = None
        self._T = np.eye(4)

    def refresh(self) -> bool:
        """Take the newest row; False before the loop wrote one."""
        row = self.log.latest()
        if row is None:
            return False
        self.row = row[()]
        self._T[:3] = self.row["T_base_probe"]
        return True

    @property
    def t(self) -> float:
        """Loop time of the row (s)."""
        return float(self.row["t"]) if self.row is not None else 0.0

    def probe_pose(self) -> np.ndarray:
        """T_base_probe of the row (4x4, m)."""
        return self._T.copy()

    def contact_force(self) -> float:
        """Measured force along the probe axis (N, pressing positive, at least 0)."""
        return max(0.0, float(self.row["f_n"])) if self.row is not None else 0.0

    def breathing_offset(self, t: float | None = None) -> float:
        """The configured breathing motion at the row's loop time (m)."""
        if self._amp == 0.0:
            return 0.0
        return self._amp * math.sin(self._w * (self.t if t is None else t))


class RateLimitedWorker(QualityWorker):
    """A quality worker that assesses at most ``rate_hz`` frames per second: a frame
    submitted sooner than ``1 / rate_hz`` after the last one it passed on is skipped. The
    assessment (a confidence map, about as costly as rendering a simulated frame) would
    otherwise take the CPU the frames need; the scan's quality policy works on a few
    results a second."""

    def __init__(self, worker: QualityWorker, rate_hz: float) -> None:
        self.worker = worker
        self.period = 1.0 / rate_hz
        self._next = 0.0
        self.skipped = 0

    def submit(self, frame: UltrasoundFrame) -> None:
        now = time.monotonic()
        if now < self._next:
            self.skipped += 1
            return
        self._next = now + self.period
        self.worker.submit(frame)

    def poll(self) -> QualityResult | None:
        return self.worker.poll()

    def stats(self) -> WorkerStats:
        return self.worker.stats()

    def close(self) -> None:
        self.worker.close()


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at ``size`` (width, height; 0 keeps the source's)."""
    w, h = size
    if (w == 0 or w == image.shape[1]) and (h == 0 or h == image.shape[0]):
        return np.ascontiguousarray(image, dtype=np.uint8)
    out = cv2.resize(
        image, (w or image.shape[1], h or image.shape[0]), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(out, dtype=np.uint8)


def _to_gray8(image: np.ndarray) -> np.ndarray:
    """A frame as uint8 (scaled from a float image in [0, 1])."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def run_imaging(cfg: Config, log_name: str, endpoint: str, error_path: str) -> None:
    """The imaging process's entry point (``multiprocessing`` spawn target)."""
    links.ignore_stop_signals()
    sc = cfg.server
    if sc.imaging_nice > 0:
        os.nice(sc.imaging_nice)
    ctx = zmq.Context()
    sock = links.pair(ctx, endpoint, bind=False, hwm=links.FRAME_HWM)
    log = StateLog.attach(log_name)
    links.keep_tracked(log.shm)
    ppid = os.getppid()
    pipeline: ImagingPipeline | None = None
    try:
        probe = StreamedProbe(cfg, log)
        deadline = time.monotonic() + START_WAIT_S
        while not probe.refresh():
            if time.monotonic() > deadline or os.getppid() != ppid:
                return
            time.sleep(0.01)
        sim = cfg.ultrasound.source == "sim"
        source = ULTRASOUND_SOURCES.create(cfg.ultrasound.source, cfg, probe if sim else None)
        worker = RateLimitedWorker(make_quality_worker(cfg.ultrasound.quality), sc.quality_rate_hz)
        pipeline = ImagingPipeline(source, worker)
        size = (int(sc.frame_size[0]), int(sc.frame_size[1]))
        links.send(sock, links.ImagingReady(cfg.ultrasound.source, size[0], size[1], os.getpid()))
        _serve(pipeline, probe, sock, 1.0 / sc.frame_rate_hz, size, sim, ppid)
    except Exception as exc:  # reported to the server; the server keeps running
        with open(error_path, "w") as f:
            traceback.print_exc(file=f)
        links.send(sock, links.ImagingError(f"{type(exc).__name__}: {exc}"))
    finally:
        if pipeline is not None:
            pipeline.close()
        log.close()
        sock.close(linger=200)
        ctx.term()
        links.exit_child(0)


def _serve(
    pipeline: ImagingPipeline,
    probe: StreamedProbe,
    sock: zmq.Socket,
    period: float,
    size: tuple[int, int],
    sim: bool,
    ppid: int,
) -> None:
    """Grab, assess and send frames every ``period`` s until the server goes away."""
    next_t = time.monotonic()
    last_quality = None
    while os.getppid() == ppid:
        if sock.poll(0) and sock.recv() == b"stop":
            return
        probe.refresh()
        step = pipeline.step()
        t_acquired = time.time()  # the frame exists from now (a render has finished)
        frame = step.frame
        if frame is None:  # the source is exhausted
            return
        if not sim:  # stamped and posed with the newest state row when grabbed
            frame.t = probe.t
            frame.T_base_probe = probe.probe_pose()
        res = pipeline.latest_result
        q = None
        if res is not None:
            obs = QualityObservation.of(res)
            q = links.QualityInfo(
                res.seq,
                res.t,
                obs.label,
                obs.score,
                float(res.mean_confidence),
                obs.ood,
                obs.ood_reason,
                obs.coverage,
                obs.coupled_confidence,
            )
        fresh = res is not None and res is not last_quality
        last_quality = res
        image = _resize(_to_gray8(frame.image), size)
        sx, sy = frame.spacing_m if frame.spacing_m else (0.0, 0.0)
        sx *= frame.image.shape[1] / image.shape[1]
        sy *= frame.image.shape[0] / image.shape[0]
        T = frame.T_base_probe if frame.T_base_probe is not None else probe.probe_pose()
        force = float(frame.wrench[2]) if frame.wrench is not None else probe.contact_force()
        meta = {k: v for k, v in (frame.meta or {}).items() if isinstance(v, str | int | float)}
        info = links.FrameInfo(
            seq=int(frame.seq),
            t_loop=float(frame.t),
            t_unix=t_acquired,
            width=image.shape[1],
            height=image.shape[0],
            spacing=(float(sx), float(sy)),
            T_base_probe=np.asarray(T, dtype=float).ravel().tolist(),
            force=force,
            quality=q,
            fresh=fresh,
            grab_s=step.grab_s,
            meta=meta,
        )
        links.send(sock, info, memoryview(image).cast("B"))
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t = time.monotonic()  # behind: skip, never catch up
