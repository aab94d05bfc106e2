"""An OpenCV ``VideoCapture`` as an ultrasound frame source: a frame grabber (device index,
e.g. a USB capture card on the scanner's video output) or a video file. Frames are converted
to grey. Times: the file's own timestamps for files, ``clock()`` for devices. The probe pose
and the wrench at grab time come from optional callables (the robot side knows them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hardware_drivers.frame_files import FrameFileError, as_gray_u8
from robot_us.core.backends import BackendError, UltrasoundSource
from robot_us.core.types import UltrasoundFrame


class VideoCaptureSource(UltrasoundSource):
    """Frames from ``cv2.VideoCapture(uri)``; ``uri`` a device index or a video file path.
    ``crop`` = (x, y, w, h) px cuts the image area out of a full scanner screen."""

    def __init__(
        self,
        uri: int | str,
        spacing_m: tuple[float, float] = (0.0, 0.0),
        crop: tuple[int, int, int, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        pose: Callable[[], np.ndarray | None] | None = None,
        wrench: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        self.is_file = not isinstance(uri, int)
        if self.is_file and not Path(uri).is_file():
            raise FrameFileError(f"video file not found: {uri}")
        self.uri = uri
        self._cap = cv2.VideoCapture(uri if isinstance(uri, int) else str(uri))
        if not self._cap.isOpened():
            what = "video file" if self.is_file else "capture device"
            raise BackendError(f"cannot open {what} {uri!r} with OpenCV VideoCapture")
        self._spacing = tuple(spacing_m)
        self._crop = crop
        self._clock = clock
        self._pose = pose
        self._wrench = wrench
        self._seq = 0

    def grab(self) -> UltrasoundFrame | None:
        """The next frame; None at the end of a file. A device that stops delivering raises
        ``BackendError``."""
        ok, img = self._cap.read()
        if not ok:
            if self.is_file:
                return None
            raise BackendError(f"capture device {self.uri!r} delivered no frame")
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self.is_file else self._clock()
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


def make_video_source(cfg: Any, world: Any = None) -> VideoCaptureSource:
    """The VideoCapture source of a root ``Config``: ``ultrasound.uri`` is a device index
    (digits) or a video file path."""
    uri = cfg.ultrasound.uri
    if not uri:
        raise ValueError("ultrasound.uri must name a capture device index or a video file")
    return VideoCaptureSource(
        int(uri) if uri.isdigit() else uri, tuple(cfg.ultrasound.pixel_spacing)
    )
