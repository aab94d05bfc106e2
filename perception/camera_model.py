"""Pinhole camera with OpenCV conventions: pixels (u column, v row, origin at the centre of
the top-left pixel), camera frame x right, y down, z along the optical axis, distortion in
OpenCV order (k1 k2 p1 p2 [k3 [k4 k5 k6 [s1 s2 s3 s4 [tx ty]]]])."""

from __future__ import annotations

import cv2
import numpy as np

from robot_us.core.types import CameraIntrinsics

#: Distortion vector lengths OpenCV accepts.
DIST_LENGTHS = (0, 4, 5, 8, 12, 14)


class CameraModelError(ValueError):
    """Intrinsics that no camera can have (bad shapes, non-positive focal lengths)."""


class CameraModel:
    """Projection and back-projection for one camera; pixel ray maps are cached."""

    def __init__(self, intrinsics: CameraIntrinsics) -> None:
        K = np.asarray(intrinsics.K, dtype=np.float64)
        if K.shape != (3, 3) or not np.all(np.isfinite(K)):
            raise CameraModelError(f"camera matrix K must be a finite 3x3 matrix, got {K.shape}")
        if K[0, 0] <= 0 or K[1, 1] <= 0 or abs(K[2, 2] - 1.0) > 1e-9:
            raise CameraModelError(
                f"camera matrix K needs fx, fy > 0 and K[2,2] = 1, got fx={K[0, 0]}, "
                f"fy={K[1, 1]}, K[2,2]={K[2, 2]}"
            )
        dist = np.asarray(intrinsics.dist if intrinsics.dist is not None else [], np.float64)
        dist = dist.ravel()
        if dist.size not in DIST_LENGTHS or not np.all(np.isfinite(dist)):
            raise CameraModelError(
                f"distortion must have one of {DIST_LENGTHS} finite coefficients, got {dist.size}"
            )
        if intrinsics.width <= 0 or intrinsics.height <= 0:
            raise CameraModelError(
                f"image size must be positive, got {intrinsics.width} x {intrinsics.height}"
            )
        self.width = int(intrinsics.width)
        self.height = int(intrinsics.height)
        self.K = K
        self.dist = dist
        self.has_distortion = bool(np.any(dist != 0.0))
        self._ray_map: np.ndarray | None = None

    @property
    def fx(self) -> float:
        """Focal length along u (px)."""
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        """Focal length along v (px)."""
        return float(self.K[1, 1])

    def in_image(self, px: np.ndarray) -> np.ndarray:
        """True for pixels (N x 2, u v) inside the image: 0 <= u <= W-1, 0 <= v <= H-1."""
        px = np.asarray(px, dtype=np.float64)
        u, v = px[..., 0], px[..., 1]
        return (u >= 0.0) & (u <= self.width - 1) & (v >= 0.0) & (v <= self.height - 1)

    def normalized(self, px: np.ndarray) -> np.ndarray:
        """Undistorted normalised image coordinates (N x 2: x/z, y/z) of pixels (N x 2)."""
        px = np.asarray(px, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion:
            return np.stack(
                [(px[:, 0] - self.K[0, 2]) / self.fx, (px[:, 1] - self.K[1, 2]) / self.fy],
                axis=1,
            )
        out = cv2.undistortPointsIter(
            px.reshape(-1, 1, 2),
            self.K,
            self.dist,
            None,
            None,
            (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-10),
        )
        return out.reshape(-1, 2)

    def rays(self, px: np.ndarray) -> np.ndarray:
        """Ray directions (N x 3, z = 1) through pixels (N x 2): a point at depth Z along the
        optical axis is ``Z * ray``."""
        xn = self.normalized(px)
        return np.column_stack([xn, np.ones(len(xn))])

    def ray_map(self) -> np.ndarray:
        """Normalised coordinates (H x W x 2: x/z, y/z) of every pixel centre; cached."""
        if self._ray_map is None:
            u, v = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height))
            px = np.stack([u.ravel(), v.ravel()], axis=1)
            self._ray_map = self.normalized(px).reshape(self.height, self.width, 2)
        return self._ray_map

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels (N x 2) of camera-frame points (N x 3, metres, z > 0), with distortion."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if not self.has_distortion:
            x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
            return np.stack([self.fx * x + self.K[0, 2], self.fy * y + self.K[1, 2]], axis=1)
        out, _ = cv2.projectPoints(p, np.zeros(3), np.zeros(3), self.K, self.dist)
        return out.reshape(-1, 2)
