"""Probe-pressure compression of tracked ultrasound, calibrated from the scan's own frames.

Pressing the probe compresses the tissue under it: structures appear shallower than they
are, the more so the harder the press (the face also sinks into the body). Two frames at
the same place and different forces (the settle ramp, where the force rises to its
set-point before the sweep moves) tell how: block matching along the beam gives, at every
image depth, how far the tissue shown there moved between the two forces. Assuming the
compression grows linearly with the force (first order), the frame taken at force F shows
the tissue lying at ``h(s) = s + F * (shift_per_newton(s) - face_per_newton)`` below the
face at image depth ``s``. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

#: Block matching: window height, step between windows and search range (pixels).
WINDOW = 24
STEP = 8
SEARCH = 40
#: Windows matching worse than this normalised cross-correlation are ignored.
MIN_NCC = 0.3
#: Fewest matched windows a calibration needs.
MIN_WINDOWS = 5


@dataclass(frozen=True)
class CompressionModel:
    """Image depths (m below the image's top), the image-depth shift per newton there
    (m/N: how much deeper than shown the tissue lies, per newton of force) and how far the
    face sinks into the body per newton (m/N)."""

    depth: np.ndarray
    shift_per_newton: np.ndarray
    face_per_newton: float

    def depth_below_face(self, s: np.ndarray, force: float) -> np.ndarray:
        """Where the tissue shown at image depth ``s`` (m) at ``force`` (N) lies below the
        probe face in the uncompressed body (m)."""
        g = np.interp(s, self.depth, self.shift_per_newton)
        return s + force * (g - self.face_per_newton)


def axial_shift(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block matching along the rows between frames ``a`` and ``b`` (H x W, same place):
    window centres in ``b`` (rows), the shift (rows, sub-pixel) to where each window's
    content lies in ``a`` (positive: deeper in ``a``), and the match's correlation."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    h = a.shape[0]
    centres, shifts, scores = [], [], []
    ks = np.arange(-SEARCH, SEARCH + 1)
    for r0 in range(0, h - WINDOW + 1, STEP):
        blk = b[r0 : r0 + WINDOW] - b[r0 : r0 + WINDOW].mean()
        nb = float(np.sqrt((blk * blk).sum()))
        if nb == 0:
            continue
        ncc = np.full(len(ks), -1.0)
        for j, k in enumerate(ks):
            if r0 + k >= 0 and r0 + k + WINDOW <= h:
                c = a[r0 + k : r0 + k + WINDOW]
                c = c - c.mean()
                nc = float(np.sqrt((c * c).sum()))
                if nc > 0:
                    ncc[j] = float((blk * c).sum()) / (nb * nc)
        i = int(np.argmax(ncc))
        off = 0.0
        if 0 < i < len(ks) - 1 and ncc[i - 1] > -1 and ncc[i + 1] > -1:
            y0, y1, y2 = ncc[i - 1 : i + 2]
            den = y0 - 2 * y1 + y2
            if den < 0:
                off = 0.5 * (y0 - y2) / den
        centres.append(r0 + 0.5 * (WINDOW - 1))
        shifts.append(ks[i] + off)
        scores.append(ncc[i])
    return np.array(centres), np.array(shifts), np.array(scores)


def fit_compression(
    a: np.ndarray,
    b: np.ndarray,
    force_a: float,
    force_b: float,
    face_sink: float,
    axial_spacing: float,
) -> CompressionModel | str:
    """The compression model from frame ``a`` at ``force_a`` and frame ``b`` at the larger
    ``force_b`` (N), taken at the same place; ``face_sink`` (m) is how far the face moved
    along the beam between them, ``axial_spacing`` (m/px) the rows' spacing. Returns the
    reason instead when the frames do not allow it."""
    df = force_b - force_a
    if not df > 0:
        return f"the forces do not rise ({force_a:.2f} -> {force_b:.2f} N)"
    c, s, q = axial_shift(a, b)
    ok = q >= MIN_NCC
    if ok.sum() < MIN_WINDOWS:
        return f"only {int(ok.sum())} image windows matched between the two forces"
    depth = (c[ok] + 0.5) * axial_spacing
    shift = median_filter(np.clip(s[ok], 0, None), size=3, mode="nearest")
    shift = np.maximum.accumulate(shift) * axial_spacing  # compression grows with depth
    depth = np.concatenate([[0.0], depth])
    shift = np.concatenate([[0.0], shift])  # the skin stays at the image's top
    return CompressionModel(depth, shift / df, face_sink / df)
