"""Where frames and quality results go: every frame to the recorder, every result to the
scan (``submit_quality``, read by its quality policy at the next cycle) and, as a
``QualitySample`` with the arc length where the frame was taken, to the recorder. Lockstep
and real-time imaging hand over through the same object; neither call waits."""

from __future__ import annotations

from perception.quality.assess import QualityResult
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.protocols import ImagingRecorder, QualityReceiver
from robot_us.recording.contents import QualitySample
from robot_us.scan.quality_policy import QualityObservation


def quality_sample(result: QualityResult, s: float | None = None) -> QualitySample:
    """The recorder's ``QualitySample`` of a quality result (``s``: arc length on the path
    at the frame's time, m, if known)."""
    c = result.confidence
    return QualitySample(
        t=result.t,
        seq=result.seq,
        label=result.quality.value,
        score=result.score,
        mean_confidence=result.mean_confidence,
        scanline_confidence=None if c is None else c.per_scanline.copy(),
        s=s,
        ood=result.ood,
        ood_reason=result.ood_reason,
    )


class ResultHandover:
    """Frames to ``recorder`` (if any); results to ``scan`` and ``recorder``."""

    def __init__(self, scan: QualityReceiver, recorder: ImagingRecorder | None = None) -> None:
        self.scan = scan
        self.recorder = recorder

    def frame(self, frame: UltrasoundFrame) -> None:
        """Record a grabbed frame."""
        if self.recorder is not None:
            self.recorder.add_frame(frame)

    def result(self, result: QualityResult, s: float | None) -> None:
        """Hand a result to the scan and record it at arc length ``s`` (m)."""
        self.scan.submit_quality(QualityObservation.of(result))
        if self.recorder is not None:
            self.recorder.add_quality(quality_sample(result, s))
