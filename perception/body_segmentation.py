"""Segmenting the body from the bed by geometry, for frames without a body mask: the bed is
the largest near-horizontal plane in view (RANSAC over a subsampled point cloud in the base
frame, z up); body points rise between ``min_height`` and ``max_height`` above it.

Assumes the base z axis is vertical (floor- or table-mounted arm) and the bed level within
``max_tilt``; the floor, lower than the bed, is never body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.config import BodySegmentationConfig

#: RANSAC is seeded so that the same frame always gives the same plane.
RANSAC_SEED = 20240607
#: Cap on the points RANSAC scores each hypothesis against (random subset beyond).
MAX_RANSAC_POINTS = 12000


class BedPlaneError(ValueError):
    """No bed plane could be found in the depth image."""


@dataclass(frozen=True)
class BedPlane:
    """The bed's top surface in the base frame: height(p) = normal . p + offset (m),
    ``normal`` pointing up; ``inlier_fraction`` of the searched points lie on it."""

    normal: np.ndarray
    offset: float
    inlier_fraction: float

    def height(self, points_base: np.ndarray) -> np.ndarray:
        """Height (m) of base-frame points (..., 3) above the bed plane."""
        return points_base @ self.normal + self.offset

    def in_frame(self, T_base_x: np.ndarray) -> tuple[np.ndarray, float]:
        """(normal, offset) of the plane for points given in frame x (``T_base_x`` 4x4)."""
        n = T_base_x[:3, :3].T @ self.normal
        return n, float(self.normal @ T_base_x[:3, 3] + self.offset)


def fit_bed_plane(points_base: np.ndarray, cfg: BodySegmentationConfig) -> BedPlane:
    """The largest plane within ``cfg.max_tilt`` of horizontal among base-frame points
    (N x 3, finite), refined by least squares on its inliers."""
    pts = np.asarray(points_base, dtype=np.float64)
    if len(pts) < 3:
        raise BedPlaneError(f"too few valid depth points to find the bed ({len(pts)})")
    rng = np.random.default_rng(RANSAC_SEED)
    score_pts = (
        pts if len(pts) <= MAX_RANSAC_POINTS else pts[rng.choice(len(pts), MAX_RANSAC_POINTS)]
    )
    k = cfg.ransac_iterations
    tri = rng.integers(0, len(pts), size=(k, 3))
    p0, p1, p2 = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    n = np.cross(p1 - p0, p2 - p0)
    norm = np.linalg.norm(n, axis=1)
    good = norm > 1e-9
    n = n / np.where(good, norm, 1.0)[:, None]
    n *= np.where(n[:, 2] < 0, -1.0, 1.0)[:, None]
    good &= n[:, 2] >= np.cos(cfg.max_tilt)
    if not np.any(good):
        raise BedPlaneError(
            f"no near-horizontal plane (tilt <= {np.degrees(cfg.max_tilt):.1f} deg) in view"
        )
    n, p0 = n[good], p0[good]
    d = -np.einsum("ki,ki->k", n, p0)
    counts = (np.abs(score_pts @ n.T + d) <= cfg.inlier_threshold).sum(axis=0)
    best = int(np.argmax(counts))
    normal, offset = n[best], float(d[best])
    for _ in range(2):  # least-squares refinement on the inliers
        inl = np.abs(pts @ normal + offset) <= cfg.inlier_threshold
        if inl.sum() < 3:
            break
        q = pts[inl]
        c = q.mean(axis=0)
        _, _, vt = np.linalg.svd(q - c, full_matrices=False)
        normal = vt[2] if vt[2, 2] > 0 else -vt[2]
        offset = float(-normal @ c)
    if normal[2] < np.cos(cfg.max_tilt):
        raise BedPlaneError(
            f"the largest plane in view is tilted {np.degrees(np.arccos(normal[2])):.1f} deg "
            f"from horizontal (max {np.degrees(cfg.max_tilt):.1f} deg)"
        )
    frac = float(np.mean(np.abs(pts @ normal + offset) <= cfg.inlier_threshold))
    if frac < cfg.min_bed_fraction:
        raise BedPlaneError(
            f"the largest horizontal plane covers only {100 * frac:.1f} % of the valid depth "
            f"(need {100 * cfg.min_bed_fraction:.1f} %): is the bed in view?"
        )
    return BedPlane(normal=normal, offset=offset, inlier_fraction=frac)


def body_from_height(height: np.ndarray, cfg: BodySegmentationConfig) -> np.ndarray:
    """True where a height above the bed (m) counts as body; NaN heights are not body."""
    with np.errstate(invalid="ignore"):
        return (height >= cfg.min_height) & (height <= cfg.max_height)
