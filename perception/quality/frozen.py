"""Frozen-frame detection for a live source: a scanner in freeze mode or a stuck grabber
repeats the same image, while a live B-mode image always changes (electronic noise,
breathing, probe motion). A frame is frozen when it and the ``repeats`` frames before it
are identical (every pixel within ``tolerance`` grey levels; 0 = bit-identical).

A small stateful object the imaging side holds (one per source): ``update(frame)`` per
grabbed frame, O(H W), keeps a copy of the last frame only. Frames without any texture
(``MIN_SPREAD``: a black frame of a probe in the air under a low gain) are never called
frozen: a blank frame is reported as blank by the out-of-distribution checks. Pure numpy.
"""

from __future__ import annotations

import numpy as np

#: Frames whose grey levels span less than this are not judged (see the module doc).
MIN_SPREAD = 5


class FrozenFrameDetector:
    """Counts identical consecutive frames (see the module doc)."""

    def __init__(self, repeats: int = 3, tolerance: int = 0) -> None:
        if repeats < 1:
            raise ValueError(f"FrozenFrameDetector repeats must be >= 1, got {repeats}")
        self.repeats = repeats
        self.tolerance = tolerance
        self._last: np.ndarray | None = None
        self.run = 0  # identical frames in a row after the first one

    def reset(self) -> None:
        """Forget the last frame (a new source, or after a pause)."""
        self._last = None
        self.run = 0

    def update(self, image: np.ndarray) -> bool:
        """Take the next frame (HxW uint8); True when it is frozen."""
        img = np.asarray(image)
        last = self._last
        same = last is not None and last.shape == img.shape
        if same:
            if self.tolerance <= 0:
                same = np.array_equal(last, img)
            else:
                diff = np.abs(last.astype(np.int16) - img.astype(np.int16))
                same = int(diff.max()) <= self.tolerance
        self.run = self.run + 1 if same else 0
        if last is None or last.shape != img.shape:
            self._last = img.copy()
        elif not same:
            np.copyto(self._last, img)
        if int(img.max()) - int(img.min()) < MIN_SPREAD:
            return False
        return self.run >= self.repeats
