"""The seams of the imaging side, as structural types: what imaging needs from the quality
assessor, from the scan it hands results to and from the recorder. Anything with these
methods fits (the project's classes below, a test's fake, a client of another process).

| protocol | met by |
| --- | --- |
| ``QualityAssessing`` | ``perception.quality.assess.QualityAssessor`` |
| ``QualityReceiver`` | ``robot_us.scan.scan.Scan`` (its quality policy takes the result) |
| ``LockstepScan`` | ``robot_us.scan.scan.Scan`` |
| ``ImagingRecorder`` | ``robot_us.recording.Recorder`` |

The frame source is the backend interface ``robot_us.core.backends.UltrasoundSource`` and
the worker the ABC ``robot_us.imaging.worker.QualityWorker``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from perception.quality.assess import QualityResult
from perception.quality.imaging_area import ImagingArea
from robot_us.core.types import UltrasoundFrame
from robot_us.recording.contents import QualitySample
from robot_us.scan.quality_policy import QualityObservation
from robot_us.scan.states import ScanState


class QualityAssessing(Protocol):
    """Scores one frame: class, score and, if asked, confidence-map features."""

    def assess(
        self,
        image: np.ndarray,
        width_m: float | None = None,
        with_confidence: bool = True,
        seq: int = 0,
        t: float = 0.0,
        area: ImagingArea | None = None,
    ) -> QualityResult:
        """Quality of ``image`` (HxW uint8; ``width_m`` the imaged width in m if known),
        stamped with the frame's ``seq`` and time ``t`` (s); ``area`` its imaging area if
        known (else tracked or detected)."""
        ...


class QualityReceiver(Protocol):
    """The scan side of the result hand-over: cheap, callable from any thread."""

    def submit_quality(self, sample: QualityObservation) -> None:
        """Take a frame's quality (``QualityObservation.of(result)``: frame ``seq``, frame
        time in loop time, score, class, out-of-distribution flag, confidence signals); the
        scan's next cycle uses the newest."""
        ...

    def arc_length_at(self, t: float) -> float:
        """Arc length on the path (m) at loop time ``t`` (s)."""
        ...


class LockstepScan(QualityReceiver, Protocol):
    """A scan read between cycles (lockstep): its state decides whether a frame gets a
    confidence map, its arc length ``s`` (m) places the frame on the path."""

    state: ScanState
    s: float


class ImagingRecorder(Protocol):
    """Where frames and their quality are recorded; both calls never block (False: the
    item was dropped)."""

    def add_frame(self, frame: UltrasoundFrame) -> bool:
        """Record an ultrasound frame."""
        ...

    def add_quality(self, sample: QualitySample) -> bool:
        """Record a frame's quality."""
        ...
