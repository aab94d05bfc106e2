"""Features of a confidence map that a scan can act on: mean confidence, per-scanline
(column) confidence, the confidence-weighted lateral barycentre (tilt the probe towards
it to centre the acoustic window, after Chatelain, Krupa and Navab, ICRA 2016), and the
two signals of the scan's quality policy: the lateral coverage of confident scanlines
(how much of the face images) and the mean confidence below the coupled part of the face
(how deep the coupled scanlines see; a shadow lowers it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A scanline (column) is confident when its mean confidence reaches this. A uniform
#: image, seen through to the bottom, has a linear ramp of mean 0.5; an uncoupled
#: scanline, or one under bone, has almost none.
CONFIDENT_SCANLINE = 0.3
#: Columns with less than this fraction of their pixels inside the imaging area are not
#: scanlines (the corners beside a sector).
MIN_COLUMN_FILL = 0.2


@dataclass
class ConfidenceFeatures:
    """Mean confidence (0..1), per-scanline mean confidence (W, 0..1, left to right), the
    lateral barycentre in [-1, 1] of the image width (0 = centre, +1 = right edge), if the
    image width in metres is known the barycentre offset from the centre (m), the
    fraction of scanlines that are confident (``coverage``) and the mean confidence of
    those scanlines (``coupled_mean``, NaN if none)."""

    mean: float
    per_scanline: np.ndarray
    barycentre: float
    barycentre_m: float | None = None
    coverage: float = float("nan")
    coupled_mean: float = float("nan")


def confidence_features(
    conf: np.ndarray, width_m: float | None = None, mask: np.ndarray | None = None
) -> ConfidenceFeatures:
    """Features of a confidence map (HxW in [0, 1]); ``width_m`` is the imaged width (m);
    ``mask`` (HxW bool) the imaging area within the map (None: all of it)."""
    c = np.asarray(conf, dtype=np.float64)
    if c.ndim != 2 or c.size == 0:
        raise ValueError(f"confidence_features needs a 2-D map, got shape {c.shape}")
    m = np.ones(c.shape, bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != c.shape:
        raise ValueError(f"confidence_features: mask {m.shape} differs from map {c.shape}")
    fill = m.sum(axis=0)
    lines = fill >= MIN_COLUMN_FILL * c.shape[0]
    if not lines.any():
        m, fill, lines = (
            np.ones(c.shape, bool),
            np.full(c.shape[1], c.shape[0]),
            np.ones(c.shape[1], bool),
        )
    cols = np.where(lines, (c * m).sum(axis=0) / np.maximum(fill, 1), 0.0)
    w = c.shape[1]
    x = (np.arange(w) + 0.5) / w * 2.0 - 1.0
    total = cols.sum()
    bary = float((cols * x).sum() / total) if total > 0 else 0.0
    confident = lines & (cols >= CONFIDENT_SCANLINE)
    return ConfidenceFeatures(
        mean=float(c[m].mean()),
        per_scanline=cols,
        barycentre=bary,
        barycentre_m=None if width_m is None else 0.5 * bary * width_m,
        coverage=float(confident.sum() / lines.sum()),
        coupled_mean=float(cols[confident].mean()) if confident.any() else float("nan"),
    )
