"""Smoothing of a mapped path along its arc length, below the scale the local fits
resolve: every point stays on its line of sight (the operator's pixel) and only its
distance from the camera is smoothed, by a local quadratic regression against arc length;
normals by a local linear regression. Gaussian weights (sigma in metres, truncated at 3
sigma). Both regressions are unbiased where the surface curves steadily (a cylinder, an
arc), also at the path's ends; they remove the anchor-to-anchor jitter (0.1 mm along the
rays, a few degrees of path direction per millimetre) that would make the probe wobble.

Complexity: O(N m) time for N points with at most m of them within 3 sigma of arc length
of any point, in chunks of at most ``CHUNK_ENTRIES`` (point, neighbour) pairs, so memory
is O(N + CHUNK_ENTRIES) whatever the spacing. The stroke mapper's samples are at most a few
per ``densify_step``, so m is bounded by the configuration (about 6 sigma / densify_step
times a small constant) and smoothing a mapped stroke is linear in its length."""

from __future__ import annotations

import numpy as np

#: Weights beyond this many sigma are dropped.
TRUNCATE_SIGMAS = 3.0
#: (point, neighbour) pairs processed at once: bounds the working memory.
CHUNK_ENTRIES = 200_000
#: A smoothed normal shorter than this before renormalising (the local fit degenerates,
#: e.g. neighbouring normals pointing apart) keeps the input normal.
MIN_NORMAL_NORM = 1e-6


def _arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length (N, m) of the polyline through ``points``."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _windows(s: np.ndarray, lo: np.ndarray, hi: np.ndarray, sigma: float, rows: slice):
    """For the points ``rows``: neighbour indices (R x M), arc-length offsets (R x M, m)
    and Gaussian weights (R x M, 0 outside the window [lo, hi))."""
    lo, hi = lo[rows], hi[rows]
    idx = lo[:, None] + np.arange(int((hi - lo).max()))[None, :]
    inside = idx < hi[:, None]
    idx = np.minimum(idx, len(s) - 1)
    d = s[idx] - s[rows, None]
    with np.errstate(over="ignore"):  # a tiny sigma: far neighbours weigh exp(-inf) = 0
        w = np.exp(-0.5 * (d / sigma) ** 2)
    return idx, d, np.where(inside, w, 0.0)


def _local_poly(values: np.ndarray, idx, d, w, degree: int) -> np.ndarray:
    """Value at offset 0 of a weighted polynomial fit (``degree``) of ``values`` (N x k)
    over each window."""
    powers = np.stack([d**j for j in range(degree + 1)], axis=2)  # R x M x (deg+1)
    pw = powers * w[..., None]
    normal = pw.transpose(0, 2, 1) @ powers  # R x (deg+1) x (deg+1)
    normal += 1e-12 * np.trace(normal, axis1=1, axis2=2)[:, None, None] * np.eye(degree + 1)
    rhs = pw.transpose(0, 2, 1) @ values[idx]  # R x (deg+1) x k
    return np.linalg.solve(normal, rhs)[:, 0, :]


def smooth_along_rays(
    points: np.ndarray, normals: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame points (N x 3, m; camera at the origin, z > 0) moved along their lines
    of sight and unit normals turned, smoothed along the path with a Gaussian of ``sigma``
    (m) in arc length; ``sigma <= 0`` or fewer than 5 points returns copies. Where a local
    fit degenerates (a range not positive, a normal of near-zero length) the input is
    kept."""
    if sigma <= 0.0 or len(points) < 5:
        return points.copy(), normals.copy()
    s = _arc_length(points)
    half = TRUNCATE_SIGMAS * sigma
    lo = np.searchsorted(s, s - half, side="left")
    hi = np.searchsorted(s, s + half, side="right")
    rng = np.linalg.norm(points, axis=1)
    rng_s = np.empty_like(rng)
    out_n = np.empty_like(normals)
    rows_per_chunk = max(1, CHUNK_ENTRIES // int((hi - lo).max()))
    for a in range(0, len(points), rows_per_chunk):
        rows = slice(a, min(a + rows_per_chunk, len(points)))
        idx, d, w = _windows(s, lo, hi, sigma, rows)
        rng_s[rows] = _local_poly(rng[:, None], idx, d, w, degree=2)[:, 0]
        out_n[rows] = _local_poly(normals, idx, d, w, degree=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rng_s / rng
    keep_p = ~(np.isfinite(ratio) & (ratio > 0.0))
    ratio[keep_p] = 1.0
    out_p = points * ratio[:, None]
    norm = np.linalg.norm(out_n, axis=1)
    keep_n = ~(np.isfinite(norm) & (norm > MIN_NORMAL_NORM))
    out_n[keep_n] = normals[keep_n]
    norm[keep_n] = np.linalg.norm(normals[keep_n], axis=1)
    out_n /= norm[:, None]
    return out_p, out_n
