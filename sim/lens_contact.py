"""The probe/tissue contact, computed from the exact phantom geometry and applied to the
probe link as an external wrench before each physics step (pybullet's own contact is not
used for tissue: its soft contact is one linear spring per manifold point on primitive
shapes only).

The lens is a swept sphere: a linear probe's capsule (a segment along the array) or a
convex probe's torus section (an arc), radius = half the elevation thickness. It is
sampled at ``LENS_POINTS`` sphere centres along its axis; each sphere's indentation into
the skin is d_i = r - (distance of its centre from the skin), along the skin normal at the
centre's closest skin point.

- ``sim.tissue.pressure = "deepest"``: one contact at the deepest point along the lens
  (sub-sample by a parabola through the deepest sample and its neighbours), force = the
  law at that indentation: what a rigid-body engine's single contact point does.
- ``"distributed"``: a Winkler bed along the lens: each sample carries 1/N of the law at
  its own indentation along its own normal, so a flat-on contact gives the law, a rolled
  or tilted lens gives less force and a moment about the probe's axes.

The law at each point is ``sim.tissue_law.TissueLaw`` with the local stiffness
(``sim.phantom.stiffness``, rising to ``sim.tissue.rib_stiffness`` over the ribs).
Friction: an elastic-plastic bristle (Dahl) at the centre of pressure: the skin stretches
with the probe up to ``presliding``, where the tangential force reaches mu F_n (Coulomb),
plus ``viscous_friction`` times the sliding speed.

Real-time contract: ``step`` runs once per physics step on plain floats and preallocated
state; it allocates only the floats and tuples of its arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from sim.tissue_law import PointState, TissueLaw

#: Sphere centres sampled along the lens axis.
LENS_POINTS = 7
#: Above the skin's top by more than this (m), the lens is not in contact: skip the work.
CLEARANCE = 0.003
#: Sample depths within this of the deepest count as equally deep (m).
TIE = 1e-6


class LensContact:
    """Per-step contact wrench of the lens on the phantom (module docstring)."""

    def __init__(self, geometry, tool, phantom, tissue, dt: float) -> None:
        """``geometry``: the phantom (``PhantomGeometry``); ``tool``: ``ProbeTool``;
        ``phantom``, ``tissue``: ``sim.phantom`` and ``sim.tissue`` config; ``dt`` (s)."""
        self.geometry = geometry
        self.dt = float(dt)
        self.radius = tool.lens_radius
        self.axis = lens_axis(tool, LENS_POINTS)  # link frame, N x 3
        self._axis = [tuple(float(v) for v in row) for row in self.axis]
        self.law = TissueLaw(tissue, phantom.damping, dt)
        self.stiffness = float(phantom.stiffness)
        self.rib_extra = max(0.0, float(tissue.rib_stiffness) - self.stiffness)
        self._ribs = [
            (geometry.center_y + rib.y, 0.5 * (rib.radius + rib.depth)) for rib in geometry.ribs
        ]
        self.mu = float(phantom.lateral_friction)
        self.viscous = float(tissue.viscous_friction)
        self.presliding = float(tissue.presliding)
        self.distributed = tissue.pressure == "distributed"
        self._top = float(geometry.top_z)
        n = LENS_POINTS
        self._states = [PointState() for _ in range(n + 1)]  # last one: the deepest point
        self._guess: list[tuple[float, float] | None] = [None] * n
        self._bristle = [0.0, 0.0, 0.0]
        self._cop_link: tuple[float, float, float] | None = None
        self._prev_pose: tuple | None = None
        # ground truth of the last step
        self.normal_force = 0.0
        self.tangential = [0.0, 0.0, 0.0]
        self.points: list[tuple] = []  # (skin point, normal, force, depth) per contact
        self.wrench = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # force, torque about base origin

    def reset(self) -> None:
        """Forget the contact history (the arm was teleported)."""
        for st in self._states:
            st.reset()
        self._guess = [None] * LENS_POINTS
        self._bristle = [0.0, 0.0, 0.0]
        self._cop_link = None
        self._prev_pose = None
        self.normal_force = 0.0
        self.tangential = [0.0, 0.0, 0.0]
        self.points = []
        self.wrench = (0.0,) * 6

    def local_stiffness(self, y: float) -> float:
        """Stiffness (N/m, at the reference force) of the tissue at axial ``y`` (m)."""
        if self.rib_extra == 0.0:
            return self.stiffness
        w = 0.0  # as PhantomGeometry.rib_weight, in floats
        for yr, s in self._ribs:
            w = max(w, math.exp(-0.5 * ((y - yr) / s) ** 2))
        return self.stiffness + self.rib_extra * w

    def step(self, pos, rot, dz: float, dz_rate: float) -> tuple | None:
        """Contact for the link at ``pos`` (3) with rotation ``rot`` (row-major 9-tuple,
        base frame) on the body shifted by ``dz`` (m) moving at ``dz_rate`` (m/s): returns
        (force, point, torque) to apply (base frame; torque about the point), or None."""
        px, py, pz = pos
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = rot
        g = self.geometry
        r = self.radius
        centres = [
            (
                px + r00 * ax + r01 * ay + r02 * az,
                py + r10 * ax + r11 * ay + r12 * az,
                pz + r20 * ax + r21 * ay + r22 * az,
            )
            for ax, ay, az in self._axis
        ]
        if min(c[2] for c in centres) - r > self._top + dz + CLEARANCE:
            for st in self._states:
                self.law.release(st)
            self._guess = [None] * LENS_POINTS  # the probe may be anywhere when it returns
            self._release(pos, rot)
            return None
        proj = []
        for i, (cx, cy, cz) in enumerate(centres):
            guess = self._guess[i]
            pr = g.project_one(cx, cy, cz, dz, *(guess if guess else (None, None)))
            self._guess[i] = (pr[7], pr[8])
            proj.append(pr)
        depths = [r - pr[6] for pr in proj]
        if self.distributed:
            contacts = self._distributed(depths, proj)
        else:
            contacts = self._deepest(depths, proj)
        self.points = contacts
        if not contacts:
            self._release(pos, rot)
            return None
        return self._wrench(contacts, pos, rot, dz_rate)

    def _distributed(self, depths, proj) -> list[tuple]:
        law, states, w = self.law, self._states, 1.0 / LENS_POINTS
        out = []
        for i, (d, pr) in enumerate(zip(depths, proj, strict=True)):
            f = law.step(states[i], d, self.local_stiffness(pr[1])) * w
            if f > 0.0:
                out.append(((pr[0], pr[1], pr[2]), (pr[3], pr[4], pr[5]), f, d))
        return out

    def _deepest(self, depths, proj) -> list[tuple]:
        deepest = max(depths)
        mid = 0.5 * (LENS_POINTS - 1)  # of (nearly) equal depths, the one nearest the middle
        i = min(
            (k for k in range(LENS_POINTS) if depths[k] > deepest - TIE),
            key=lambda k: abs(k - mid),
        )
        d, pr = depths[i], proj[i]
        if 0 < i < LENS_POINTS - 1:  # parabola through the deepest sample and its neighbours
            a, c = depths[i - 1], depths[i + 1]
            curv = a - 2.0 * d + c
            if d >= a and d >= c and curv < 0.0:  # vertex within +-1 sample: bounded
                d -= 0.125 * (a - c) ** 2 / curv
        f = self.law.step(self._states[LENS_POINTS], d, self.local_stiffness(pr[1]))
        return [((pr[0], pr[1], pr[2]), (pr[3], pr[4], pr[5]), f, d)] if f > 0.0 else []

    def _wrench(self, contacts, pos, rot, dz_rate: float) -> tuple:
        fn = sum(c[2] for c in contacts)
        # normal force, the lens points under pressure (sphere surface facing the skin)
        fx = fy = fz = cpx = cpy = cpz = 0.0
        lens = []
        for (sx, sy, sz), (nx, ny, nz), f, d in contacts:
            h = 0.5 * d  # the middle of the overlap between lens and undeformed skin
            lx, ly, lz = sx - h * nx, sy - h * ny, sz - h * nz
            lens.append((lx, ly, lz, f * nx, f * ny, f * nz))
            fx, fy, fz = fx + f * nx, fy + f * ny, fz + f * nz
            cpx, cpy, cpz = cpx + f * lx, cpy + f * ly, cpz + f * lz
        cpx, cpy, cpz = cpx / fn, cpy / fn, cpz / fn
        norm = math.sqrt(fx * fx + fy * fy + fz * fz)
        nx, ny, nz = fx / norm, fy / norm, fz / norm
        tx, ty, tz = self._friction(fn, (cpx, cpy, cpz), (nx, ny, nz), pos, rot, dz_rate)
        mx = my = mz = 0.0  # moment of the normal forces about the centre of pressure
        for lx, ly, lz, gx, gy, gz in lens:
            ax, ay, az = lx - cpx, ly - cpy, lz - cpz
            mx += ay * gz - az * gy
            my += az * gx - ax * gz
            mz += ax * gy - ay * gx
        self.normal_force = fn
        self.tangential = [tx, ty, tz]
        force = (fx + tx, fy + ty, fz + tz)
        point = (cpx, cpy, cpz)
        about_origin = (
            mx + cpy * force[2] - cpz * force[1],
            my + cpz * force[0] - cpx * force[2],
            mz + cpx * force[1] - cpy * force[0],
        )
        self.wrench = (*force, *about_origin)
        return force, point, (mx, my, mz)

    def _friction(self, fn: float, cop, n, pos, rot, dz_rate: float) -> tuple:
        """Tangential force (base frame, N) of the bristle at the centre of pressure."""
        px, py, pz = pos
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = rot
        vx = vy = vz = 0.0
        if self._cop_link is not None and self._prev_pose is not None:
            # velocity of the lens material point under last step's centre of pressure
            ax, ay, az = self._cop_link
            (qx, qy, qz), q = self._prev_pose
            now = (
                px + r00 * ax + r01 * ay + r02 * az,
                py + r10 * ax + r11 * ay + r12 * az,
                pz + r20 * ax + r21 * ay + r22 * az,
            )
            then = (
                qx + q[0] * ax + q[1] * ay + q[2] * az,
                qy + q[3] * ax + q[4] * ay + q[5] * az,
                qz + q[6] * ax + q[7] * ay + q[8] * az,
            )
            vx, vy, vz = ((a - b) / self.dt for a, b in zip(now, then, strict=True))
            vz -= dz_rate  # relative to the skin, which moves with the breathing body
        nx, ny, nz = n
        vn = vx * nx + vy * ny + vz * nz
        vx, vy, vz = vx - vn * nx, vy - vn * ny, vz - vn * nz
        bx, by, bz = self._bristle  # last step's stretch, into today's tangent plane
        bn = bx * nx + by * ny + bz * nz
        dt = self.dt
        bx, by, bz = bx - bn * nx + vx * dt, by - bn * ny + vy * dt, bz - bn * nz + vz * dt
        stretch = math.sqrt(bx * bx + by * by + bz * bz)
        if stretch > self.presliding:  # sliding: the skin stays stretched at the limit
            s = self.presliding / stretch
            bx, by, bz = bx * s, by * s, bz * s
        self._bristle = [bx, by, bz]
        sigma = self.mu * fn / self.presliding
        cx, cy, cz = cop
        d = (cx - px, cy - py, cz - pz)
        self._cop_link = (
            r00 * d[0] + r10 * d[1] + r20 * d[2],
            r01 * d[0] + r11 * d[1] + r21 * d[2],
            r02 * d[0] + r12 * d[1] + r22 * d[2],
        )
        self._prev_pose = (pos, rot)
        c = self.viscous
        return (-sigma * bx - c * vx, -sigma * by - c * vy, -sigma * bz - c * vz)

    def _release(self, pos, rot) -> None:
        """No normal force this step: no wrench, the skin's stretch is released."""
        self.normal_force = 0.0
        self.tangential = [0.0, 0.0, 0.0]
        self.points = []
        self.wrench = (0.0,) * 6
        self._bristle = [0.0, 0.0, 0.0]
        self._cop_link = None
        self._prev_pose = (pos, rot)


def lens_axis(tool, n: int) -> np.ndarray:
    """``n`` sphere centres (n x 3, probe link frame = sensor frame, m) along the lens's
    axis: the capsule's segment for a linear probe, the torus section's arc for a convex
    one; the sphere radius is ``tool.lens_radius``."""
    r, h = tool.lens_radius, tool.sensor_to_tip
    if tool.geometry == "convex":
        rho = tool.convex_radius - r
        phi = np.linspace(-tool.half_angle, tool.half_angle, n)
        return np.stack([rho * np.sin(phi), 0 * phi, h - tool.convex_radius + rho * np.cos(phi)], 1)
    half = 0.5 * (tool.width - tool.thickness)
    x = np.linspace(-half, half, n)
    return np.stack([x, 0 * x, np.full(n, h - r)], 1)
