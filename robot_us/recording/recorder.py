"""The scan recorder: a writer thread that owns an MCAP file and records everything a
scan produces as it happens (channels: ``channels.py``, documented in
``docs/recording.md``).

Real-time contract
------------------
* The control loop never calls into the recorder except ``post_event`` (rare events
  only: a ``deque.append``, no lock, no I/O, never blocks; bounded, losses counted). Its
  per-cycle state goes into a ``StateLog`` that the recorder thread drains every
  ``drain_period_s``; the loop never waits for the recorder.
* Other producers (imaging: frames and quality; the scan supervisor: camera, plan,
  config, summary) hand items over through a bounded queue. When the queue is full the
  producer waits up to ``put_timeout_s`` (backpressure on the producer, which is never
  the loop), then the item is dropped and counted in ``stats().dropped``.
* Durability: every ``flush_period_s`` the writer closes the open chunk, flushes and
  fsyncs, so a crash or ``kill -9`` loses at most about one flush period plus what
  was still queued. ``close()`` (also on exceptions, via the context manager) writes
  the summary and footer.
* Synchronous mode (``threaded=False``, for lockstep runs): no thread; items are
  written when handed in and ``pump()``, called between cycles (outside the timed
  control section), drains the state log and syncs on the same schedule. Nothing then
  competes with the loop for the GIL, and runs stay deterministic.
* Times handed in are loop time (s), the state log's clock. Log times in the file are
  ``origin_ns + t`` (``origin_ns``: wall clock at recorder creation, in the metadata).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_us import __version__
from robot_us.core.config_schema import to_dict
from robot_us.core.types import RgbdFrame, ScanPlan, UltrasoundFrame
from robot_us.recording import channels as ch
from robot_us.recording import messages as m
from robot_us.recording.config import RecordingConfig
from robot_us.recording.contents import QualitySample, ScanEvent
from robot_us.recording.durable_writer import DurableMcapWriter, RecordingError, metadata_json
from robot_us.recording.pose_history import PoseHistory
from robot_us.state_log import StateLog

#: Seconds of recent state kept to look up the pose and wrench at a frame's time.
HISTORY_S = 2.0
#: Loop rate assumed to size the pose history (Hz); faster loops keep less time.
HISTORY_RATE_HZ = 2000.0
#: Most poses written on /plan/path (the full plan is on /plan).
MAX_PATH_POSES = 500
#: Seconds ``close()`` waits for the writer thread to finish the file.
CLOSE_TIMEOUT_S = 30.0
#: Event kinds that are written to /log as warnings or errors (others: info).
_LOG_LEVELS = {"fault": m.LOG_ERROR, "error": m.LOG_ERROR, "pause": m.LOG_WARNING}
_STOP = object()


@dataclass
class RecorderStats:
    """What the recorder wrote and dropped. ``dropped``: items per kind that could not be
    queued or were rejected; ``state_lost``: state rows overwritten before draining."""

    messages: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    state_rows: int = 0
    state_lost: int = 0
    events_lost: int = 0
    syncs: int = 0
    sync_ms_max: float = 0.0
    bytes: int = 0
    queue_max: int = 0
    cpu_s: float = 0.0  # CPU time spent writing (s): the writer thread, or pump() and producers
    error: str | None = None
    last_rejection: str | None = None


class Recorder:
    """Records a scan to an MCAP file from a writer thread, or synchronously with
    ``threaded=False`` and ``pump()`` between cycles (see the module doc)."""

    def __init__(
        self,
        path: str | Path,
        config: RecordingConfig | None = None,
        state_log: StateLog | None = None,
        state_names: Mapping[int, str] | None = None,
        fault_names: Mapping[int, str] | None = None,
        origin_unix_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
        on_state_rows: Callable[[np.ndarray], None] | None = None,
        threaded: bool = True,
    ) -> None:
        self.path = Path(path)
        self.threaded = threaded
        self.cfg = config if config is not None else RecordingConfig()
        self.state_log = state_log
        self.state_names = {int(k): str(v) for k, v in (state_names or {}).items()}
        self.fault_names = {int(k): str(v) for k, v in (fault_names or {}).items()}
        origin = time.time() if origin_unix_s is None else origin_unix_s
        self.origin_ns = round(origin * 1e9)
        self._metadata = dict(metadata or {})
        self._on_state_rows = on_state_rows
        self._queue: queue.Queue = queue.Queue(maxsize=self.cfg.queue_capacity)
        self._events: deque[ScanEvent] = deque(maxlen=self.cfg.event_capacity)
        self._events_posted = 0
        self._events_taken = 0
        self._thread: threading.Thread | None = None
        self._writer: DurableMcapWriter | None = None
        self._ready = threading.Event()
        self._stats = RecorderStats()
        self._error: BaseException | None = None
        self._closing = False
        self._closed = False
        self._lock = threading.Lock()  # guards dropped counters (several producers)
        # writer-thread state
        self._state_period = 1.0 / self.cfg.state_rate_hz
        self._last_bin: int | None = None
        self._last_state: int | None = None
        self._last_fault: int | None = None
        self._hist = PoseHistory(round(HISTORY_S * HISTORY_RATE_HZ))
        self._next_drain = 0.0
        self._next_sync = 0.0
        self._cpu_s = 0.0  # CPU time spent writing (s), either mode
        self._handlers: dict[str, Callable[[Any], None]] = {
            "frame": self._write_frame,
            "quality": self._write_quality,
            "camera": self._write_camera,
            "plan": self._write_plan,
            "config": self._write_config,
            "summary": self._write_summary,
        }

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Recorder:
        """Open the file and start the writer thread; raises if the file cannot be opened."""
        if self._writer is not None:
            raise RecordingError("recorder already started")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "state_names": metadata_json(self.state_names),
            "fault_names": metadata_json(self.fault_names),
            "state_dtype": metadata_json(
                self.state_log.dtype.descr if self.state_log is not None else None
            ),
            "state_rate_hz": repr(self.cfg.state_rate_hz),
            "flush_period_s": repr(self.cfg.flush_period_s),
            "software": f"robot-us {__version__}",
        }
        meta.update(self._metadata)
        self._writer = DurableMcapWriter(
            self.path,
            self.origin_ns,
            compression=self.cfg.compression,
            chunk_size=self.cfg.chunk_size,
            metadata=meta,
        )
        self._reset_timers()
        if self.threaded:
            self._thread = threading.Thread(target=self._run, name="robot-us-recorder", daemon=True)
            self._thread.start()
        return self

    def pump(self) -> None:
        """Synchronous mode: drain the state log and sync the file when they are due
        (call between cycles). Errors are kept and raised by ``close()``."""
        if self.threaded:
            raise RecordingError("pump() is for a recorder created with threaded=False")
        if self._writer is None or self._closed or self._error is not None:
            return
        self._run_sync(self._tick)

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and not self._closed:
            t = self._latest_t()
            self.post_event(t, "error", f"{exc_type.__name__}: {exc}")
        self.close(raise_on_error=exc is None)

    def close(
        self, summary: Mapping[str, Any] | None = None, raise_on_error: bool = True
    ) -> RecorderStats:
        """Write ``summary`` (if given), drain everything, write the footer and close.
        Idempotent. Raises ``RecordingError`` if the writer failed (unless told not to)."""
        if self._closed:
            return self.stats()
        if summary is not None:
            self.write_summary(summary)
        self._closing = True
        if not self.threaded and self._writer is not None:
            self._finish()
        if self._thread is not None:
            deadline = time.monotonic() + CLOSE_TIMEOUT_S
            while self._thread.is_alive():
                try:
                    self._queue.put(_STOP, timeout=0.1)
                    break
                except queue.Full:
                    if time.monotonic() > deadline:
                        break
            self._thread.join(max(0.0, deadline - time.monotonic()))
            if self._thread.is_alive():
                self._error = self._error or RecordingError(
                    f"recorder thread did not finish within {CLOSE_TIMEOUT_S} s"
                )
        self._closed = True
        if self._error is not None and raise_on_error:
            raise RecordingError(f"recording {self.path} failed: {self._error}") from self._error
        return self.stats()

    def stats(self) -> RecorderStats:
        """A snapshot of the recorder's counters."""
        s = self._stats
        if self._writer is not None:
            ws = self._writer.stats()
            s.messages = dict(ws["messages"])  # type: ignore[arg-type]
            s.syncs = int(ws["syncs"])  # type: ignore[arg-type]
            s.sync_ms_max = float(ws["sync_ms_max"])  # type: ignore[arg-type]
            s.bytes = self._writer.bytes_on_disk()
        s.events_lost = max(0, self._events_posted - self._events_taken - len(self._events))
        s.error = None if self._error is None else f"{type(self._error).__name__}: {self._error}"
        return RecorderStats(**asdict(s))

    # -- producers ----------------------------------------------------------------------
    def _put(self, kind: str, item: Any) -> bool:
        """Hand an item to the writer: queued for the writer thread, or written now in
        synchronous mode. False if it was dropped."""
        if self._closing or self._error is not None or self._writer is None:
            self._drop(kind)
            return False
        if not self.threaded:
            self._run_sync(self._handle, (kind, item))
            return self._error is None
        try:
            self._queue.put((kind, item), timeout=self.cfg.put_timeout_s)
        except queue.Full:
            self._drop(kind)
            return False
        q = self._queue.qsize()
        if q > self._stats.queue_max:
            self._stats.queue_max = q
        return True

    def _drop(self, kind: str) -> None:
        with self._lock:
            self._stats.dropped[kind] = self._stats.dropped.get(kind, 0) + 1

    def add_frame(self, frame: UltrasoundFrame) -> bool:
        """Queue an ultrasound frame (image, time, seq, spacing; pose and wrench if known,
        else looked up in the state log at the frame's time). False if dropped."""
        img = np.asarray(frame.image)
        if img.ndim != 2:
            raise ValueError(f"ultrasound frame must be HxW, got shape {img.shape}")
        m.raw_image(0, "probe", img[:1, :1])  # validates the dtype now, in the caller
        return self._put("frame", frame)

    def add_quality(self, sample: QualitySample) -> bool:
        """Queue a frame's image-quality result. False if dropped."""
        return self._put("quality", sample)

    def add_camera(self, frame: RgbdFrame) -> bool:
        """Queue the camera capture at scan start (RGB, depth, intrinsics, pose)."""
        return self._put("camera", frame)

    def write_plan(self, plan: ScanPlan) -> bool:
        """Queue the planned scan (written once on /plan and /plan/path)."""
        return self._put("plan", plan)

    def write_config(self, config: Any) -> bool:
        """Queue the run configuration (a config dataclass or a dict)."""
        return self._put("config", to_dict(config) if is_dataclass(config) else dict(config))

    def write_summary(self, summary: Mapping[str, Any]) -> bool:
        """Queue the final scan summary/report (a JSON-able dict)."""
        return self._put("summary", dict(summary))

    def post_event(
        self,
        t: float,
        kind: str,
        cause: str,
        s: float | None = None,
        state: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record an event from the loop thread: never blocks, never does I/O. Only for
        rare events (transitions, adjustments), never per cycle."""
        self._events.append(ScanEvent(t, kind, cause, s, state, detail or {}))
        self._events_posted += 1

    # -- synchronous mode -----------------------------------------------------------------
    def _run_sync(self, work: Callable[..., None], *args: Any) -> None:
        """Run writer work in the caller's thread, counting its CPU time; an error is kept
        (re-raised by ``close()``) and stops the recording."""
        c0 = time.thread_time()
        try:
            work(*args)
        except Exception as exc:
            self._error = exc
        self._cpu_s += time.thread_time() - c0

    # -- writer thread ------------------------------------------------------------------
    def _reset_timers(self) -> None:
        now = time.monotonic()
        self._next_drain = now
        self._next_sync = now + self.cfg.flush_period_s

    def _tick(self) -> None:
        """Drain the state log and events, and sync the file, when each is due."""
        now = time.monotonic()
        if now >= self._next_drain:
            self._drain_state()
            self._drain_events()
            self._next_drain = now + self.cfg.drain_period_s
        if now >= self._next_sync:
            self._writer.sync()
            self._next_sync = time.monotonic() + self.cfg.flush_period_s

    def _run(self) -> None:
        get = self._queue.get
        cpu0 = time.thread_time()
        try:
            while True:
                timeout = max(0.0, min(self._next_drain, self._next_sync) - time.monotonic())
                try:
                    item = get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    self._handle(item)
                self._tick()
        except BaseException as exc:  # recorded, re-raised by close(); the file is closed
            self._error = exc
        self._cpu_s += time.thread_time() - cpu0
        self._finish()

    def _finish(self) -> None:
        """Write what is left (items still queued: producers may race ``close()``; state
        rows; events) and ``/recorder/stats``, then close the file. Runs in the writer
        thread, or in ``close()`` in synchronous mode; errors are kept for ``close()``."""
        w = self._writer
        assert w is not None
        c0 = time.thread_time()
        try:
            if self._error is None:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not _STOP:
                        self._handle(item)
                self._drain_state()
                self._drain_events()
                self._stats.cpu_s = self._cpu_s + time.thread_time() - c0
                self._write_recorder_stats()
        except Exception as exc:  # recorded, re-raised by close(); the file is closed
            self._error = exc
        finally:
            try:
                w.close()
            except OSError as exc:
                self._error = self._error or exc

    def _handle(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        self._drain_state()  # the pose/wrench history must cover a frame's time
        try:
            self._handlers[kind](payload)
        except (ValueError, TypeError, KeyError) as exc:
            # a malformed item is rejected and counted; the recording goes on
            self._drop(kind)
            self._stats.last_rejection = f"{kind}: {type(exc).__name__}: {exc}"

    def _ns(self, t: float) -> int:
        return m.to_ns(t, self.origin_ns)

    def _latest_t(self) -> float:
        """Loop time of the newest state row seen (0 before the loop starts)."""
        t = self._hist.latest_t()
        if t is not None:
            return t
        if self.state_log is not None:
            row = self.state_log.latest()
            if row is not None:
                return float(row["t"])
        return 0.0

    # state
    def _drain_state(self) -> None:
        log = self.state_log
        if log is None or log.pending() == 0:
            return
        res = log.drain()
        rows = res.rows
        self._stats.state_rows += len(rows)
        self._stats.state_lost += res.lost
        if len(rows) == 0:
            return
        w = self._writer
        assert w is not None
        t_ns = self._ns(float(rows["t"][-1]))
        if self.cfg.raw_state:
            w.write(
                ch.STATE_RAW.topic,
                t_ns,
                m.dumps(m.state_block(t_ns, rows, res.first_index, res.lost)),
            )
        # decimated rows for plots and the 3D view
        bins = np.floor(rows["t"] / self._state_period + 1e-6).astype(np.int64)
        prev = np.empty_like(bins)
        prev[0] = bins[0] - 1 if self._last_bin is None else self._last_bin
        prev[1:] = bins[:-1]
        keep = bins != prev
        self._last_bin = int(bins[-1])
        for row_ns, state, pose in m.state_msgs(rows[keep], self.origin_ns, self.state_names):
            w.write(ch.STATE.topic, row_ns, m.dumps(state))
            w.write(ch.PROBE_POSE.topic, row_ns, m.dumps(pose))
        if self.cfg.state_events:
            self._derive_events(rows)
        self._hist.append(rows)
        if self._on_state_rows is not None:
            self._on_state_rows(rows)

    def _derive_events(self, rows: np.ndarray) -> None:
        for field_name, last_attr in (("state", "_last_state"), ("fault", "_last_fault")):
            col = rows[field_name]
            last = getattr(self, last_attr)
            prev = np.empty_like(col)
            prev[0] = col[0] if last is None else last
            prev[1:] = col[:-1]
            for i in np.flatnonzero(col != prev):
                old, new = int(prev[i]), int(col[i])
                t, s = float(rows["t"][i]), float(rows["s"][i])
                if field_name == "state":
                    cause = f"{self._state_name(old)} -> {self._state_name(new)}"
                    ev = ScanEvent(t, "transition", cause, s, new, {"from": old, "to": new})
                elif new != 0:
                    name = self.fault_names.get(new, f"fault {new}")
                    ev = ScanEvent(t, "fault", name, s, int(rows["state"][i]), {"code": new})
                else:
                    ev = ScanEvent(t, "fault_cleared", f"fault {old} cleared", s, None, {})
                self._write_event(ev)
            setattr(self, last_attr, int(col[-1]))

    def _state_name(self, sid: int) -> str:
        return self.state_names.get(sid, str(sid))

    # frames, quality, camera, plan, config, summary, events
    def _write_frame(self, f: UltrasoundFrame) -> None:
        w = self._writer
        assert w is not None
        t_ns = self._ns(f.t)
        T, wrench, source = f.T_base_probe, f.wrench, "frame"
        wrench_frame = str(f.meta.get("wrench_frame", "probe")) if f.meta else "probe"
        if T is None or wrench is None:
            found = self._hist.lookup(f.t)
            if found is not None:
                T = found[0] if T is None else T
                if wrench is None:
                    wrench, wrench_frame = found[1], "probe"
                source = "state"
            elif T is None and wrench is None:
                source = "none"
        image = m.dumps(m.raw_image(t_ns, "probe", np.asarray(f.image)))
        info = {
            "timestamp": m.stamp(t_ns),
            "t": f.t,
            "seq": int(f.seq),
            "spacing_m": [float(f.spacing_m[0]), float(f.spacing_m[1])],
            "pose_source": source,
            "meta": f.meta or {},
        }
        w.write(ch.US_IMAGE.topic, t_ns, image)
        w.write(ch.US_INFO.topic, t_ns, m.dumps(info))
        if T is not None:
            w.write(ch.US_POSE.topic, t_ns, m.dumps(m.pose_in_frame(t_ns, "base", T)))
        if wrench is not None:
            msg = m.wrench_msg(t_ns, wrench_frame, f.seq, wrench)
            w.write(ch.US_WRENCH.topic, t_ns, m.dumps(msg))

    def _write_quality(self, q: QualitySample) -> None:
        assert self._writer is not None
        t_ns = self._ns(q.t)
        self._writer.write(ch.US_QUALITY.topic, t_ns, m.dumps(m.quality_msg(t_ns, q)))

    def _write_camera(self, f: RgbdFrame) -> None:
        w = self._writer
        assert w is not None
        t_ns = self._ns(f.t)
        w.write(ch.CAMERA_RGB.topic, t_ns, m.dumps(m.raw_image(t_ns, "camera", f.rgb)))
        depth = np.asarray(f.depth, dtype=np.float32)
        w.write(ch.CAMERA_DEPTH.topic, t_ns, m.dumps(m.raw_image(t_ns, "camera", depth)))
        K = np.asarray(f.intrinsics.K, dtype=np.float64)
        P = np.zeros((3, 4))
        P[:, :3] = K
        calib = {
            "timestamp": m.stamp(t_ns),
            "frame_id": "camera",
            "width": int(f.intrinsics.width),
            "height": int(f.intrinsics.height),
            "distortion_model": "plumb_bob"
            if len(f.intrinsics.dist) <= 5
            else "rational_polynomial",
            "D": np.asarray(f.intrinsics.dist, dtype=np.float64),
            "K": K.ravel(),
            "R": np.eye(3).ravel(),
            "P": P.ravel(),
        }
        w.write(ch.CAMERA_CALIBRATION.topic, t_ns, m.dumps(calib))
        if f.T_base_camera is not None:
            msg = m.pose_in_frame(t_ns, "base", f.T_base_camera)
            w.write(ch.CAMERA_POSE.topic, t_ns, m.dumps(msg))

    def _write_plan(self, plan: ScanPlan) -> None:
        w = self._writer
        assert w is not None
        t_ns = self._ns(self._latest_t())
        poses = np.asarray(plan.poses, dtype=np.float64)
        msg = {
            "timestamp": m.stamp(t_ns),
            "robot": plan.robot,
            "plane": plan.plane,
            "speed_m_s": plan.speed_m_s,
            "duration_s": plan.duration_s,
            "kinds": [str(k) for k in plan.kinds],
            "arc_length": np.asarray(plan.arc_length, dtype=np.float64),
            "poses": poses.reshape(len(poses), 16),
            "joints": np.asarray(plan.joints, dtype=np.float64),
        }
        w.write(ch.PLAN.topic, t_ns, m.dumps(msg))
        step = max(1, int(np.ceil(len(poses) / MAX_PATH_POSES)))
        shown = poses[::step]
        w.write(ch.PLAN_PATH.topic, t_ns, m.dumps(m.poses_in_frame(t_ns, "base", shown)))

    def _write_config(self, config: dict[str, Any]) -> None:
        assert self._writer is not None
        t_ns = self._ns(self._latest_t())
        msg = {"timestamp": m.stamp(t_ns), "config": config}
        self._writer.write(ch.CONFIG.topic, t_ns, m.dumps(msg))

    def _write_summary(self, summary: dict[str, Any]) -> None:
        assert self._writer is not None
        t_ns = self._ns(self._latest_t())
        msg = {"timestamp": m.stamp(t_ns), "summary": summary}
        self._writer.write(ch.SUMMARY.topic, t_ns, m.dumps(msg))

    def _drain_events(self) -> None:
        ev = self._events
        while ev:
            self._write_event(ev.popleft())
            self._events_taken += 1

    def _write_event(self, e: ScanEvent) -> None:
        w = self._writer
        assert w is not None
        t_ns = self._ns(e.t)
        w.write(ch.EVENTS.topic, t_ns, m.dumps(m.event_msg(t_ns, e)))
        level = _LOG_LEVELS.get(e.kind, m.LOG_INFO)
        w.write(ch.LOG.topic, t_ns, m.dumps(m.log_msg(t_ns, e, level)))

    def _write_recorder_stats(self) -> None:
        w = self._writer
        assert w is not None
        s = self.stats()
        t_ns = self._ns(self._latest_t())
        msg = {
            "timestamp": m.stamp(t_ns),
            "messages": s.messages,
            "dropped": s.dropped,
            "state_rows": s.state_rows,
            "state_lost": s.state_lost,
            "events_lost": s.events_lost,
            "flushes": s.syncs,
            "bytes": s.bytes,
            "queue_max": s.queue_max,
            "cpu_s": s.cpu_s,
            "last_rejection": s.last_rejection,
            "error": s.error,
        }
        w.write(ch.RECORDER_STATS.topic, t_ns, m.dumps(msg))
