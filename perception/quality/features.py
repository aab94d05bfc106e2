"""Features of a confidence map that a scan can act on: mean confidence, per-scanline
(column) confidence, and the confidence-weighted lateral barycentre (tilt the probe towards
it to centre the acoustic window, after Chatelain, Krupa and Navab, ICRA 2016)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ConfidenceFeatures:
    """Mean confidence (0..1), per-scanline mean confidence (W, 0..1, left to right), the
    lateral barycentre in [-1, 1] of the image width (0 = centre, +1 = right edge) and, if
    the image width in metres is known, the barycentre offset from the centre (m)."""

    mean: float
    per_scanline: np.ndarray
    barycentre: float
    barycentre_m: float | None = None


def confidence_features(conf: np.ndarray, width_m: float | None = None) -> ConfidenceFeatures:
    """Features of a confidence map (HxW in [0, 1]); ``width_m`` is the imaged width (m)."""
    c = np.asarray(conf, dtype=np.float64)
    if c.ndim != 2 or c.size == 0:
        raise ValueError(f"confidence_features needs a 2-D map, got shape {c.shape}")
    cols = c.mean(axis=0)
    w = c.shape[1]
    x = (np.arange(w) + 0.5) / w * 2.0 - 1.0
    total = cols.sum()
    bary = float((cols * x).sum() / total) if total > 0 else 0.0
    return ConfidenceFeatures(
        mean=float(c.mean()),
        per_scanline=cols,
        barycentre=bary,
        barycentre_m=None if width_m is None else 0.5 * bary * width_m,
    )
