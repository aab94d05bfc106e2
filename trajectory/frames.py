"""Probe frames along a smooth path, and the approach/retract poses along the normal.

Probe frame (see docs/architecture.md): z out of the face into the tissue, so z is the
inward normal; x along the transducer array. Longitudinal imaging: x along the path
tangent; transverse: y along the tangent (x across the path).

Twist control: a reference frame is carried along the path by parallel transport about
the changing normal (the discrete rotation-minimising frame: each step applies the
smallest rotation that takes z_i to z_{i+1}, so the reference never spins about the probe
axis). The probe's heading is an angle psi in that reference frame, unwrapped along the
path; the only rotation about the probe axis is the heading change the imaging plane
requires (the path turning on the skin), never a twist from the frame construction, and
never a jump of 2 pi. The total rotation per metre of path is checked against
``max_orientation_rate``.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from trajectory.errors import FailureReason, PlanningError, first_run, span_text
from trajectory.path_geometry import SmoothPath


class ImagingPlane(StrEnum):
    """Orientation of the ultrasound image plane relative to the path."""

    LONGITUDINAL = "longitudinal"  # image plane along the path (probe x = tangent)
    TRANSVERSE = "transverse"  # image plane across the path (probe y = tangent)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def transport_frames(z: np.ndarray) -> np.ndarray:
    """Reference axes e1 (N x 3) perpendicular to the unit axes ``z`` (N x 3), carried
    along by minimal rotations (the rotation about z_i x z_{i+1}; no spin about z)."""
    v = np.cross(z[:-1], z[1:])
    c = np.einsum("ij,ij->i", z[:-1], z[1:])
    if len(c) and c.min() < -1.0 + 1e-9:
        raise PlanningError(FailureReason.NORMAL, "consecutive normals point in opposite ways")
    k = 1.0 / (1.0 + c)
    e1 = np.empty_like(z)
    seed = np.array([1.0, 0.0, 0.0]) if abs(z[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1[0] = _unit(seed - (seed @ z[0]) * z[0])
    ex, ey, ez = (float(a) for a in e1[0])
    # Rodrigues in scalar form: e' = e + v x e + v x (v x e) / (1 + c)
    for i, ((vx, vy, vz), ki) in enumerate(zip(v.tolist(), k.tolist(), strict=True)):
        wx, wy, wz = vy * ez - vz * ey, vz * ex - vx * ez, vx * ey - vy * ex
        ux, uy, uz = vy * wz - vz * wy, vz * wx - vx * wz, vx * wy - vy * wx
        ex, ey, ez = ex + wx + ki * ux, ey + wy + ki * uy, ez + wz + ki * uz
        e1[i + 1] = (ex, ey, ez)
    e1 -= np.einsum("ij,ij->i", e1, z)[:, None] * z  # remove rounding drift
    return _unit(e1)


def probe_frames(
    path: SmoothPath,
    plane: ImagingPlane | str = ImagingPlane.LONGITUDINAL,
    flip: bool = False,
    max_orientation_rate: float | None = None,
) -> np.ndarray:
    """Probe poses T_base_probe (N x 4 x 4) on the path points: z = inward normal, the
    image plane along (longitudinal) or across (transverse) the path; ``flip`` turns the
    probe 180 deg about its axis. Raises ``PlanningError`` where the rotation per metre of
    path exceeds ``max_orientation_rate`` (rad/m)."""
    plane = ImagingPlane(plane)
    t = path.tangents
    z = -path.normals
    z = _unit(z - np.einsum("ij,ij->i", z, t)[:, None] * t)  # exactly perpendicular to t
    along = _unit(t - np.einsum("ij,ij->i", t, z)[:, None] * z)
    x_dir = along if plane is ImagingPlane.LONGITUDINAL else np.cross(along, z)
    if flip:
        x_dir = -x_dir
    # Heading psi in the transported reference frame, unwrapped: continuous by design.
    e1 = transport_frames(z)
    e2 = np.cross(z, e1)
    psi = np.unwrap(np.arctan2(np.einsum("ij,ij->i", x_dir, e2), np.einsum("ij,ij->i", x_dir, e1)))
    x = np.cos(psi)[:, None] * e1 + np.sin(psi)[:, None] * e2
    y = np.cross(z, x)
    T = np.zeros((len(z), 4, 4))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2] = x, y, z
    T[:, :3, 3] = path.points
    T[:, 3, 3] = 1.0
    if max_orientation_rate is not None and len(T) > 1:
        check_orientation_rate(T, path.s, max_orientation_rate)
    return T


def rotation_angles(T: np.ndarray) -> np.ndarray:
    """Rotation angle (rad) between consecutive poses of T (N x 4 x 4): N - 1 values."""
    R = T[:, :3, :3]
    tr = np.einsum("nij,nij->n", R[:-1], R[1:])  # trace(R_i^T R_{i+1})
    return np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))


def check_orientation_rate(T: np.ndarray, s: np.ndarray, limit: float) -> None:
    """Raise ``PlanningError`` where the probe turns faster than ``limit`` rad per metre of
    arc length ``s`` (m)."""
    rate = rotation_angles(T) / np.maximum(np.diff(s), 1e-12)
    if rate.max() > limit:
        i, j = first_run(rate > limit)
        raise PlanningError(
            FailureReason.ORIENTATION_RATE,
            f"the probe would turn at {np.degrees(rate.max()) / 1e3:.2f} deg/mm "
            f"{span_text(s[i], s[j + 1])} (limit {np.degrees(limit) / 1e3:.2f} deg/mm); "
            "the path or its normals change direction too quickly there",
            span_m=(float(s[i]), float(s[j + 1])),
        )


def normal_segment(T_contact: np.ndarray, standoff: float, step: float) -> np.ndarray:
    """Poses (M x 4 x 4) on the line from the stand-off point (``standoff`` m out along the
    outward normal, i.e. against probe z) to just above ``T_contact``, same orientation,
    spaced <= ``step`` m, ordered from the stand-off inwards (contact pose excluded)."""
    m = max(1, int(np.ceil(standoff / step - 1e-9)))
    d = np.linspace(standoff, 0.0, m + 1)[:-1]
    T = np.repeat(T_contact[None], m, axis=0)
    T[:, :3, 3] = T_contact[:3, 3] - d[:, None] * T_contact[:3, 2]
    return T
