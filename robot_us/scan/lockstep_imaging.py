"""The imaging side of a lockstep scan: after each physics step, when a frame is due at the
source's rate in simulated time, grab it, assess its quality synchronously (outside the
control cycle's timed section, so lockstep runs stay deterministic), hand the score to the
scan and the frame and its quality to the recorder. Keeps a per-frame log (time, arc
length, score, class, the simulator's ground truth) and a bounded selection of images for
the report's pictures.

In real time the same hand-over goes through ``robot_us.scan.realtime_imaging`` (a thread
with the quality worker), never through the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_us.quality_worker import frame_width_m
from robot_us.scan.quality_policy import QualityObservation
from robot_us.scan.states import ScanState

#: Most frames logged (later frames are counted, not logged).
MAX_FRAME_LOG = 20_000
#: States in which frames also get a confidence map (the probe is on the skin); frames in
#: the air get the model's class and score only (a confidence map of them means nothing).
CONFIDENCE_STATES = (ScanState.SETTLE, ScanState.SWEEP, ScanState.PAUSED)
#: Most images kept for pictures, and the least loop time between two kept images (s).
MAX_KEPT_IMAGES = 400
KEEP_EVERY_S = 0.2


@dataclass
class FrameLog:
    """Per assessed frame: loop time (s), seq, arc length (m), score, class, scan state,
    the simulator's true score and class (NaN / '' for real frames), the mean confidence,
    and the assessment time (ms)."""

    t: list[float] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    s: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    true_score: list[float] = field(default_factory=list)
    true_label: list[str] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    grab_ms: list[float] = field(default_factory=list)
    assess_ms: list[float] = field(default_factory=list)
    dropped: int = 0

    def __len__(self) -> int:
        return len(self.t)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column as a numpy array."""
        return {k: np.asarray(v) for k, v in vars(self).items() if isinstance(v, list)}


@dataclass
class KeptImage:
    """An image kept for the pictures, with where and how good it was."""

    t: float
    seq: int
    s: float
    state: int
    score: float
    label: str
    image: np.ndarray
    spacing_m: tuple[float, float]


class LockstepImaging:
    """Frames at ``rate_hz`` of loop time from ``source``, assessed by ``assessor``
    (``assess(image, width_m, with_confidence, seq, t) -> QualityResult``; confidence maps
    only in ``CONFIDENCE_STATES``), handed to ``scan.submit_quality`` and, with
    ``to_quality_sample(result, s)``, to ``recorder``."""

    def __init__(
        self,
        source: Any,
        assessor: Any,
        rate_hz: float,
        scan: Any,
        recorder: Any | None = None,
        to_quality_sample: Any | None = None,
        with_confidence: bool = True,
    ) -> None:
        self.source = source
        self.assessor = assessor
        self.period = 1.0 / rate_hz
        self.scan = scan
        self.recorder = recorder
        self.to_quality_sample = to_quality_sample
        self.with_confidence = with_confidence
        self.next_t = 0.0
        self.log = FrameLog()
        self.kept: list[KeptImage] = []
        self._last_kept_t = -1e9
        self.latest_score: float | None = None

    def after_step(self, t: float) -> None:
        """Called after every physics step with the loop time reached (s)."""
        if t + 1e-9 < self.next_t:
            return
        self.next_t += self.period * max(1, int((t - self.next_t) / self.period) + 1)
        t0 = time.perf_counter()
        frame = self.source.grab()
        if frame is None:
            return
        t1 = time.perf_counter()
        conf = self.with_confidence and self.scan.state in CONFIDENCE_STATES
        res = self.assessor.assess(
            frame.image, frame_width_m(frame), with_confidence=conf, seq=frame.seq, t=frame.t
        )
        t2 = time.perf_counter()
        label = str(getattr(res.quality, "value", res.quality))
        self.scan.submit_quality(QualityObservation.of(res))
        s, state = float(self.scan.s), int(self.scan.state)
        if self.recorder is not None:
            self.recorder.add_frame(frame)
            if self.to_quality_sample is not None:
                self.recorder.add_quality(self.to_quality_sample(res, s))
        self.latest_score = float(res.score)
        self._log(frame, res, label, s, state, (t1 - t0) * 1e3, (t2 - t1) * 1e3)

    def _log(self, frame, res, label: str, s: float, state: int, grab_ms: float, assess_ms: float):
        log = self.log
        if len(log) >= MAX_FRAME_LOG:
            log.dropped += 1
        else:
            meta = frame.meta or {}
            log.t.append(float(frame.t))
            log.seq.append(int(frame.seq))
            log.s.append(s)
            log.score.append(float(res.score))
            log.label.append(label)
            log.state.append(state)
            log.true_score.append(float(meta.get("score", float("nan"))))
            log.true_label.append(str(meta.get("quality", "")))
            log.confidence.append(float(res.mean_confidence))
            log.grab_ms.append(grab_ms)
            log.assess_ms.append(assess_ms)
        sweeping = state in (ScanState.SWEEP, ScanState.PAUSED)
        due = frame.t - self._last_kept_t >= KEEP_EVERY_S
        if sweeping and due and len(self.kept) < MAX_KEPT_IMAGES:
            self._last_kept_t = frame.t
            self.kept.append(
                KeptImage(
                    frame.t,
                    frame.seq,
                    s,
                    state,
                    float(res.score),
                    label,
                    frame.image.copy(),
                    tuple(frame.spacing_m),
                )
            )
