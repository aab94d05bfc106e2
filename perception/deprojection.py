"""Depth deprojection: depth images (metres along the optical axis, 0 or NaN invalid) to
camera-frame points, with an explicit validity mask."""

from __future__ import annotations

import numpy as np

from perception.camera_model import CameraModel

#: Largest deviation of a rotation from orthonormal accepted in a rigid transform.
ORTHONORMAL_TOL = 1e-5


def valid_depth(depth: np.ndarray, depth_min: float, depth_max: float) -> np.ndarray:
    """True where ``depth`` (m) is finite and within [depth_min, depth_max]."""
    d = np.asarray(depth)
    with np.errstate(invalid="ignore"):
        return np.isfinite(d) & (d >= depth_min) & (d <= depth_max) & (d > 0.0)


def deproject_pixels(
    camera: CameraModel, depth: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Camera-frame points (..., 3, metres) of integer pixels (``rows``, ``cols`` of equal
    shape, inside the image); invalid depth gives NaN coordinates."""
    rays = camera.ray_map()[rows, cols]
    z = np.asarray(depth)[rows, cols].astype(np.float64)
    return np.stack([rays[..., 0] * z, rays[..., 1] * z, z], axis=-1)


def is_rigid(T: np.ndarray) -> bool:
    """True when the 4x4 ``T`` is a rigid transform: orthonormal rotation (within
    ``ORTHONORMAL_TOL``) with determinant +1, last row [0, 0, 0, 1]."""
    R = T[:3, :3]
    return bool(
        np.abs(R.T @ R - np.eye(3)).max() <= ORTHONORMAL_TOL
        and np.linalg.det(R) > 0
        and np.abs(T[3] - [0, 0, 0, 1]).max() <= 1e-9
    )


def transform_points(T_a_b: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 3) from frame b into frame a with the 4x4 ``T_a_b``."""
    return points @ T_a_b[:3, :3].T + T_a_b[:3, 3]


def transform_vectors(T_a_b: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Directions (..., 3) from frame b into frame a (rotation only)."""
    return vectors @ T_a_b[:3, :3].T
