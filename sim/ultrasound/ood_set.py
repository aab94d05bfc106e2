"""The out-of-distribution test set of the quality pipeline: frames that are not B-mode
ultrasound images, or are ultrasound images made unusable, each with the reason the
pipeline should give. Used by the benchmark (``ood_recall``) and the tests; never used to
train or tune anything (the OOD thresholds come from valid training frames only).

Kinds (``OOD_KINDS``) and the reason expected (``perception.quality.ood.OodReason``):

| kind | frame | reason |
| --- | --- | --- |
| ``noise_uniform`` | i.i.d. uniform grey levels 0..255 | noise |
| ``noise_gaussian`` | i.i.d. Gaussian, mean 60..190, sd 20..60 | noise |
| ``blank`` | one grey level 0..60 everywhere | blank |
| ``white`` | one grey level 245..255 everywhere | saturated |
| ``saturated`` | a valid frame with gain +30..45 dB | saturated |
| ``gradient`` | a smooth grey ramp in a random direction | no_speckle |
| ``inverted`` | 255 - a valid frame | not_bmode |
| ``flipped`` | a valid frame upside down (transducer at the bottom) | flipped |
| ``blurred`` | a valid frame blurred with a Gaussian of sigma 8 px (256 px frame) | no_speckle |
| ``dead_leaves`` | occluding discs of random grey (the natural-image model) | (any) |
| ``clouds`` | 1/f^2 fractal noise (clouds, smoke) | (any) |
| ``wood`` | noisy concentric rings | (any) |
| ``fabric`` | a woven, sinusoidal texture | (any) |
| ``smooth_noise`` | Gaussian noise smoothed to speckle size (sigma 1-2 px) | (any) |
| ``cells`` | Voronoi cells with random grey and dark borders | (any) |
| ``frozen`` | a live source repeating one valid frame | frozen (sequence) |

"Valid frame" kinds are built from frames the caller passes (held-out geometries), only
from frames that show tissue (not ``no_contact``: a dark frame upside down is still dark).
Pure numpy/OpenCV, deterministic for a given generator.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from perception.quality import augment

#: Frame sizes (h, w) the synthetic kinds come in.
SIZES: tuple[tuple[int, int], ...] = ((256, 256), (480, 640), (600, 800), (200, 320))


def _size(rng: np.random.Generator) -> tuple[int, int]:
    return SIZES[rng.integers(len(SIZES))]


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _stretch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo, hi = np.percentile(x, [1, 99])
    a, b = rng.uniform(0, 60), rng.uniform(170, 255)
    return _u8(a + (x - lo) / max(hi - lo, 1e-9) * (b - a))


def noise_uniform(rng, frame=None):
    return rng.integers(0, 256, _size(rng), dtype=np.uint8)


def noise_gaussian(rng, frame=None):
    return _u8(rng.normal(rng.uniform(60, 190), rng.uniform(20, 60), _size(rng)))


def blank(rng, frame=None):
    return np.full(_size(rng), rng.integers(0, 61), np.uint8)


def white(rng, frame=None):
    return np.full(_size(rng), rng.integers(245, 256), np.uint8)


def gradient(rng, frame=None):
    h, w = _size(rng)
    a = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:h, 0:w]
    ramp = np.cos(a) * x / w + np.sin(a) * y / h
    return _stretch(ramp, rng)


def dead_leaves(rng, frame=None):
    h, w = _size(rng)
    img = np.full((h, w), rng.uniform(0, 255), np.float32)
    for _ in range(int(rng.integers(150, 400))):
        r = int(min(h, w) * rng.uniform(0.01, 0.25) ** 1.5 * 2)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (cx, cy), max(r, 1), float(rng.uniform(0, 255)), -1)
    return _u8(img)


def clouds(rng, frame=None):
    h, w = _size(rng)
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.fftfreq(w)[None, :]
    k = np.sqrt(kx**2 + ky**2)
    k[0, 0] = 1.0
    spec = (rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) / k ** rng.uniform(1.0, 1.6)
    spec[0, 0] = 0
    return _stretch(np.real(np.fft.ifft2(spec)), rng)


def wood(rng, frame=None):
    h, w = _size(rng)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(-w, 2 * w), rng.uniform(-h, 2 * h)
    r = np.hypot(x - cx, y - cy)
    rings = np.sin(
        r / rng.uniform(4, 15) + 3 * cv2.GaussianBlur(rng.normal(size=(h, w)), (0, 0), 8)
    )
    grain = cv2.GaussianBlur(rng.normal(size=(h, w)).astype(np.float32), (0, 0), 1.0)
    return _stretch(rings + 0.3 * grain, rng)


def fabric(rng, frame=None):
    h, w = _size(rng)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    p = rng.uniform(4, 12)
    weave = np.sin(2 * np.pi * x / p) * np.sign(np.sin(np.pi * y / p)) + np.sin(
        2 * np.pi * y / p
    ) * np.sign(np.sin(np.pi * x / p))
    return _stretch(weave + 0.3 * rng.normal(size=(h, w)), rng)


def smooth_noise(rng, frame=None):
    h, w = _size(rng)
    n = cv2.GaussianBlur(rng.normal(size=(h, w)).astype(np.float32), (0, 0), rng.uniform(1, 2))
    return _stretch(n, rng)


def cells(rng, frame=None):
    h, w = _size(rng)
    n = int(rng.integers(30, 150))
    seeds = np.full((h, w), 255, np.uint8)
    seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 0
    _, labels = cv2.distanceTransformWithLabels(
        seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    grey = rng.uniform(40, 255, int(labels.max()) + 1)[labels]
    border = np.zeros((h, w), bool)
    border[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    border[1:, :] |= labels[1:, :] != labels[:-1, :]
    border = cv2.dilate(border.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    return _u8(np.where(border, 10, grey))


def inverted(rng, frame):
    return 255 - frame


def flipped(rng, frame):
    return np.ascontiguousarray(frame[::-1])


def blurred(rng, frame):
    scale = frame.shape[0] / 256.0  # sigma 8 px of a 256-row frame
    return augment.blur(frame, 8.0 * scale)


def saturated(rng, frame):
    return augment.gain(frame, rng.uniform(30, 45), 50.0)


#: kind -> (frame maker (rng, valid frame or None) -> uint8 frame, reason, needs a frame).
OOD_KINDS: dict[str, tuple[Callable, str, bool]] = {
    "noise_uniform": (noise_uniform, "noise", False),
    "noise_gaussian": (noise_gaussian, "noise", False),
    "blank": (blank, "blank", False),
    "white": (white, "saturated", False),
    "gradient": (gradient, "no_speckle", False),
    "dead_leaves": (dead_leaves, "", False),
    "clouds": (clouds, "", False),
    "wood": (wood, "", False),
    "fabric": (fabric, "", False),
    "smooth_noise": (smooth_noise, "", False),
    "cells": (cells, "", False),
    "saturated": (saturated, "saturated", True),
    "inverted": (inverted, "not_bmode", True),
    "flipped": (flipped, "flipped", True),
    "blurred": (blurred, "no_speckle", True),
}


def ood_frames(
    per_kind: int, seed: int, valid: list[np.ndarray]
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """``per_kind`` frames of every kind (the ones built from valid frames use ``valid``
    in turn); returns frames, kinds and the reason expected ('' = any reason)."""
    rng = np.random.default_rng(seed)
    frames, kinds, reasons = [], [], []
    k = 0
    for kind, (make, reason, needs) in OOD_KINDS.items():
        for _ in range(per_kind):
            frame = None
            if needs:
                if not valid:
                    raise ValueError(f"OOD kind '{kind}' needs valid frames to start from")
                frame = valid[k % len(valid)]
                k += 1
            frames.append(make(rng, frame))
            kinds.append(kind)
            reasons.append(reason)
    return frames, kinds, reasons
