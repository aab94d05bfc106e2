"""The imaging side of a scanning cell in one object: grab a frame from an
``UltrasoundSource``, hand it to a ``QualityWorker``, pick up any new quality result, and
return what happened as an ``ImagingStep``. Whoever hosts the pipeline paces it and
delivers the step: the lockstep runner between cycles (``lockstep.py``), a thread in real
time (``realtime.py``), or an imaging process publishing steps to the robot-side server.

Never called from the control loop; a ``step`` costs one ``grab`` plus a submit and a poll
(neither waits for an assessment, except with the lockstep's inline worker).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from perception.quality.assess import QualityResult
from robot_us.core.backends import UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.worker import QualityWorker


@dataclass
class ImagingStep:
    """What one ``ImagingPipeline.step`` produced: the frame grabbed (its ``t`` in loop
    time; None when the source is exhausted), the quality result new since the last step or
    poll (of this frame or an earlier one; None if none), ``time.monotonic()`` when the grab
    began (s), and how long the grab and the submit took (s)."""

    frame: UltrasoundFrame | None
    result: QualityResult | None
    t_grab: float
    grab_s: float
    submit_s: float


class ImagingPipeline:
    """Source -> quality worker, with the latest frame and result at hand. Frame times are
    mapped by ``to_loop_time`` (device clock -> loop time, s) before anything sees them."""

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

    def step(self) -> ImagingStep:
        """Grab one frame, submit it for assessment and pick up any new quality result."""
        t_grab = time.monotonic()
        t0 = time.perf_counter()
        frame = self.source.grab()
        t1 = time.perf_counter()
        if frame is not None:
            frame.t = self.to_loop_time(frame.t)
            self.latest_frame = frame
            self.worker.submit(frame)
        t2 = time.perf_counter()
        return ImagingStep(frame, self.poll(), t_grab, t1 - t0, t2 - t1)

    def poll(self) -> QualityResult | None:
        """The quality result new since the last step or poll, or None (``latest_result``
        keeps the newest)."""
        result = self.worker.poll()
        if result is not None:
            self.latest_result = result
        return result

    def close(self) -> None:
        """Stop the worker and release the source."""
        self.worker.close()
        self.source.close()
