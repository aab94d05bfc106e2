"""Exact geometry of the simulated patient phantom: a cylinder segment of radius R lying
along the base y axis, its curved top ``height`` above the bed. This is the ground truth
that perception, planning and control benchmarks are measured against. Pure numpy.

Angles: ``theta`` is measured from the top of the body towards +x (rad); the skin spans
|theta| <= theta_max where it meets the bed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import BedConfig, PhantomConfig


@dataclass(frozen=True)
class PhantomGeometry:
    """The phantom's skin surface in the base frame (metres)."""

    center_x: float
    center_y: float
    axis_z: float  # height of the cylinder axis (below the bed top)
    radius: float
    length: float
    bed_z: float

    @classmethod
    def from_config(cls, phantom: PhantomConfig, bed: BedConfig) -> PhantomGeometry:
        """Geometry of the configured phantom lying on the configured bed."""
        return cls(
            center_x=phantom.center_xy[0],
            center_y=phantom.center_xy[1],
            axis_z=bed.top_z + phantom.height - phantom.radius,
            radius=phantom.radius,
            length=phantom.length,
            bed_z=bed.top_z,
        )

    @property
    def top_z(self) -> float:
        """Height of the highest skin point (m)."""
        return self.axis_z + self.radius

    @property
    def theta_max(self) -> float:
        """Largest |theta| of the skin, where it meets the bed (rad)."""
        c = np.clip((self.bed_z - self.axis_z) / self.radius, -1.0, 1.0)
        return float(np.arccos(c))

    @property
    def width(self) -> float:
        """Width of the body at the bed surface (m)."""
        return 2.0 * self.radius * np.sin(self.theta_max)

    def surface_point(
        self, theta: np.ndarray | float, y: np.ndarray | float, dz: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Skin points and outward normals (..., 3) at angle ``theta`` (rad) and axial
        position ``y`` (m, base frame); ``dz`` shifts the body vertically (breathing)."""
        theta, y = np.broadcast_arrays(np.asarray(theta, float), np.asarray(y, float))
        s, c = np.sin(theta), np.cos(theta)
        n = np.stack([s, np.zeros_like(s), c], axis=-1)
        p = np.stack(
            [self.center_x + self.radius * s, y, self.axis_z + dz + self.radius * c], axis=-1
        )
        return p, n

    def closest_point(self, points: np.ndarray, dz: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Closest skin point and its outward normal for each query point (N x 3 or 3,
        metres). Queries beyond the ends or the bed line map to the skin's boundary."""
        p = np.asarray(points, dtype=float)
        dx = p[..., 0] - self.center_x
        dzq = p[..., 2] - (self.axis_z + dz)
        theta = np.arctan2(dx, dzq)
        tm = self.theta_max
        theta = np.clip(theta, -tm, tm)
        half = 0.5 * self.length
        y = np.clip(p[..., 1], self.center_y - half, self.center_y + half)
        return self.surface_point(theta, y, dz)

    def signed_distance(self, points: np.ndarray, dz: float = 0.0) -> np.ndarray:
        """Radial distance from the skin (m): positive outside the body, negative inside.
        Valid over the curved skin (within the body's length)."""
        p = np.asarray(points, dtype=float)
        r = np.hypot(p[..., 0] - self.center_x, p[..., 2] - (self.axis_z + dz))
        return r - self.radius

    def over_skin(self, points: np.ndarray, dz: float = 0.0) -> np.ndarray:
        """True where a point (..., 3, m) lies radially over the skin: within the body's
        length and at |theta| <= ``theta_max`` about the (``dz``-shifted) axis."""
        p = np.asarray(points, dtype=float)
        theta = np.arctan2(p[..., 0] - self.center_x, p[..., 2] - (self.axis_z + dz))
        along = np.abs(p[..., 1] - self.center_y) <= 0.5 * self.length
        return along & (np.abs(theta) <= self.theta_max)

    def ray_entry(self, origins: np.ndarray, directions: np.ndarray, dz: float = 0.0):
        """Ray parameter t (origin + t * direction, N x 3 each) where each ray enters the
        skin's cylinder (the near intersection; negative when the origin is inside); 0
        where a ray misses it or runs along the axis."""
        o = np.asarray(origins, dtype=float)
        d = np.asarray(directions, dtype=float)
        ox, oz = o[..., 0] - self.center_x, o[..., 2] - (self.axis_z + dz)
        dx, dzd = d[..., 0], d[..., 2]
        a = dx * dx + dzd * dzd
        b = ox * dx + oz * dzd
        c = ox * ox + oz * oz - self.radius**2
        disc = b * b - a * c
        hit = (disc >= 0) & (a > 1e-12)
        return np.where(hit, (-b - np.sqrt(np.maximum(disc, 0))) / np.maximum(a, 1e-12), 0.0)

    def height_at(self, x: np.ndarray | float, y: np.ndarray | float, dz: float = 0.0):
        """Skin height z (m) above base point (x, y); NaN where (x, y) is off the body."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        u = x - self.center_x
        inside = (np.abs(u) <= self.width / 2) & (np.abs(y - self.center_y) <= self.length / 2)
        z = self.axis_z + dz + np.sqrt(np.maximum(self.radius**2 - u**2, 0.0))
        return np.where(inside, z, np.nan)
