"""Image-quality assessment beside the caller: a worker that scores the most recent frame
(``QualityWorker``): in a thread, in a process, or inline for lockstep runs.

Contract: ``submit(frame)`` and ``poll()`` never wait for an assessment (the inline worker
excepted). The frame slot holds one frame: a frame submitted while another is still waiting
replaces it (latest frame wins; the replaced one counts as dropped). Results are polled:
``poll()`` returns the newest result not yet returned, or None. Nothing is queued, so
nothing grows.

- ``thread``: the assessor runs in a daemon thread of this process; the slot is a pointer
  swap under a lock held for a few bytecodes. onnxruntime, OpenCV and SuperLU release the
  GIL for their heavy parts.
- ``process``: the assessor runs in its own process (spawned); frames and results pass
  through shared memory guarded by locks that the caller only ever try-acquires (a frame
  that finds the slot busy waits in the caller and goes out on the next submit/poll).
- inline (``InlineQualityWorker``, lockstep only): ``submit`` assesses at once, so a
  simulated run is deterministic; ``poll`` returns that frame's result.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event, Lock

import numpy as np

from perception.quality.assess import EXTRA_LEN, QualityAssessor, QualityResult
from perception.quality.classes import CLASS_ORDER
from perception.quality.config import QualityConfig
from perception.quality.features import ConfidenceFeatures
from robot_us.core.registry import Registry
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.models import load_quality_model
from robot_us.imaging.protocols import QualityAssessing

#: Largest frame (pixels) the process worker's shared slot holds.
MAX_FRAME_PIXELS = 1024 * 1024
#: How often an idle process worker looks for a new frame (s).
IDLE_POLL_S = 0.002
#: How long ``close`` waits for the worker to end (s).
JOIN_TIMEOUT_S = 5.0
#: Seconds the process worker may take to load its model and report ready.
START_TIMEOUT_S = 120.0


@dataclass
class WorkerStats:
    """Frames submitted, assessed and dropped (replaced before assessment), failures, and
    the last assessment's duration (s)."""

    submitted: int = 0
    assessed: int = 0
    dropped: int = 0
    failed: int = 0
    last_assess_s: float = 0.0
    last_error: str = ""


def frame_width_m(frame: UltrasoundFrame) -> float | None:
    """Image width (m) from the lateral pixel spacing, None when the spacing is unknown."""
    sx = frame.spacing_m[0] if frame.spacing_m else 0.0
    return sx * frame.image.shape[1] if sx > 0 else None


class QualityWorker(ABC):
    """Scores submitted frames, off the caller's thread but for the inline worker (see the
    module docstring)."""

    @abstractmethod
    def submit(self, frame: UltrasoundFrame) -> None:
        """Hand over a frame (the latest wins); never waits for an assessment (the inline
        worker assesses it here)."""

    @abstractmethod
    def poll(self) -> QualityResult | None:
        """The newest result not returned before, or None; never waits."""

    @abstractmethod
    def stats(self) -> WorkerStats:
        """Counters of the worker."""

    @abstractmethod
    def close(self) -> None:
        """Stop the worker and release its resources."""

    def __enter__(self) -> QualityWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ThreadQualityWorker(QualityWorker):
    """Assessment in a daemon thread of this process."""

    def __init__(self, assessor: QualityAssessing) -> None:
        self._assessor = assessor
        self._lock = threading.Lock()
        self._pending: UltrasoundFrame | None = None
        self._latest: tuple[int, QualityResult | None] = (0, None)  # swapped as one reference
        self._polled_id = 0
        self._stats = WorkerStats()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="quality-worker", daemon=True)
        self._thread.start()

    def submit(self, frame: UltrasoundFrame) -> None:
        with self._lock:
            if self._pending is not None:
                self._stats.dropped += 1
            self._pending = frame
            self._stats.submitted += 1
        self._wake.set()

    def poll(self) -> QualityResult | None:
        rid, res = self._latest
        if rid == self._polled_id:
            return None
        self._polled_id = rid
        return res

    def stats(self) -> WorkerStats:
        return WorkerStats(**vars(self._stats))

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(0.1)
            self._wake.clear()
            with self._lock:
                frame, self._pending = self._pending, None
            if frame is None:
                continue
            t0 = time.perf_counter()
            try:
                res = self._assessor.assess(
                    frame.image, frame_width_m(frame), seq=frame.seq, t=frame.t
                )
            except (ValueError, RuntimeError) as exc:  # a malformed frame: count, report, go on
                self._stats.failed += 1
                self._stats.last_error = f"frame {frame.seq}: {exc}"
                continue
            self._stats.last_assess_s = time.perf_counter() - t0
            self._stats.assessed += 1
            self._latest = (self._latest[0] + 1, res)

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(JOIN_TIMEOUT_S)


class InlineQualityWorker(QualityWorker):
    """Assessment inside ``submit`` (lockstep runs: deterministic, no thread). A frame gets
    a confidence map when ``with_confidence()`` says so at submit (default: always). An
    assessment error propagates to the caller: in a simulated run a bad frame is a bug."""

    def __init__(
        self, assessor: QualityAssessing, with_confidence: Callable[[], bool] | None = None
    ) -> None:
        self._assessor = assessor
        self._with_confidence = with_confidence
        self._result: QualityResult | None = None
        self._stats = WorkerStats()

    def submit(self, frame: UltrasoundFrame) -> None:
        conf = True if self._with_confidence is None else self._with_confidence()
        t0 = time.perf_counter()
        res = self._assessor.assess(
            frame.image, frame_width_m(frame), with_confidence=conf, seq=frame.seq, t=frame.t
        )
        self._stats.last_assess_s = time.perf_counter() - t0
        self._stats.submitted += 1
        self._stats.assessed += 1
        if self._result is not None:
            self._stats.dropped += 1
        self._result = res

    def poll(self) -> QualityResult | None:
        res, self._result = self._result, None
        return res

    def stats(self) -> WorkerStats:
        return WorkerStats(**vars(self._stats))

    def close(self) -> None:
        self._result = None


# --- process worker: shared-memory slots -------------------------------------------------
# frame header (float64): [frame_id, seq, t, h, w, width_m (nan = unknown)]
_FH = 6
# result header (float64): [result_id, seq, t, class, score, mean_conf, bary, bary_m,
#   assess_s, assessed, failed, skipped, n_cols, probs x4, QualityResult.pack_extra()]
#   followed by per-scanline confidence
_RX = 17  # start of the packed extra fields
_RH = _RX + EXTRA_LEN
_R_FAILED = 10  # index of the failed-frames counter in the result header


def _process_main(
    cfg: QualityConfig,
    model_path: str,
    names: tuple[str, str],
    locks: tuple[Lock, Lock, Event],
    ready: Queue,
) -> None:
    """Entry point of the worker process: load the model, then score frames until ``stop``
    (``names``: frame and result shared memory; ``locks``: frame lock, result lock, stop;
    ``ready`` gets '' once loaded or the load error)."""
    fshm = shared_memory.SharedMemory(name=names[0])
    rshm = shared_memory.SharedMemory(name=names[1])
    fhead = np.ndarray((_FH,), np.float64, fshm.buf)
    fpix = np.ndarray((MAX_FRAME_PIXELS,), np.uint8, fshm.buf, offset=_FH * 8)
    rbuf = np.ndarray((_RH + cfg.confidence_size,), np.float64, rshm.buf)
    flock, rlock, stop = locks
    try:
        assessor = QualityAssessor(cfg, load_quality_model(model_path))
    except Exception as exc:  # report any load failure to the parent, then end
        ready.put(f"{type(exc).__name__}: {exc}")
        return
    ready.put("")
    last, assessed, failed, skipped = 0.0, 0, 0, 0
    while not stop.is_set():
        with flock:
            fid = fhead[0]
            if fid != last:
                seq, t, h, w, wm = fhead[1:]
                image = fpix[: int(h) * int(w)].reshape(int(h), int(w)).copy()
        if fid == last:
            time.sleep(IDLE_POLL_S)
            continue
        skipped += int(fid - last) - 1  # frames overwritten in the slot before being read
        last = fid
        t0 = time.perf_counter()
        try:
            res = assessor.assess(image, None if np.isnan(wm) else wm, seq=int(seq), t=t)
        except (ValueError, RuntimeError):  # a malformed frame: count it, go on
            failed += 1
            with rlock:
                rbuf[_R_FAILED] = failed
            continue
        assessed += 1
        c = res.confidence
        assert c is not None  # assess computes the confidence map unless told not to
        cols = c.per_scanline
        with rlock:
            rbuf[1:_RX] = [
                seq,
                t,
                CLASS_ORDER.index(res.quality),
                res.score,
                c.mean,
                c.barycentre,
                np.nan if c.barycentre_m is None else c.barycentre_m,
                time.perf_counter() - t0,
                assessed,
                failed,
                skipped,
                len(cols),
                *res.probs,
            ]
            rbuf[_RX:_RH] = res.pack_extra()
            rbuf[_RH : _RH + len(cols)] = cols
            rbuf[0] += 1
    fshm.close()
    rshm.close()


class ProcessQualityWorker(QualityWorker):
    """Assessment in its own (spawned) process; see the module docstring."""

    def __init__(self, cfg: QualityConfig, model_path: str = "") -> None:
        ctx = mp.get_context("spawn")
        self._fshm = shared_memory.SharedMemory(create=True, size=_FH * 8 + MAX_FRAME_PIXELS)
        self._rshm = shared_memory.SharedMemory(create=True, size=(_RH + cfg.confidence_size) * 8)
        self._fhead = np.ndarray((_FH,), np.float64, self._fshm.buf)
        self._fpix = np.ndarray((MAX_FRAME_PIXELS,), np.uint8, self._fshm.buf, offset=_FH * 8)
        self._rbuf = np.ndarray((_RH + cfg.confidence_size,), np.float64, self._rshm.buf)
        self._fhead[:] = 0
        self._rbuf[:] = 0
        self._flock, self._rlock, self._stop = ctx.Lock(), ctx.Lock(), ctx.Event()
        ready = ctx.Queue(1)
        self._proc = ctx.Process(
            target=_process_main,
            args=(
                cfg,
                model_path,
                (self._fshm.name, self._rshm.name),
                (self._flock, self._rlock, self._stop),
                ready,
            ),
            name="quality-worker",
            daemon=True,
        )
        self._proc.start()
        try:
            err = ready.get(timeout=START_TIMEOUT_S)
        except Exception as exc:  # queue.Empty: the process died or hangs while loading
            self.close()
            raise RuntimeError("quality worker process did not start") from exc
        if err:
            self.close()
            raise RuntimeError(f"quality worker process failed to load its model: {err}")
        self._pending: UltrasoundFrame | None = None
        self._frame_id = 0
        self._polled = 0.0
        self._stats = WorkerStats()
        self._caller_dropped = 0
        self._slot_dropped = 0

    def _flush(self) -> None:
        f = self._pending
        if f is None or not self._flock.acquire(block=False):
            return
        try:
            h, w = f.image.shape
            self._frame_id += 1
            self._fpix[: h * w] = f.image.reshape(-1)
            wm = frame_width_m(f)
            self._fhead[1:] = [f.seq, f.t, h, w, np.nan if wm is None else wm]
            self._fhead[0] = self._frame_id
        finally:
            self._flock.release()
        self._pending = None

    def submit(self, frame: UltrasoundFrame) -> None:
        img = frame.image
        if img.ndim != 2 or img.dtype != np.uint8 or img.size > MAX_FRAME_PIXELS:
            raise ValueError(
                f"quality worker takes HxW uint8 frames up to {MAX_FRAME_PIXELS} pixels, "
                f"got {img.dtype} {img.shape}"
            )
        if self._pending is not None:
            self._caller_dropped += 1
        self._pending = frame
        self._stats.submitted += 1
        self._flush()

    def poll(self) -> QualityResult | None:
        self._flush()
        self._stats.failed = int(self._rbuf[_R_FAILED])
        if self._rbuf[0] == self._polled or not self._rlock.acquire(block=False):
            return None
        try:
            r = self._rbuf.copy()
        finally:
            self._rlock.release()
        self._polled = r[0]
        n = int(r[12])
        self._stats.assessed, self._stats.failed = int(r[9]), int(r[_R_FAILED])
        self._slot_dropped = int(r[11])
        self._stats.last_assess_s = float(r[8])
        return QualityResult(
            quality=CLASS_ORDER[int(r[3])],
            score=float(r[4]),
            probs=r[13:17].copy(),
            confidence=ConfidenceFeatures(
                mean=float(r[5]),
                per_scanline=r[_RH : _RH + n].copy(),
                barycentre=float(r[6]),
                barycentre_m=None if np.isnan(r[7]) else float(r[7]),
            ),
            seq=int(r[1]),
            t=float(r[2]),
        ).unpack_extra(r[_RX:_RH])

    def stats(self) -> WorkerStats:
        out = WorkerStats(**vars(self._stats))
        out.dropped = self._caller_dropped + self._slot_dropped
        return out

    def close(self) -> None:
        self._stop.set()
        self._proc.join(JOIN_TIMEOUT_S)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(JOIN_TIMEOUT_S)
        for shm in (self._fshm, self._rshm):
            shm.close()
            shm.unlink()


def _thread_worker(cfg: QualityConfig, model_path: str) -> QualityWorker:
    return ThreadQualityWorker(QualityAssessor(cfg, load_quality_model(model_path)))


#: Quality workers by ``ultrasound.quality.worker``: ``factory(cfg, model_path)``.
QUALITY_WORKERS: Registry[QualityWorker] = Registry("quality worker")
QUALITY_WORKERS.register("thread", _thread_worker)
QUALITY_WORKERS.register("process", ProcessQualityWorker)


def make_quality_worker(cfg: QualityConfig, model_path: str | None = None) -> QualityWorker:
    """The configured quality worker (model: ``model_path``, else ``cfg.model``)."""
    return QUALITY_WORKERS.create(cfg.worker, cfg, cfg.model if model_path is None else model_path)
