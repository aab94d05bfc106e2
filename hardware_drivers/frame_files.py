"""Errors and checks shared by the file-backed ultrasound frame sources (image folders, frame
stacks, video files)."""

from __future__ import annotations

import cv2
import numpy as np


class FrameFileError(ValueError):
    """Frame input is missing, corrupt or malformed (the message names the file and why)."""


def as_gray_u8(image: np.ndarray | None, origin: str) -> np.ndarray:
    """A decoded image as HxW uint8 (colour converted to grey); errors name ``origin``."""
    if image is None:
        raise FrameFileError(f"{origin}: not a readable image (corrupt or unsupported format)")
    if image.dtype != np.uint8:
        raise FrameFileError(f"{origin}: expected 8-bit pixels, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        image = cv2.cvtColor(image, code)
    if image.ndim != 2 or min(image.shape) < 2:
        raise FrameFileError(f"{origin}: expected a 2-D grey image, got shape {image.shape}")
    return np.ascontiguousarray(image)
