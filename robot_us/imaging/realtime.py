"""Imaging in a real-time scan: a thread that steps an ``ImagingPipeline`` at the source's
rate (wall clock): it grabs frames, hands each to the quality worker (never waits for an
assessment; latest frame wins) and passes every frame and every new result on through a
``ResultHandover``: to the scan (``submit_quality``, a single-slot swap the loop reads) and
to the recorder, placed on the path by ``scan.arc_length_at`` at the frame's time. The
control loop never waits for any of it.

Frame times are converted to loop time (the state log's clock) by the pipeline's
``to_loop_time`` (for a source stamped with ``time.monotonic()``: subtract the loop's
start)."""

from __future__ import annotations

import threading
import time

from perception.quality.assess import QualityResult
from robot_us.imaging.handover import ResultHandover
from robot_us.imaging.pipeline import ImagingPipeline
from robot_us.imaging.protocols import ImagingRecorder, QualityReceiver

#: How long ``stop`` waits for the thread (s).
JOIN_TIMEOUT_S = 5.0


class RealtimeImaging:
    """Steps ``pipeline`` at ``rate_hz`` (wall clock) in a thread, handing frames and
    results to ``scan`` and ``recorder`` (see the module doc). ``frames`` and ``results``
    count what was handed over; ``error`` keeps what ended the thread, if anything."""

    def __init__(
        self,
        pipeline: ImagingPipeline,
        rate_hz: float,
        scan: QualityReceiver,
        recorder: ImagingRecorder | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.period = 1.0 / rate_hz
        self.scan = scan
        self.handover = ResultHandover(scan, recorder)
        self.frames = 0
        self.results = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-imaging", daemon=True)

    def start(self) -> RealtimeImaging:
        """Start the imaging thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (the pipeline's source and worker stay open: their owner closes
        them)."""
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end by itself (the source exhausted) or ``timeout`` (s)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        next_t = time.monotonic()
        try:
            pipe = self.pipeline
            while not self._stop.is_set():
                step = pipe.step()
                if step.frame is None:
                    self._deliver(step.result)
                    break
                self.frames += 1
                self.handover.frame(step.frame)
                self._deliver(step.result)
                next_t += self.period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()  # behind: skip, never catch up
            self._deliver(pipe.poll())
        except Exception as exc:  # kept for the owner to report; the loop is unaffected
            self.error = exc

    def _deliver(self, res: QualityResult | None) -> None:
        if res is None:
            return
        self.results += 1
        self.handover.result(res, self.scan.arc_length_at(res.t))
