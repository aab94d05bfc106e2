"""The imaging side of a scanning cell: grab frames from an ``UltrasoundSource`` and hand
them to a ``QualityWorker``; keep the latest frame and the latest quality result for the
server, the recorder and the scan. Never called from the control loop; ``step`` costs one
``grab`` plus a non-blocking submit and poll."""

from __future__ import annotations

from collections.abc import Callable

from perception.quality.assess import QualityResult
from robot_us.core.backends import UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from robot_us.quality_worker import QualityWorker
from robot_us.recording.contents import QualitySample


class ImagingPipeline:
    """Source -> quality worker, with the latest frame and result at hand. Frame times are
    mapped by ``to_loop_time`` (device clock -> loop time) before anything sees them."""

    def __init__(
        self,
        source: UltrasoundSource,
        worker: QualityWorker,
        to_loop_time: Callable[[float], float] = float,
    ) -> None:
        self.source = source
        self.worker = worker
        self.to_loop_time = to_loop_time
        self.latest_frame: UltrasoundFrame | None = None
        self.latest_result: QualityResult | None = None
        self.new_result: QualityResult | None = None  # picked up by the last step/poll

    def step(self) -> UltrasoundFrame | None:
        """Grab one frame (None when the source is exhausted), submit it for assessment and
        pick up any new quality result (``new_result``)."""
        frame = self.source.grab()
        if frame is not None:
            frame.t = self.to_loop_time(frame.t)
            self.latest_frame = frame
            self.worker.submit(frame)
        self.poll()
        return frame

    def poll(self) -> QualityResult | None:
        """Pick up a new quality result, if any (``new_result``); returns the latest."""
        result = self.worker.poll()
        self.new_result = result
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
