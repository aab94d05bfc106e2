"""The labelled 3D phantom volume: analytic tissue layers and structures laid out in the
pybullet phantom's coordinates (robot base frame, metres), so every point the beam samples
has an exact tissue label. Pure numpy.

Layers follow the skin (depth ``d`` below it, the geometry's ``depth_field``: exact for the
cylinder): skin, subcutaneous fat, muscle, a deeper organ. Embedded structures: two vessels
(anechoic tubes roughly along the body axis), one hyperechoic lesion, and the geometry's
ribs (bone bars bent along the skin, across the body: one on the cylinder, the rib region
of the torso) that shadow what lies below them; the same ribs make the tissue stiff
(``sim.lens_contact``). The bed (below ``bed_z``) is a strong reflector. Breathing shifts
the whole body by ``dz``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.phantom_geometry import CYLINDER_RIB, PhantomGeometry
from sim.ultrasound.tissue import Tissue

#: Skin thickness (m).
SKIN_THICKNESS = 0.002
#: Mean subcutaneous fat thickness (m) and its variation along the body axis (m).
FAT_THICKNESS = 0.012
FAT_VARIATION = 0.003
#: Depth below the skin where the organ (liver-like) tissue starts (m).
ORGAN_DEPTH = 0.045


@dataclass(frozen=True)
class Tube:
    """A straight vessel: centre line through the point at skin angle ``theta`` (rad), body
    axis position ``y`` (m, relative to the phantom centre) and ``depth`` (m) below the
    skin, yawed by ``yaw`` (rad) from the body axis; ``radius`` (m)."""

    theta: float
    y: float
    depth: float
    radius: float
    yaw: float


@dataclass(frozen=True)
class Ball:
    """A spherical structure at skin angle ``theta`` (rad), axial ``y`` (m, relative to the
    phantom centre) and ``depth`` (m) below the skin; ``radius`` (m)."""

    theta: float
    y: float
    depth: float
    radius: float


#: The two vessels (different depths, slightly yawed off the body axis).
VESSELS = (
    Tube(theta=0.10, y=0.0, depth=0.022, radius=0.004, yaw=0.05),
    Tube(theta=-0.12, y=0.0, depth=0.036, radius=0.0055, yaw=-0.04),
)
#: The hyperechoic lesion.
LESION = Ball(theta=0.02, y=0.07, depth=0.030, radius=0.006)
#: The cylinder's rib (each shape's ribs: ``PhantomGeometry.ribs``).
RIB = CYLINDER_RIB


class PhantomVolume:
    """Tissue labels at any base-frame point of the simulated patient."""

    def __init__(self, geometry: PhantomGeometry) -> None:
        self.geometry = geometry
        g = geometry
        self._tubes = []
        for v in VESSELS:
            p0, n = g.surface_point(v.theta, g.center_y + v.y)
            p0 = p0 - v.depth * n
            u = np.array([np.sin(v.yaw), np.cos(v.yaw), 0.0])
            self._tubes.append((p0.astype(np.float32), u.astype(np.float32), v.radius))
        c, n = g.surface_point(LESION.theta, g.center_y + LESION.y)
        self._lesion = ((c - LESION.depth * n).astype(np.float32), LESION.radius)

    def vessel_lines(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Each vessel's exact centre line: a point on it (base frame, m, no breathing
        shift), its unit direction and the vessel's radius (m)."""
        return [(p0.astype(float), u.astype(float), float(r)) for p0, u, r in self._tubes]

    def labels(self, points: np.ndarray, dz: float = 0.0) -> np.ndarray:
        """Tissue label (uint8, ``Tissue`` values) at each point (..., 3) in the base frame
        (m); ``dz`` is the breathing shift of the body (m, up)."""
        p = np.asarray(points, dtype=np.float32)
        return self.labels_xyz(p[..., 0], p[..., 1], p[..., 2], dz)

    def labels_xyz(
        self, px: np.ndarray, py: np.ndarray, pz: np.ndarray, dz: float = 0.0
    ) -> np.ndarray:
        """``labels`` for points given as coordinate arrays (float32, same shape, m)."""
        g = self.geometry
        f32 = np.float32
        y = py - f32(g.center_y)
        zs = pz - f32(dz)  # body coordinates (breathing removed)
        d = g.depth_field(px, py, pz, dz)
        inside = (d >= 0) & (np.abs(y) <= f32(0.5 * g.length)) & (pz >= f32(g.bed_z))

        fat = f32(FAT_THICKNESS) + f32(FAT_VARIATION) * np.sin(y * f32(2 * np.pi / 0.25))
        lab = np.full(d.shape, Tissue.MUSCLE, dtype=np.uint8)
        lab[d > ORGAN_DEPTH] = Tissue.ORGAN
        lab[d < fat] = Tissue.FAT
        lab[d < SKIN_THICKNESS] = Tissue.SKIN

        for p0, u, radius in self._tubes:
            vx, vy, vz = px - p0[0], py - p0[1], zs - p0[2]
            along = vx * u[0] + vy * u[1] + vz * u[2]
            dist2 = vx * vx + vy * vy + vz * vz - along * along
            lab[dist2 < f32(radius * radius)] = Tissue.VESSEL
        c, radius = self._lesion
        vx, vy, vz = px - c[0], py - c[1], zs - c[2]
        lab[vx * vx + vy * vy + vz * vz < f32(radius * radius)] = Tissue.LESION
        for rib in g.ribs:
            bone = (y - f32(rib.y)) ** 2 + (d - f32(rib.depth)) ** 2
            lab[bone < f32(rib.radius**2)] = Tissue.BONE

        lab[~inside] = Tissue.AIR
        lab[pz < f32(g.bed_z)] = Tissue.BED
        return lab
