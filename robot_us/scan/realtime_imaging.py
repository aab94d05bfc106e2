"""The imaging side of a real-time scan: a thread that steps an ``ImagingPipeline``
(``robot_us.imaging``) at the source's rate: it grabs frames, hands each to the quality
worker (``robot_us.quality_worker``: never waits for an
assessment; latest frame wins) and passes every new result to the scan
(``Scan.submit_quality``, a single-slot swap the loop reads) and, with the frames, to the
recorder. The control loop never waits for any of it.

Frame times are converted to loop time (the state log's clock) by ``to_loop_time`` (for
a source stamped with ``time.monotonic()``: subtract the loop's start)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from robot_us.imaging import ImagingPipeline
from robot_us.scan.quality_policy import QualityObservation

#: How long ``stop`` waits for the thread (s).
JOIN_TIMEOUT_S = 5.0


class RealtimeImaging:
    """Frames from ``source`` at ``rate_hz`` (wall clock) through ``worker`` to ``scan``
    and ``recorder`` (see the module doc)."""

    def __init__(
        self,
        source: Any,
        worker: Any,
        rate_hz: float,
        scan: Any,
        recorder: Any | None = None,
        to_quality_sample: Callable[[Any, float | None], Any] | None = None,
        to_loop_time: Callable[[float], float] = float,
    ) -> None:
        self.pipeline = ImagingPipeline(source, worker, to_loop_time)
        self.period = 1.0 / rate_hz
        self.scan = scan
        self.recorder = recorder
        self.to_quality_sample = to_quality_sample
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
        """Stop the thread (the source and worker stay open: their owner closes them)."""
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)

    def _run(self) -> None:
        next_t = time.monotonic()
        try:
            pipe = self.pipeline
            while not self._stop.is_set():
                frame = pipe.step()
                if frame is None:
                    break
                self.frames += 1
                if self.recorder is not None:
                    self.recorder.add_frame(frame)
                self._deliver(pipe.new_result)
                next_t += self.period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()  # behind: skip, never catch up
            pipe.poll()
            self._deliver(pipe.new_result)
        except Exception as exc:  # kept for the owner to report; the loop is unaffected
            self.error = exc

    def _deliver(self, res: Any) -> None:
        if res is None:
            return
        self.results += 1
        self.scan.submit_quality(QualityObservation.of(res))
        if self.recorder is not None and self.to_quality_sample is not None:
            self.recorder.add_quality(self.to_quality_sample(res, self.scan.arc_length_at(res.t)))
