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

Complexity: O(N) in the input's N points (duplicates, arc length, fold-back check, linear
resampling), then O(n log n) in the n = L / ``resample_step`` grid points of a path of
length L (the smoothing spline is banded, O(n); the deviation check uses a k-d tree). L
is refused above ``max_duration`` x ``MAX_SCAN_SPEED`` (no allowed speed sweeps a longer
path within the longest plan), so n is bounded by the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_interp_spline, make_smoothing_spline
from scipy.spatial import cKDTree

from robot_us.core.types import SurfacePath
from trajectory.config import MAX_SCAN_SPEED, TrajectoryConfig
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
    ``limit`` rad between consecutive decimated chords is a fold-back. O(N)."""
    keep = [0]
    pts = points.tolist()
    x0, y0, z0 = pts[0]
    lim2 = spacing * spacing
    for i in range(1, len(pts)):
        x, y, z = pts[i]
        if (x - x0) ** 2 + (y - y0) ** 2 + (z - z0) ** 2 >= lim2:
            keep.append(i)
            x0, y0, z0 = x, y, z
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


def longest_path(cfg: TrajectoryConfig) -> float:
    """The longest path (m) any allowed speed sweeps within ``cfg.max_duration``."""
    return cfg.max_duration * MAX_SCAN_SPEED


def _distinct_points(path: SurfacePath, cfg: TrajectoryConfig):
    """The path's points and normals without repeats, and the arc length (m) at each;
    refuses a path in another frame, shorter than ``min_path_length`` or longer than
    ``longest_path``."""
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
    length = float(u_raw[-1])
    if length < cfg.min_path_length:
        raise PlanningError(
            FailureReason.TOO_SHORT,
            f"path is {length * 1e3:.1f} mm long; at least {cfg.min_path_length * 1e3:.1f} mm "
            "is needed",
        )
    if length > longest_path(cfg):
        raise PlanningError(
            FailureReason.TOO_LONG,
            f"path is {length:.2f} m long; the longest that can be swept within "
            f"trajectory.max_duration ({cfg.max_duration:g} s) at the top speed "
            f"({MAX_SCAN_SPEED * 1e3:.0f} mm/s) is {longest_path(cfg):g} m",
        )
    return u_raw, pts, nrm


def _uniform_grid(u_raw: np.ndarray, pts: np.ndarray, nrm: np.ndarray, step: float):
    """Points and unit normals linearly resampled on a uniform grid ``u`` of the input arc
    length (spacing <= ``step``); refuses neighbouring normals in opposite directions."""
    n = max(4, int(np.ceil(u_raw[-1] / step - 1e-9)))
    u = np.linspace(0.0, u_raw[-1], n + 1)
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
    return u, p_lin, n_lin / norms[:, None]


@dataclass
class _Fit:
    """The smoothing spline of the path and its dense evaluation: parameter ``ud`` (input
    arc length), points, arc length ``sd`` along the spline and curvature (1/m)."""

    spline: object
    ud: np.ndarray
    pd: np.ndarray
    sd: np.ndarray
    kappa: np.ndarray


def _bounded_spline(u: np.ndarray, p_lin: np.ndarray, n_lin: np.ndarray, cfg) -> _Fit:
    """The smoothing spline through ``p_lin(u)``, smoothed harder (the cut-off doubles,
    at most ``MAX_SMOOTHING_ROUNDS`` times) while its curvature exceeds ``max_curvature``
    or its geodesic curvature (the probe's heading rate) ``max_orientation_rate``."""
    ud = np.linspace(0.0, u[-1], DENSE_FACTOR * (len(u) - 1) + 1)
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
    return _Fit(spline, ud, pd, sd, kappa)


def _check_curvature(fit: _Fit, cfg: TrajectoryConfig) -> None:
    """Refuse a spline that still bends more sharply than ``max_curvature``."""
    kappa, sd = fit.kappa, fit.sd
    if kappa.max() > cfg.max_curvature:
        i, j = first_run(kappa > cfg.max_curvature)
        raise PlanningError(
            FailureReason.CURVATURE,
            f"path bends with a radius of {1e3 / kappa.max():.1f} mm {span_text(sd[i], sd[j])}; "
            f"the smallest allowed is {1e3 / cfg.max_curvature:.1f} mm",
            span_m=(float(sd[i]), float(sd[j])),
        )


def _check_deviation(fit: _Fit, u: np.ndarray, p_lin: np.ndarray, cfg) -> None:
    """Refuse a spline that moved the path more than ``max_smoothing_deviation`` (plus half
    a dense step) from the input; the span is the run around the largest deviation."""
    dev, _ = cKDTree(fit.pd).query(p_lin)
    tol = cfg.max_smoothing_deviation + 0.5 * (fit.ud[1] - fit.ud[0])
    if dev.max() > tol:
        far = dev > tol
        i = j = int(np.argmax(dev))  # the run around the largest deviation: the corner
        while i > 0 and far[i - 1]:
            i -= 1
        while j + 1 < len(far) and far[j + 1]:
            j += 1
        s_i, s_j = np.interp(u[[i, j]], fit.ud, fit.sd)
        raise PlanningError(
            FailureReason.SMOOTHING,
            f"smoothing the path to a bend radius of at least {1e3 / cfg.max_curvature:.1f} mm "
            f"moves it {dev.max() * 1e3:.1f} mm from the input {span_text(s_i, s_j)} (limit "
            f"{cfg.max_smoothing_deviation * 1e3:.1f} mm): the path has a corner there",
            span_m=(float(s_i), float(s_j)),
        )


def _arc_length_samples(fit: _Fit, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Arc lengths every ``step`` along the spline (the last step stretched by up to
    ``LAST_STEP_MERGE`` steps rather than a very short one) and their spline parameters."""
    total = float(fit.sd[-1])
    k = int(np.floor(total / step + 1e-9))
    s_out = step * np.arange(k + 1)
    if total - s_out[-1] > LAST_STEP_MERGE * step:
        s_out = np.append(s_out, total)
    else:
        s_out[-1] = total
    return s_out, np.interp(s_out, fit.sd, fit.ud)


def _smoothed_normals(u, n_lin, u_out, tangents, s_out, cfg) -> np.ndarray:
    """Normals smoothed with ``normal_smoothing_length`` and renormalised at ``u_out``;
    refuses normals not roughly perpendicular to the path."""
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
    return normals


def spline_resample(path: SurfacePath, cfg: TrajectoryConfig) -> SmoothPath:
    """``path`` (base frame) smoothed by a spline and resampled uniformly in arc length per
    ``cfg`` (module doc); raises ``PlanningError`` naming the cause for paths that are too
    short or too long, fold back, bend too sharply or need too much smoothing."""
    u_raw, pts, nrm = _distinct_points(path, cfg)
    _check_fold_back(
        u_raw, pts, max(cfg.resample_step, cfg.smoothing_length / 4), cfg.fold_back_angle
    )
    u, p_lin, n_lin = _uniform_grid(u_raw, pts, nrm, cfg.resample_step)
    fit = _bounded_spline(u, p_lin, n_lin, cfg)
    _check_curvature(fit, cfg)
    _check_deviation(fit, u, p_lin, cfg)
    s_out, u_out = _arc_length_samples(fit, cfg.resample_step)
    points = fit.spline(u_out)
    d1, d2 = fit.spline(u_out, 1), fit.spline(u_out, 2)
    speed = np.linalg.norm(d1, axis=1)
    tangents = d1 / speed[:, None]
    curvature = np.linalg.norm(np.cross(d1, d2), axis=1) / speed**3
    normals = _smoothed_normals(u, n_lin, u_out, tangents, s_out, cfg)
    return SmoothPath(s_out, points, tangents, normals, curvature)
