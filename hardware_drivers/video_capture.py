"""An OpenCV ``VideoCapture`` as an ultrasound frame source: a frame grabber (device index,
e.g. a USB capture card on the scanner's video output) or a video file. Frames are converted
to grey. Times: the file's own timestamps for files, ``clock()`` when a device's frame
arrives. The probe pose and the wrench at grab time come from optional callables (the
robot side knows them).

``stats`` measures what the source delivers: frames, the rate from the frame times, the
resolution, and frames dropped (an interval longer than 1.5 nominal periods counts the
periods missing; nominal = the device's reported rate, else the median interval so far).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hardware_drivers.frame_files import FrameFileError, as_gray_u8
from robot_us.core.backends import BackendError, UltrasoundSource
from robot_us.core.types import UltrasoundFrame

#: An interval longer than this many nominal periods means frames were dropped.
DROP_FACTOR = 1.5
#: Intervals kept for the median period (bounded).
MAX_INTERVALS = 10_000


@dataclass
class GrabStats:
    """What a capture delivered: ``frames``, their first and last time (s), the size
    (w, h px), the rate the device reports (0 = unknown) and the dropped-frame estimate."""

    frames: int = 0
    first_t: float = 0.0
    last_t: float = 0.0
    width: int = 0
    height: int = 0
    nominal_fps: float = 0.0
    dropped: int = 0

    @property
    def rate_hz(self) -> float:
        """Measured frame rate from the frame times (0 with fewer than two frames)."""
        span = self.last_t - self.first_t
        return (self.frames - 1) / span if self.frames > 1 and span > 0 else 0.0

    def as_dict(self) -> dict:
        """JSON-ready figures."""
        return {
            "frames": self.frames,
            "rate_hz": self.rate_hz,
            "nominal_fps": self.nominal_fps,
            "width": self.width,
            "height": self.height,
            "dropped": self.dropped,
            "seconds": self.last_t - self.first_t,
        }


class VideoCaptureSource(UltrasoundSource):
    """Frames from ``cv2.VideoCapture(uri)``; ``uri`` a device index or a video file path.
    ``crop`` = (x, y, w, h) px cuts the image area out of a full scanner screen; ``request``
    = (width, height, fps) asks a device for a mode (0 = its default). ``capture_factory``
    opens the capture (``cv2.VideoCapture``; tests pass a fake)."""

    def __init__(
        self,
        uri: int | str,
        spacing_m: tuple[float, float] = (0.0, 0.0),
        crop: tuple[int, int, int, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        pose: Callable[[], np.ndarray | None] | None = None,
        wrench: Callable[[], np.ndarray | None] | None = None,
        request: tuple[int, int, float] = (0, 0, 0.0),
        capture_factory: Callable[..., Any] = cv2.VideoCapture,
    ) -> None:
        self.is_file = not isinstance(uri, int)
        if self.is_file and not Path(uri).is_file():
            raise FrameFileError(f"video file not found: {uri}")
        self.uri = uri
        self._cap = capture_factory(uri if isinstance(uri, int) else str(uri))
        if not self._cap.isOpened():
            what = "video file" if self.is_file else "capture device"
            raise BackendError(f"cannot open {what} {uri!r} with OpenCV VideoCapture")
        width, height, fps = request
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, width),
            (cv2.CAP_PROP_FRAME_HEIGHT, height),
            (cv2.CAP_PROP_FPS, fps),
        ):
            if value and not self.is_file:
                self._cap.set(prop, value)
        self._spacing = tuple(spacing_m)
        self._crop = crop
        self._clock = clock
        self._pose = pose
        self._wrench = wrench
        self._seq = 0
        self.stats = GrabStats(nominal_fps=max(0.0, float(self._cap.get(cv2.CAP_PROP_FPS))))
        self._intervals: list[float] = []

    def _count(self, t: float, img: np.ndarray) -> None:
        st = self.stats
        if st.frames == 0:
            st.first_t = t
            st.height, st.width = img.shape[:2]
        else:
            dt = t - st.last_t
            if len(self._intervals) < MAX_INTERVALS:
                self._intervals.append(dt)
            period = (
                1.0 / st.nominal_fps if st.nominal_fps > 0 else float(np.median(self._intervals))
            )
            if period > 0 and dt > DROP_FACTOR * period:
                st.dropped += round(dt / period) - 1
        st.frames += 1
        st.last_t = t

    def grab(self) -> UltrasoundFrame | None:
        """The next frame; None at the end of a file. A device that stops delivering raises
        ``BackendError``."""
        ok, img = self._cap.read()
        if not ok:
            if self.is_file:
                return None
            raise BackendError(f"capture device {self.uri!r} delivered no frame")
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self.is_file else self._clock()
        self._count(t, img)
        if self._crop is not None:
            x, y, w, h = self._crop
            img = img[y : y + h, x : x + w]
        image = as_gray_u8(img, f"{self.uri} frame {self._seq}")
        frame = UltrasoundFrame(
            t=float(t),
            image=image,
            spacing_m=self._spacing,
            seq=self._seq,
            T_base_probe=self._pose() if self._pose else None,
            wrench=self._wrench() if self._wrench else None,
            meta={"source": "video", "uri": str(self.uri)},
        )
        self._seq += 1
        return frame

    def close(self) -> None:
        """Release the device or file."""
        self._cap.release()


def parse_uri(uri: str) -> int | str:
    """A device index (digits) or a video file path."""
    return int(uri) if uri.isdigit() else uri


def make_video_source(cfg: Any, world: Any = None) -> VideoCaptureSource:
    """The VideoCapture source of a root ``Config``: ``ultrasound.uri`` is a device index
    (digits) or a video file path; ``hardware.grabber`` gives the mode and the crop."""
    uri = cfg.ultrasound.uri
    if not uri:
        raise ValueError("ultrasound.uri must name a capture device index or a video file")
    g = cfg.hardware.grabber
    crop = tuple(g.crop) if g.crop[2] > 0 and g.crop[3] > 0 else None
    return VideoCaptureSource(
        parse_uri(uri),
        tuple(cfg.ultrasound.pixel_spacing),
        crop=crop,
        request=(g.width, g.height, g.fps),
    )
