"""Imaging in a lockstep scan: after each physics step, when a frame is due at the source's
rate in simulated time, step an ``ImagingPipeline`` whose worker assesses inline (outside
the control cycle's timed section, so lockstep runs stay deterministic) and hand the
frame and its quality to the scan and the recorder (``ResultHandover``). Keeps a per-frame
log (``FrameLog``) and a bounded selection of images for the report's pictures.

In real time the same pipeline and hand-over run in a thread (``realtime.py``) with a
thread or process worker, never in the loop.
"""

from __future__ import annotations

from perception.quality.assess import QualityAssessor
from robot_us.config import Config
from robot_us.core.backends import ULTRASOUND_SOURCES, Cell, UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.frame_log import FrameLog, KeptImage
from robot_us.imaging.handover import ResultHandover
from robot_us.imaging.models import load_quality_model
from robot_us.imaging.pipeline import ImagingPipeline
from robot_us.imaging.protocols import ImagingRecorder, LockstepScan, QualityAssessing
from robot_us.imaging.worker import InlineQualityWorker
from robot_us.scan.states import ScanState

#: States in which frames also get a confidence map (the probe is on the skin); frames in
#: the air get the model's class and score only (a confidence map of them means nothing).
CONFIDENCE_STATES = (ScanState.SETTLE, ScanState.SWEEP, ScanState.PAUSED)
#: States in which images are kept for the pictures.
KEEP_STATES = (ScanState.SWEEP, ScanState.PAUSED)
#: Most images kept for pictures, and the least loop time between two kept images (s).
MAX_KEPT_IMAGES = 400
KEEP_EVERY_S = 0.2


class LockstepImaging:
    """Frames at ``rate_hz`` of loop time from ``source``, assessed inline by ``assessor``
    (confidence maps only in ``CONFIDENCE_STATES`` and if ``with_confidence``), handed to
    ``scan`` and ``recorder``."""

    def __init__(
        self,
        source: UltrasoundSource,
        assessor: QualityAssessing,
        rate_hz: float,
        scan: LockstepScan,
        recorder: ImagingRecorder | None = None,
        with_confidence: bool = True,
    ) -> None:
        self.worker = InlineQualityWorker(assessor, self._wants_confidence)
        self.pipeline = ImagingPipeline(source, self.worker)
        self.handover = ResultHandover(scan, recorder)
        self.period = 1.0 / rate_hz
        self.scan = scan
        self.with_confidence = with_confidence
        self.next_t = 0.0
        self.log = FrameLog()
        self.kept: list[KeptImage] = []
        self._last_kept_t = -1e9
        self.latest_score: float | None = None

    def _wants_confidence(self) -> bool:
        return self.with_confidence and self.scan.state in CONFIDENCE_STATES

    def after_step(self, t: float) -> None:
        """Called after every physics step with the loop time reached (s)."""
        if t + 1e-9 < self.next_t:
            return
        self.next_t += self.period * max(1, int((t - self.next_t) / self.period) + 1)
        step = self.pipeline.step()
        frame, res = step.frame, step.result
        if frame is None or res is None:  # the source is exhausted (inline: a result per frame)
            return
        s, state = float(self.scan.s), int(self.scan.state)
        self.handover.frame(frame)
        self.handover.result(res, s)
        self.latest_score = float(res.score)
        assess_ms = self.worker.stats().last_assess_s * 1e3
        self.log.append(frame, res, s, state, step.grab_s * 1e3, assess_ms)
        self._keep(frame, float(res.score), res.quality.value, s, state)

    def _keep(self, frame: UltrasoundFrame, score: float, label: str, s: float, state: int) -> None:
        """Keep the image for the pictures while sweeping, every ``KEEP_EVERY_S`` at most."""
        due = frame.t - self._last_kept_t >= KEEP_EVERY_S
        if state in KEEP_STATES and due and len(self.kept) < MAX_KEPT_IMAGES:
            self._last_kept_t = frame.t
            sx, sy = frame.spacing_m
            image = frame.image.copy()
            self.kept.append(KeptImage(frame.t, frame.seq, s, state, score, label, image, (sx, sy)))


def make_lockstep_imaging(
    cfg: Config, cell: Cell, scan: LockstepScan, recorder: ImagingRecorder | None
) -> LockstepImaging:
    """Lockstep imaging on the simulated cell: the cell's ultrasound source (or the
    configured one from ``ULTRASOUND_SOURCES``, given the simulated world) at
    ``ultrasound.rate_hz`` of loop time, assessed by the model of ``[ultrasound.quality]``."""
    source = cell.ultrasound
    if source is None:
        source = ULTRASOUND_SOURCES.create(cfg.ultrasound.source, cfg, cell.sim)
    qcfg = cfg.ultrasound.quality
    assessor = QualityAssessor(qcfg, load_quality_model(qcfg.model))
    return LockstepImaging(source, assessor, cfg.ultrasound.rate_hz, scan, recorder)
