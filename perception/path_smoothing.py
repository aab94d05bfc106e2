"""Smoothing of a mapped path along its arc length, below the scale the local fits
resolve: every point stays on its line of sight (the operator's pixel) and only its
distance from the camera is smoothed, by a local quadratic regression against arc length;
normals by a local linear regression. Gaussian weights (sigma in metres, truncated at 3
sigma). Both regressions are unbiased where the surface curves steadily (a cylinder, an
arc), also at the path's ends; they remove the anchor-to-anchor jitter (0.1 mm along the
rays, a few degrees of path direction per millimetre) that would make the probe wobble."""

from __future__ import annotations

import numpy as np

#: Weights beyond this many sigma are dropped.
TRUNCATE_SIGMAS = 3.0


def _windows(points: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour indices (N x M), arc-length offsets (N x M, m) and weights (N x M)."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    half = TRUNCATE_SIGMAS * sigma
    lo = np.searchsorted(s, s - half, side="left")
    hi = np.searchsorted(s, s + half, side="right")
    idx = lo[:, None] + np.arange(int((hi - lo).max()))[None, :]
    inside = idx < hi[:, None]
    idx = np.minimum(idx, len(s) - 1)
    d = s[idx] - s[:, None]
    return idx, d, np.where(inside, np.exp(-0.5 * (d / sigma) ** 2), 0.0)


def _local_poly(values: np.ndarray, idx, d, w, degree: int) -> np.ndarray:
    """Value at offset 0 of a weighted polynomial fit (``degree``) of ``values`` (N x k)
    over each window."""
    powers = np.stack([d**j for j in range(degree + 1)], axis=2)  # N x M x (deg+1)
    pw = powers * w[..., None]
    normal = pw.transpose(0, 2, 1) @ powers  # N x (deg+1) x (deg+1)
    normal += 1e-12 * np.trace(normal, axis1=1, axis2=2)[:, None, None] * np.eye(degree + 1)
    rhs = pw.transpose(0, 2, 1) @ values[idx]  # N x (deg+1) x k
    return np.linalg.solve(normal, rhs)[:, 0, :]


def smooth_path(
    points: np.ndarray, normals: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame points (N x 3, m; camera at the origin) and unit normals smoothed along
    the path with a Gaussian of ``sigma`` (m) in arc length; ``sigma <= 0`` or fewer than 5
    points returns copies."""
    if sigma <= 0.0 or len(points) < 5:
        return points.copy(), normals.copy()
    idx, d, w = _windows(points, sigma)
    rng = np.linalg.norm(points, axis=1)
    rng_s = _local_poly(rng[:, None], idx, d, w, degree=2)[:, 0]
    out_p = points * (rng_s / rng)[:, None]
    out_n = _local_poly(normals, idx, d, w, degree=1)
    out_n /= np.linalg.norm(out_n, axis=1, keepdims=True)
    return out_p, out_n
