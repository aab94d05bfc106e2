"""Surface path -> smooth path resampled by arc length: points, unit tangents, outward unit
normals and curvature every ``resample_step`` metres.

Steps: drop repeated points; reject paths shorter than ``min_path_length``; resample the
polyline linearly; reject fold-backs; fit a cubic smoothing spline (cut-off wavelength
``smoothing_length``: a sine of that wavelength keeps half its amplitude, straight lines
and slow curves pass unchanged); if the curvature exceeds ``max_curvature``, smooth
harder (the cut-off doubles, at most ``MAX_SMOOTHING_ROUNDS`` times), likewise while its
geodesic curvature (its turn rate within the skin: the probe's heading rate) exceeds
``max_orientation_rate``; reject the result if
it moved the path more than ``max_smoothing_deviation``; resample uniformly in arc length.
Normals are smoothed the same way (``normal_smoothing_length``) and renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_interp_spline, make_smoothing_spline
from scipy.spatial import cKDTree

from robot_us.core.types import SurfacePath
from trajectory.config import TrajectoryConfig
from trajectory.errors import FailureReason, PlanningError, first_run, span_text

#: Consecutive input points closer than this (m) are treated as one point.
DUPLICATE_TOLERANCE = 1e-7
#: How many times the smoothing cut-off may double to bring the curvature within limits.
MAX_SMOOTHING_ROUNDS = 4
#: Dense evaluation factor: the smoothed curve is sampled this many times per step to
#: measure its arc length, curvature and distance from the input.
DENSE_FACTOR = 4
#: Largest |cos| between a normal and the path tangent (normals must be ~perpendicular).
MAX_NORMAL_TANGENT_COS = 0.5
#: The last step may be stretched by up to this fraction of a step instead of adding a
#: very short final step.
LAST_STEP_MERGE = 0.25


@dataclass
class SmoothPath:
    """A smoothed path sampled uniformly in arc length ``s`` (N, m from the start; the last
    step may differ): points (N x 3, m), unit tangents, outward unit normals (N x 3) and
    curvature (N, 1/m), all in the base frame."""

    s: np.ndarray
    points: np.ndarray
    tangents: np.ndarray
    normals: np.ndarray
    curvature: np.ndarray

    @property
    def length(self) -> float:
        """Total arc length (m)."""
        return float(self.s[-1])


def _lam(cutoff: float, h: float) -> float:
    """Smoothing-spline penalty whose half-amplitude wavelength is ``cutoff`` (m) on a
    grid of spacing ``h`` (m)."""
    return (cutoff / (2.0 * np.pi)) ** 4 / h


def _fit(u: np.ndarray, y: np.ndarray, cutoff: float):
    """A C2 spline through (or near, when ``cutoff`` > 0) the samples ``y(u)``."""
    if len(u) < 5:
        return make_interp_spline(u, y, k=min(3, len(u) - 1), axis=0)
    if cutoff <= 0.0:
        return make_interp_spline(u, y, k=3, axis=0)
    return make_smoothing_spline(u, y, lam=_lam(cutoff, u[1] - u[0]), axis=0)


def _linear_resample(u: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(grid, u, y[:, k]) for k in range(y.shape[1])], axis=1)


def _check_fold_back(u: np.ndarray, points: np.ndarray, spacing: float, limit: float) -> None:
    """Reject a polyline that reverses direction. Checked on the input decimated to points
    at least ``spacing`` m apart (jitter below that scale is ignored): a turn sharper than
    ``limit`` rad between consecutive decimated chords is a fold-back."""
    keep = [0]
    last = points[0]
    for i in range(1, len(points)):
        if np.linalg.norm(points[i] - last) >= spacing:
            keep.append(i)
            last = points[i]
    if len(keep) < 3:
        return
    d = np.diff(points[keep], axis=0)
    d /= np.linalg.norm(d, axis=1)[:, None]
    turn = np.arccos(np.clip(np.einsum("ij,ij->i", d[:-1], d[1:]), -1.0, 1.0)) > limit
    if turn.any():
        at = float(u[keep[int(np.argmax(turn)) + 1]])
        raise PlanningError(
            FailureReason.FOLD_BACK,
            f"path folds back on itself {span_text(at, at)} (its direction reverses by more "
            f"than {np.degrees(limit):.0f} deg); draw it in one direction",
            span_m=(at, at),
        )


def smooth_path(path: SurfacePath, cfg: TrajectoryConfig) -> SmoothPath:
    """Resample and smooth ``path`` (base frame) per ``cfg``; raises ``PlanningError``
    naming the cause for paths that are too short, fold back, bend too sharply or need
    too much smoothing."""
    if path.frame != "base":
        raise PlanningError(
            FailureReason.NORMAL, f"surface path must be in the 'base' frame, got '{path.frame}'"
        )
    pts, nrm = path.points, path.normals
    if len(pts) < 2:
        raise PlanningError(
            FailureReason.TOO_SHORT, f"path has {len(pts)} point(s); at least 2 are needed"
        )
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > DUPLICATE_TOLERANCE
    pts, nrm = pts[keep], nrm[keep]
    u_raw = np.zeros(len(pts))
    if len(pts) > 1:
        u_raw[1:] = np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))
    length0 = float(u_raw[-1])
    if length0 < cfg.min_path_length:
        raise PlanningError(
            FailureReason.TOO_SHORT,
            f"path is {length0 * 1e3:.1f} mm long; at least {cfg.min_path_length * 1e3:.1f} mm "
            "is needed",
        )
    _check_fold_back(
        u_raw, pts, max(cfg.resample_step, cfg.smoothing_length / 4), cfg.fold_back_angle
    )

    # Uniform grid in input arc length (spacing <= resample_step).
    n = max(4, int(np.ceil(length0 / cfg.resample_step - 1e-9)))
    u = np.linspace(0.0, length0, n + 1)
    p_lin = _linear_resample(u_raw, pts, u)
    n_lin = _linear_resample(u_raw, nrm, u)
    norms = np.linalg.norm(n_lin, axis=1)
    if np.any(norms < 0.1):
        i, j = first_run(norms < 0.1)
        raise PlanningError(
            FailureReason.NORMAL,
            f"neighbouring normals point in opposite directions {span_text(u[i], u[j])}",
            span_m=(float(u[i]), float(u[j])),
        )
    n_lin /= norms[:, None]

    # Smooth; harden the smoothing while the curvature is above the limit.
    ud = np.linspace(0.0, length0, DENSE_FACTOR * n + 1)
    cutoff = cfg.smoothing_length
    n_dense = _linear_resample(u, n_lin, ud)
    for _round in range(MAX_SMOOTHING_ROUNDS + 1):
        spline = _fit(u, p_lin, cutoff)
        d1, d2 = spline(ud, 1), spline(ud, 2)
        speed3 = np.maximum(np.linalg.norm(d1, axis=1), 1e-12) ** 3
        bend = np.cross(d1, d2)
        kappa = np.linalg.norm(bend, axis=1) / speed3
        # geodesic curvature: how fast the path turns within the skin = the probe's
        # heading rate (rad/m)
        kappa_g = np.abs(np.einsum("ij,ij->i", bend, n_dense)) / speed3
        smooth_enough = (
            kappa.max() <= cfg.max_curvature and kappa_g.max() <= cfg.max_orientation_rate
        )
        if smooth_enough or cutoff <= 0.0:
            break
        cutoff = 2.0 * cutoff
    pd = spline(ud)
    sd = np.zeros(len(ud))
    sd[1:] = np.cumsum(np.linalg.norm(np.diff(pd, axis=0), axis=1))
    if kappa.max() > cfg.max_curvature:
        i, j = first_run(kappa > cfg.max_curvature)
        raise PlanningError(
            FailureReason.CURVATURE,
            f"path bends with a radius of {1e3 / kappa.max():.1f} mm {span_text(sd[i], sd[j])}; "
            f"the smallest allowed is {1e3 / cfg.max_curvature:.1f} mm",
            span_m=(float(sd[i]), float(sd[j])),
        )
    dev, _ = cKDTree(pd).query(p_lin)
    tol = cfg.max_smoothing_deviation + 0.5 * (ud[1] - ud[0])
    if dev.max() > tol:
        far = dev > tol
        i = j = int(np.argmax(dev))  # the run around the largest deviation: the corner
        while i > 0 and far[i - 1]:
            i -= 1
        while j + 1 < len(far) and far[j + 1]:
            j += 1
        s_i, s_j = np.interp(u[[i, j]], ud, sd)
        raise PlanningError(
            FailureReason.SMOOTHING,
            f"smoothing the path to a bend radius of at least {1e3 / cfg.max_curvature:.1f} mm "
            f"moves it {dev.max() * 1e3:.1f} mm from the input {span_text(s_i, s_j)} (limit "
            f"{cfg.max_smoothing_deviation * 1e3:.1f} mm): the path has a corner there",
            span_m=(float(s_i), float(s_j)),
        )

    # Uniform arc-length samples of the smoothed curve.
    total = float(sd[-1])
    step = cfg.resample_step
    k = int(np.floor(total / step + 1e-9))
    s_out = step * np.arange(k + 1)
    if total - s_out[-1] > LAST_STEP_MERGE * step:
        s_out = np.append(s_out, total)
    else:
        s_out[-1] = total
    u_out = np.interp(s_out, sd, ud)
    points = spline(u_out)
    d1, d2 = spline(u_out, 1), spline(u_out, 2)
    speed = np.linalg.norm(d1, axis=1)
    tangents = d1 / speed[:, None]
    curvature = np.linalg.norm(np.cross(d1, d2), axis=1) / speed**3
    normals = _fit(u, n_lin, cfg.normal_smoothing_length)(u_out)
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    cos_nt = np.abs(np.einsum("ij,ij->i", normals, tangents))
    if cos_nt.max() > MAX_NORMAL_TANGENT_COS:
        i, j = first_run(cos_nt > MAX_NORMAL_TANGENT_COS)
        angle = np.degrees(np.arccos(cos_nt.max()))
        raise PlanningError(
            FailureReason.NORMAL,
            f"normals make only {angle:.0f} deg with the path direction "
            f"{span_text(s_out[i], s_out[j])}; they must be surface normals, "
            "perpendicular to the path",
            span_m=(float(s_out[i]), float(s_out[j])),
        )
    return SmoothPath(s_out, points, tangents, normals, curvature)
