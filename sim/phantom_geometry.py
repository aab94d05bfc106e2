"""Exact geometry of the simulated patient phantom: the skin surface in the base frame,
the ground truth that perception, planning, control benchmarks, the contact model and the
ultrasound simulator are measured against. Pure numpy.

A shape is chosen by ``sim.phantom.shape`` from ``PHANTOM_SHAPES``: ``cylinder`` (this
module) or ``torso`` (``sim.torso_geometry``). Every shape lies along base y with its
skin parametrised by (u, y): ``u`` runs around the body from the top (u = 0) towards +x
(for the cylinder the angle theta from the top, rad), ``y`` along the body (m, base
frame); the skin spans |u| <= ``u_max(y)`` where it meets the bed. Breathing shifts the
whole body vertically by ``dz`` (m).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from robot_us.core.registry import Registry
from sim.config import BedConfig, PhantomConfig


@dataclass(frozen=True)
class Rib:
    """A bone bar across the body at axial ``y`` (m, relative to the phantom centre),
    following the skin at ``depth`` (m, centre) with cross-section ``radius`` (m)."""

    y: float
    depth: float
    radius: float


#: The cylinder's rib: across the body 90 mm towards -y from the centre, 17 mm deep.
CYLINDER_RIB = Rib(y=-0.09, depth=0.017, radius=0.006)


@dataclass
class Projection:
    """Closest skin points (N x 3), outward unit normals (N x 3), signed distances (N,
    m: positive outside the body) and surface parameters (N x 2: u, y) of query points."""

    points: np.ndarray
    normals: np.ndarray
    distance: np.ndarray
    params: np.ndarray


class PhantomGeometry(ABC):
    """The phantom's skin surface in the base frame (metres). Attributes every shape has:
    ``center_x``, ``center_y``, ``length``, ``bed_z``, ``top_z`` (highest skin point),
    ``ribs`` (``Rib`` tuple: bone under the skin, for imaging and tissue stiffness)."""

    center_x: float
    center_y: float
    length: float
    bed_z: float
    ribs: tuple[Rib, ...]
    #: Render mesh resolution (segments around the body, segments along it).
    mesh_segments: tuple[int, int] = (360, 80)

    @staticmethod
    def from_config(phantom: PhantomConfig, bed: BedConfig) -> PhantomGeometry:
        """The configured phantom shape (``sim.phantom.shape``) lying on the bed."""
        return PHANTOM_SHAPES.create(phantom.shape, phantom, bed)

    @property
    @abstractmethod
    def top_z(self) -> float:
        """Height of the highest skin point (m)."""

    @abstractmethod
    def u_max(self, y: np.ndarray | float) -> np.ndarray:
        """Largest |u| of the skin at axial position ``y`` (m), where it meets the bed."""

    @abstractmethod
    def surface_point(
        self, u: np.ndarray | float, y: np.ndarray | float, dz: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Skin points and outward unit normals (..., 3) at surface parameter ``u`` and
        axial position ``y`` (m, base frame); ``dz`` shifts the body vertically."""

    @abstractmethod
    def project(
        self, points: np.ndarray, dz: float = 0.0, guess: np.ndarray | None = None
    ) -> Projection:
        """Closest skin points, normals, signed distances and (u, y) of query points
        (N x 3, m); ``guess`` (N x 2) the (u, y) of a nearby earlier query (warm start)."""

    @abstractmethod
    def project_one(
        self, x: float, y: float, z: float, dz: float, u0: float | None, y0: float | None
    ) -> tuple[float, ...]:
        """``project`` of one point in plain floats, for the contact model's per-step
        work: (sx, sy, sz, nx, ny, nz, distance, u, y); ``u0``, ``y0`` a warm start (the
        previous step's answer for a nearby point) or None."""

    @abstractmethod
    def ray_entry(self, origins: np.ndarray, directions: np.ndarray, dz: float = 0.0):
        """Ray parameter t (origin + t * direction, N x 3 each) where each ray enters the
        skin (the near intersection; negative when the origin is inside); 0 where a ray
        misses the body."""

    @abstractmethod
    def height_at(self, x: np.ndarray | float, y: np.ndarray | float, dz: float = 0.0):
        """Skin height z (m) above base point (x, y) (the top surface); NaN off the body."""

    @abstractmethod
    def depth_field(
        self, px: np.ndarray, py: np.ndarray, pz: np.ndarray, dz: float = 0.0
    ) -> np.ndarray:
        """Depth below the skin (float32, m, negative outside) of points given as float32
        coordinate arrays, for tissue labels: exact near the skin, may be approximate
        deep inside (docs/simulation.md)."""

    def closest_point(self, points: np.ndarray, dz: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Closest skin point and its outward normal for each query point (N x 3 or 3,
        metres). Queries beyond the ends or the bed line map to the skin's boundary."""
        q = np.asarray(points, dtype=float)
        pr = self.project(q.reshape(-1, 3), dz)
        return pr.points.reshape(q.shape), pr.normals.reshape(q.shape)

    def signed_distance(self, points: np.ndarray, dz: float = 0.0) -> np.ndarray:
        """Distance from the skin (m): positive outside the body, negative inside."""
        q = np.asarray(points, dtype=float)
        return self.project(q.reshape(-1, 3), dz).distance.reshape(q.shape[:-1])

    def over_skin(self, points: np.ndarray, dz: float = 0.0) -> np.ndarray:
        """True where a point (..., 3, m) projects onto the skin: within the body's length
        and not beyond the line where the skin meets the bed."""
        q = np.asarray(points, dtype=float)
        uv = self.project(q.reshape(-1, 3), dz).params
        u, y = uv[:, 0], uv[:, 1]
        along = np.abs(y - self.center_y) < 0.5 * self.length
        inside = along & (np.abs(u) < self.u_max(y))
        return inside.reshape(q.shape[:-1])

    def arc_per_u(self, u: float, y: float, h: float = 1e-4) -> float:
        """Skin arc length per unit of the surface parameter u at (u, y) (m): the angle's
        radius on the cylinder, the local scale of the normalised u on the torso."""
        a, _ = self.surface_point(u - h, y)
        b, _ = self.surface_point(u + h, y)
        return float(np.linalg.norm(b - a) / (2 * h))

    def rib_weight(self, y: np.ndarray) -> np.ndarray:
        """How much of a rib lies under skin points at axial ``y`` (m, base frame): 1 over
        a rib, falling off over the soft tissue around it (Gaussian over the rib's radius
        + depth), 0 far from ribs (the tissue stiffness map, docs/simulation.md)."""
        w = np.zeros(np.shape(y))
        for rib in self.ribs:
            s = 0.5 * (rib.radius + rib.depth)
            np.maximum(w, np.exp(-0.5 * ((y - self.center_y - rib.y) / s) ** 2), out=w)
        return w

    def visual_mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render mesh of the skin above the bed and the two end caps: vertices,
        triangle indices and vertex normals, relative to (center_x, center_y, 0)."""
        n_u, n_y = self.mesh_segments
        ys = self.center_y + np.linspace(-0.5, 0.5, n_y + 1) * self.length
        s = np.linspace(-1.0, 1.0, n_u + 1)
        um = self.u_max(ys)
        U = s[None, :] * um[:, None]
        Y = np.broadcast_to(ys[:, None], U.shape)
        P, N = self.surface_point(U, Y)
        off = np.array([self.center_x, self.center_y, 0.0])
        verts = [(P - off).reshape(-1, 3)]
        normals = [N.reshape(-1, 3)]
        cols = n_u + 1
        i = np.arange(n_y)[:, None] * cols + np.arange(n_u)[None, :]
        idx = [np.stack([i, i + 1, i + cols], -1), np.stack([i + 1, i + 1 + cols, i + cols], -1)]
        start = cols * (n_y + 1)
        for row, sign in ((0, -1.0), (n_y, 1.0)):  # end caps: fans from the bed centre
            ring = P[row] - off
            centre = np.array([[0.0, ys[row] - self.center_y, self.bed_z]])
            verts += [centre, ring]
            normals.append(np.tile([0.0, sign, 0.0], (cols + 1, 1)))
            k = np.arange(n_u)
            tri = np.stack([np.full(n_u, start), start + 1 + k, start + 2 + k], -1)
            idx.append(tri if sign > 0 else tri[:, [0, 2, 1]])
            start += cols + 1
        faces = np.concatenate([f.reshape(-1, 3) for f in idx]).astype(np.int64)
        return np.concatenate(verts), faces, np.concatenate(normals)


@dataclass(frozen=True)
class CylinderGeometry(PhantomGeometry):
    """A cylinder segment of radius ``radius`` lying along base y, axis ``axis_z`` (below
    the bed top), so only its top ``radius - (bed_z - axis_z)`` protrudes. u = theta, the
    angle from the top towards +x (rad)."""

    center_x: float
    center_y: float
    axis_z: float  # height of the cylinder axis (below the bed top)
    radius: float
    length: float
    bed_z: float
    ribs: tuple[Rib, ...] = (CYLINDER_RIB,)
    mesh_segments: tuple[int, int] = (720, 1)

    @classmethod
    def from_phantom(cls, phantom: PhantomConfig, bed: BedConfig) -> CylinderGeometry:
        """The configured cylinder lying on the configured bed."""
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

    @cached_property
    def theta_max(self) -> float:
        """Largest |theta| of the skin, where it meets the bed (rad)."""
        c = (self.bed_z - self.axis_z) / self.radius
        return math.acos(-1.0 if c < -1.0 else 1.0 if c > 1.0 else c)

    def u_max(self, y: np.ndarray | float) -> np.ndarray:
        """``theta_max`` at every ``y`` (rad)."""
        return np.full(np.shape(y), self.theta_max)

    @property
    def width(self) -> float:
        """Width of the body at the bed surface (m)."""
        return 2.0 * self.radius * np.sin(self.theta_max)

    def surface_point(
        self, u: np.ndarray | float, y: np.ndarray | float, dz: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Skin points and outward normals (..., 3) at angle ``u`` = theta (rad) and axial
        position ``y`` (m, base frame); ``dz`` shifts the body vertically (breathing)."""
        theta, y = np.broadcast_arrays(np.asarray(u, float), np.asarray(y, float))
        s, c = np.sin(theta), np.cos(theta)
        n = np.stack([s, np.zeros_like(s), c], axis=-1)
        p = np.stack(
            [self.center_x + self.radius * s, y, self.axis_z + dz + self.radius * c], axis=-1
        )
        return p, n

    def project(
        self, points: np.ndarray, dz: float = 0.0, guess: np.ndarray | None = None
    ) -> Projection:
        """Closed form: the radial projection, theta clipped to the skin and y to the
        body's length; the distance is radial (exact over the curved skin)."""
        p = np.asarray(points, dtype=float)
        dx = p[:, 0] - self.center_x
        dzq = p[:, 2] - (self.axis_z + dz)
        tm = self.theta_max
        theta = np.clip(np.arctan2(dx, dzq), -tm, tm)
        half = 0.5 * self.length
        y = np.clip(p[:, 1], self.center_y - half, self.center_y + half)
        sp, n = self.surface_point(theta, y, dz)
        dist = np.hypot(dx, dzq) - self.radius
        return Projection(sp, n, dist, np.stack([theta, y], axis=-1))

    def project_one(
        self, x: float, y: float, z: float, dz: float, u0: float | None, y0: float | None
    ) -> tuple[float, ...]:
        """``project`` of one point in plain floats (closed form; no warm start needed)."""
        dx = x - self.center_x
        dzq = z - (self.axis_z + dz)
        tm = self.theta_max
        theta = math.atan2(dx, dzq)
        theta = -tm if theta < -tm else tm if theta > tm else theta
        half = 0.5 * self.length
        lo, hi = self.center_y - half, self.center_y + half
        yy = lo if y < lo else hi if y > hi else y
        s, c = math.sin(theta), math.cos(theta)
        r = self.radius
        dist = math.hypot(dx, dzq) - r
        return (self.center_x + r * s, yy, self.axis_z + dz + r * c, s, 0.0, c, dist, theta, yy)

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
        """Ray parameter t where each ray enters the skin's cylinder (the near
        intersection; negative when the origin is inside); 0 where a ray misses it or
        runs along the axis."""
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

    def depth_field(
        self, px: np.ndarray, py: np.ndarray, pz: np.ndarray, dz: float = 0.0
    ) -> np.ndarray:
        """Exact depth below the skin: radius minus the distance from the axis (float32)."""
        f32 = np.float32
        x = px - f32(self.center_x)
        z = pz - f32(dz) - f32(self.axis_z)
        return f32(self.radius) - np.sqrt(x * x + z * z)


#: Phantom shapes by ``sim.phantom.shape``: ``factory(phantom, bed) -> PhantomGeometry``.
PHANTOM_SHAPES: Registry[PhantomGeometry] = Registry("phantom shape")
PHANTOM_SHAPES.register("cylinder", CylinderGeometry.from_phantom)
PHANTOM_SHAPES.register("torso", "sim.torso_geometry:torso_from_config")
