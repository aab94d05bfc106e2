"""Image-space changes of a displayed (log-compressed) B-mode frame that a scanner's
settings or faults make: gain, a time-gain-compensation curve, dynamic range, blur
(defocus, a smoothing filter), a display gamma. Used to augment training frames and to
build the degradation series of the benchmark. Pure numpy/OpenCV; uint8 in, uint8 out.

A displayed frame is log-compressed: grey level g stands for g / 255 * DR dB above the
display floor, so gain of ``db`` adds ``db * 255 / DR`` grey levels (clipped at white);
pixels at 0 lie below the display floor and stay there. ``mask`` (HxW bool) limits a
change to the field of view (the background outside a sector stays as it is).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Dynamic range (dB) assumed when none is given.
DEFAULT_DR = 50.0


def _apply(image: np.ndarray, out: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    res = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if mask is not None:
        res = np.where(mask, res, image)
    return res


def gain(
    image: np.ndarray, db: float, dynamic_range: float = DEFAULT_DR, mask: np.ndarray | None = None
) -> np.ndarray:
    """Receive gain of ``db`` dB (negative: darker; large positive: saturated)."""
    img = np.asarray(image)
    out = img.astype(np.float32) + np.float32(db * 255.0 / dynamic_range)
    out = np.where(img > 0, out, 0.0)
    return _apply(img, out, mask)


def tgc(
    image: np.ndarray,
    knots_db: np.ndarray,
    dynamic_range: float = DEFAULT_DR,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """A time-gain-compensation curve: gain (dB) at evenly spaced depths (rows, top to
    bottom), interpolated linearly between the ``knots_db``."""
    img = np.asarray(image)
    k = np.asarray(knots_db, dtype=np.float64)
    rows = np.interp(np.linspace(0, 1, img.shape[0]), np.linspace(0, 1, len(k)), k)
    shift = (rows * 255.0 / dynamic_range).astype(np.float32)[:, None]
    out = np.where(img > 0, img.astype(np.float32) + shift, 0.0)
    return _apply(img, out, mask)


def dynamic_range(
    image: np.ndarray, dr_from: float, dr_to: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """Re-display over ``dr_to`` dB what was shown over ``dr_from`` dB (white stays white:
    a larger range is flatter and greyer, a smaller one harsher)."""
    img = np.asarray(image)
    out = 255.0 - (255.0 - img.astype(np.float32)) * np.float32(dr_from / dr_to)
    out = np.where(img > 0, out, 0.0)
    return _apply(img, out, mask)


def blur(image: np.ndarray, sigma_px: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Gaussian blur of ``sigma_px`` pixels (a defocused or over-smoothed image)."""
    img = np.asarray(image)
    if sigma_px <= 0:
        return img.copy()
    out = cv2.GaussianBlur(
        img.astype(np.float32), (0, 0), sigmaX=sigma_px, borderType=cv2.BORDER_REFLECT
    )
    return _apply(img, out, mask)


def display_gamma(image: np.ndarray, gamma: float, mask: np.ndarray | None = None) -> np.ndarray:
    """A display grey map: g -> 255 (g / 255)^gamma."""
    img = np.asarray(image)
    out = 255.0 * (img.astype(np.float32) / 255.0) ** np.float32(gamma)
    return _apply(img, out, mask)
