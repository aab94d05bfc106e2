"""The imaging side of a scanning cell: grab frames from an ``UltrasoundSource`` and hand
them to a ``QualityWorker``; keep the latest frame and the latest quality result for the
server, the recorder and the scan. Never called from the control loop; ``step`` costs one
``grab`` plus a non-blocking submit and poll."""

from __future__ import annotations

from perception.quality.assess import QualityResult
from robot_us.backends import UltrasoundSource
from robot_us.quality_worker import QualityWorker
from robot_us.recording.contents import QualitySample
from robot_us.types import UltrasoundFrame


class ImagingPipeline:
    """Source -> quality worker, with the latest frame and result at hand."""

    def __init__(self, source: UltrasoundSource, worker: QualityWorker) -> None:
        self.source = source
        self.worker = worker
        self.latest_frame: UltrasoundFrame | None = None
        self.latest_result: QualityResult | None = None

    def step(self) -> UltrasoundFrame | None:
        """Grab one frame (None when the source is exhausted), submit it for assessment and
        pick up any new quality result."""
        frame = self.source.grab()
        if frame is not None:
            self.latest_frame = frame
            self.worker.submit(frame)
        self.poll()
        return frame

    def poll(self) -> QualityResult | None:
        """Pick up a new quality result, if any; returns the latest result."""
        result = self.worker.poll()
        if result is not None:
            self.latest_result = result
        return self.latest_result

    def close(self) -> None:
        """Stop the worker and release the source."""
        self.worker.close()
        self.source.close()


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
    )
