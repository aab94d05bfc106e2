"""Stroke -> skin: map the operator's stroke on the camera image (pixels) to points on the
skin and outward normals in the robot base frame.

Steps (one method each, in ``StrokeMapper.map``): check the stroke against the image and
find the depth scale along it (refusing strokes surely longer than ``max_length``); drop
crowded mouse samples; find the body (mask, or height above the bed found by geometry);
densify the stroke and every ``fit_spacing`` (m) along it fit the deprojected depth within
``normal_radius`` (m) of the line of sight (plane, then quadric, outliers trimmed:
``perception.surface_fit``), intersecting every sample's line of sight with the two
neighbouring fits; reject parts off the body and long runs of missing depth; subdivide
wherever neighbouring points are more than ``densify_step`` apart on the skin; fill or
reject samples no fit covers; reject jumps of the surface; smooth along the path
(``perception.path_smoothing``); check the length; transform to the base frame.

Complexity: O(N) in the stroke's N mouse samples (checks, decimation), then linear in the
stroke's length L on the skin: O(L / densify_step) samples, O(L / fit_spacing) fits of a
bounded window each, and smoothing linear in the samples (``perception.path_smoothing``).
L is bounded by ``perception.max_length`` (a stroke estimated longer is refused before
densification), so the work and memory are bounded by the configuration, not the input.

Not for the control loop: one call maps a whole stroke (tens of milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.body_segmentation import (
    BedPlane,
    BedPlaneError,
    body_from_height,
    fit_bed_plane,
)
from perception.camera_model import CameraModel
from perception.config import PerceptionConfig
from perception.deprojection import (
    deproject_pixels,
    is_rigid,
    transform_points,
    transform_vectors,
    valid_depth,
)
from perception.path_smoothing import smooth_along_rays
from perception.stroke import (
    StrokeError,
    StrokeErrorCode,
    check_stroke,
    decimate,
    densify,
    pixel_length,
)
from perception.surface_fit import QuadricPatch, fit_along_rays, intersect, masked_median
from robot_us.core.types import CameraIntrinsics, RgbdFrame, SurfacePath

#: Initial pixel step is this fraction of the step that gives ``densify_step`` on a surface
#: facing the camera; oblique surfaces are then refined by subdivision.
PIXEL_STEP_MARGIN = 0.9
#: Neighbouring patches whose surface points along a ray differ by more than this (m) are
#: not blended (the surface jumps between them); the nearer one is used.
BLEND_TOLERANCE = 0.002
#: Subdivision passes that bring neighbouring points within ``densify_step``.
MAX_SUBDIVISION_PASSES = 4
#: A gap left after subdivision larger than this many ``densify_step`` is a jump of the
#: surface (an occlusion edge), not a slope: the stroke is rejected.
DISCONTINUITY_STEPS = 3.0
#: Half-size (px) of the window around a sample that must hold valid depth for the
#: sample to count as measured (else it lies in a hole).
SUPPORT_HALF_PX = 1
#: Half-size (px) of the window whose median depth seeds the fit.
SEED_HALF_PX = 2
#: Largest neighbourhood window radius (px); bounds memory at very close range.
MAX_WINDOW_RADIUS_PX = 48
#: Neighbourhood entries processed at once (samples x window pixels).
CHUNK_ENTRIES = 300_000
#: Mouse samples closer than this (px) to the previous kept one are dropped.
MIN_SAMPLE_SPACING_PX = 0.5
#: Pixel step of the coarse depth samples that set the depth scale along the stroke ...
COARSE_STEP_PX = 2.0
#: ... made coarser on very long strokes so that there are at most this many (+ vertices).
MAX_COARSE_SAMPLES = 10_000
#: A stroke whose estimated length on the skin (pixel length x median depth / focal
#: length) exceeds this many ``perception.max_length`` is refused before densification
#: (at least half of it lies at or beyond the median depth, so it is surely too long);
#: the same factor bounds the mapped polyline during subdivision.
LENGTH_ESTIMATE_MARGIN = 2.0


@dataclass
class StrokeMapping:
    """A mapped stroke: the surface path (base frame) and per-point diagnostics."""

    path: SurfacePath
    pixels: np.ndarray  # N x 2, the image pixel each point was mapped from
    filled: np.ndarray  # N bool: no valid depth at the pixel (filled from neighbours)
    residual_rms: np.ndarray  # N, RMS residual of the local fit (m; NaN if interpolated)
    n_used: np.ndarray  # N, depth samples in the local fit (0 if interpolated)
    length: float  # arc length on the skin (m)
    trimmed: int  # densified samples dropped off the ends (off the body or unfitted)
    bed: BedPlane | None  # the bed plane found by geometry (None when a mask was given)


@dataclass
class _Scale:
    """Depth scale along the stroke: focal length (px), median depth (m) and the radius
    (px) of the neighbourhood windows."""

    f: float
    z_ref: float
    radius_px: int


@dataclass
class _Fits:
    """Local surface fits at anchors along the densified stroke: the patches and each
    anchor's pixel arc length (the stroke parameter ``t``)."""

    patch: QuadricPatch
    anchor_t: np.ndarray


@dataclass
class _Samples:
    """Per-sample working arrays, in stroke order."""

    px: np.ndarray  # S x 2
    t: np.ndarray  # S, pixel arc length along the densified stroke (sorting key)
    points: np.ndarray  # S x 3 camera frame (NaN where no fit covers the sample)
    normals: np.ndarray  # S x 3
    ok: np.ndarray  # a surface fit covers the sample
    supported: np.ndarray  # valid depth at the pixel
    seed: np.ndarray  # S x 3 raw point from the median depth near the pixel (NaN if none)
    on_body: np.ndarray  # S bool
    n_used: np.ndarray
    residual: np.ndarray

    def take(self, idx: np.ndarray) -> _Samples:
        return _Samples(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(a: _Samples, b: _Samples) -> _Samples:
        merged = _Samples(
            *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__)
        )
        return merged.take(np.argsort(merged.t, kind="stable"))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in a 1-D bool array."""
    f = np.concatenate([[False], flags, [False]]).astype(np.int8)
    d = np.diff(f)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _insertions(gaps: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``counts[j]`` evenly spaced samples go into interval ``gaps[j]`` (between
    samples i and i + 1): the interval of each new sample and its fraction along it."""
    seg = np.repeat(gaps, counts)
    frac = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    return seg, frac / np.repeat(counts + 1, counts)


def _lerp(x: np.ndarray, seg: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rows of ``x`` interpolated at fraction ``w`` between rows ``seg`` and ``seg + 1``."""
    ww = w.reshape(-1, *([1] * (x.ndim - 1)))
    return x[seg] + ww * (x[seg + 1] - x[seg])


class _RunLengths:
    """Lengths along the samples, precomputed once (O(S)) so that measuring every run of
    a flag is linear in the samples: the best known 3D position of each sample (the fit,
    else the raw seed point), the arc length over the known positions and the pixel arc
    length."""

    def __init__(self, s: _Samples, scale: _Scale) -> None:
        self.pos = np.where(s.ok[:, None], s.points, s.seed)
        known = np.flatnonzero(np.all(np.isfinite(self.pos), axis=1))
        arc_known = np.zeros(len(known))
        if len(known) > 1:
            steps = np.linalg.norm(np.diff(self.pos[known], axis=0), axis=1)
            arc_known[1:] = np.cumsum(steps)
        # arc length up to the last known position at or before each sample
        last = np.searchsorted(known, np.arange(len(s.px)), side="right") - 1
        self.arc = np.where(last >= 0, arc_known[np.maximum(last, 0)], 0.0)
        self.px_arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(s.px, axis=0).T))])
        self.scale = scale

    def run_length(self, i0: int, i1: int) -> float:
        """Length (m) on the surface of samples i0..i1, measured between the samples that
        bound the run where known, else from its pixel length at the median depth."""
        pos = self.pos
        a, b = max(i0 - 1, 0), min(i1 + 1, len(pos) - 1)
        if np.all(np.isfinite(pos[a])) and np.all(np.isfinite(pos[b])):
            return float(np.linalg.norm(pos[b] - pos[a]))
        return float(self.px_arc[b] - self.px_arc[a]) * self.scale.z_ref / self.scale.f

    def arc_at(self, i: int) -> float:
        """Approximate arc length (m) from the stroke start to sample i."""
        return float(self.arc[i])


def _disc(radius_px: int) -> tuple[np.ndarray, np.ndarray]:
    o = np.arange(-radius_px, radius_px + 1)
    dv, du = np.meshgrid(o, o, indexing="ij")
    disc = du * du + dv * dv <= radius_px * radius_px
    return du[disc], dv[disc]


class _Context:
    """Everything about one frame that the per-sample steps need."""

    def __init__(self, cam, depth, valid, body_mask, plane_c, seg_cfg) -> None:
        self.cam = cam
        self.depth = depth
        self.valid = valid
        self.body_mask = body_mask  # HxW bool or None
        self.plane_c = plane_c  # (normal, offset) of the bed in the camera frame, or None
        self.seg_cfg = seg_cfg

    def window(self, px: np.ndarray, du: np.ndarray, dv: np.ndarray):
        """Pixel windows around samples: rows, cols (S x W, clipped) and in-image flags."""
        r0 = np.rint(px[:, 1]).astype(int)[:, None]
        c0 = np.rint(px[:, 0]).astype(int)[:, None]
        rows, cols = r0 + dv[None, :], c0 + du[None, :]
        h, w = self.depth.shape
        inb = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        return np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1), inb

    def body(self, rows: np.ndarray, cols: np.ndarray, P: np.ndarray) -> np.ndarray:
        """Body flags of pixels (mask) or of their camera-frame points (bed geometry)."""
        if self.body_mask is not None:
            return self.body_mask[rows, cols]
        return self.body_at_points(P)

    def body_at_points(self, P: np.ndarray) -> np.ndarray:
        """Body flags of camera-frame points (..., 3) from their height above the bed."""
        n_c, d_c = self.plane_c
        return body_from_height(P @ n_c + d_c, self.seg_cfg)


class StrokeMapper:
    """Maps strokes on frames of one or more cameras; caches each camera's pixel rays."""

    def __init__(self, cfg: PerceptionConfig) -> None:
        self.cfg = cfg
        self._camera: CameraModel | None = None
        self._camera_key: tuple | None = None

    def camera(self, intr: CameraIntrinsics) -> CameraModel:
        """The (cached) camera model of these intrinsics."""
        key = (
            intr.width,
            intr.height,
            np.asarray(intr.K, float).tobytes(),
            np.asarray(intr.dist if intr.dist is not None else [], float).tobytes(),
        )
        if key != self._camera_key:
            self._camera = CameraModel(intr)
            self._camera_key = key
        assert self._camera is not None
        return self._camera

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_frame(frame: RgbdFrame, cam: CameraModel) -> tuple[np.ndarray, np.ndarray]:
        depth = np.asarray(frame.depth)
        if depth.shape != (cam.height, cam.width):
            raise StrokeError(
                StrokeErrorCode.BAD_FRAME,
                f"depth image is {depth.shape}, the intrinsics say "
                f"{cam.height} x {cam.width} (rows x columns)",
            )
        if frame.T_base_camera is None:
            raise StrokeError(
                StrokeErrorCode.BAD_FRAME,
                "the frame has no T_base_camera: the camera is not calibrated against the "
                "robot (give a calibration file)",
            )
        T = np.asarray(frame.T_base_camera, dtype=np.float64)
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise StrokeError(
                StrokeErrorCode.BAD_FRAME, f"T_base_camera must be a finite 4x4, got {T.shape}"
            )
        if not is_rigid(T):
            raise StrokeError(StrokeErrorCode.BAD_FRAME, "T_base_camera is not a rigid transform")
        if frame.mask is not None and np.shape(frame.mask) != depth.shape:
            raise StrokeError(
                StrokeErrorCode.BAD_FRAME,
                f"body mask is {np.shape(frame.mask)}, the depth image {depth.shape}",
            )
        return depth, T

    # ------------------------------------------------------------------ per sample
    def _sample_depth(self, ctx: _Context, px: np.ndarray) -> tuple[np.ndarray, ...]:
        """Raw depth measurements at each sample pixel: valid depth at the pixel
        (supported), the point from the median depth nearby (seed, NaN if none) and
        whether it is body."""
        du, dv = _disc(SEED_HALF_PX)
        rows, cols, inb = ctx.window(px, du, dv)
        vwin = ctx.valid[rows, cols] & inb
        inner = (np.abs(du) <= SUPPORT_HALF_PX) & (np.abs(dv) <= SUPPORT_HALF_PX)
        supported = np.any(vwin & inner, axis=1)
        z = masked_median(ctx.depth[rows, cols], vwin)
        seed = z[:, None] * ctx.cam.rays(px)
        if ctx.body_mask is not None:
            r = np.rint(px[:, 1]).astype(int)
            c = np.rint(px[:, 0]).astype(int)
            on_body = ctx.body_mask[r, c]
        else:
            known = np.isfinite(z)
            on_body = np.where(known, ctx.body_at_points(np.nan_to_num(seed)), True)
        return supported, seed, on_body

    def _fit_anchors(
        self, ctx: _Context, px: np.ndarray, radius_px: int
    ) -> tuple[QuadricPatch, int, int]:
        """Local quadric patches around anchor pixels; also (valid, total) pixel counts of
        their neighbourhoods."""
        cfg = self.cfg
        du, dv = _disc(radius_px)
        seedwin = (np.abs(du) <= SEED_HALF_PX) & (np.abs(dv) <= SEED_HALF_PX)
        rays = ctx.cam.rays(px)
        patches: list[QuadricPatch] = []
        n_valid = n_total = 0
        chunk = max(1, CHUNK_ENTRIES // len(du))
        for a in range(0, len(px), chunk):
            b = min(len(px), a + chunk)
            rows, cols, inb = ctx.window(px[a:b], du, dv)
            vwin = ctx.valid[rows, cols] & inb
            n_valid += int(vwin.sum())
            n_total += int(inb.sum())
            P = deproject_pixels(ctx.cam, ctx.depth, rows, cols)
            uwin = vwin & ctx.body(rows, cols, np.nan_to_num(P))
            z_near = masked_median(P[..., 2], uwin & seedwin)
            z_wide = masked_median(P[..., 2], uwin)
            z_seed = np.where(np.isfinite(z_near), z_near, z_wide)
            P[~uwin] = np.nan
            patches.append(
                fit_along_rays(
                    P,
                    rays[a:b],
                    z_seed,
                    cfg.normal_radius,
                    cfg.min_fit_points,
                    cfg.outlier_threshold,
                )
            )
        patch = QuadricPatch(
            *(
                np.concatenate([getattr(p, f) for p in patches])
                for f in QuadricPatch.__dataclass_fields__
            )
        )
        return patch, n_valid, n_total

    def _samples(self, ctx: _Context, fits: _Fits, px: np.ndarray, t: np.ndarray) -> _Samples:
        """Evaluate samples on the two anchor patches that bracket them (blended linearly
        in the stroke parameter; one alone where the other failed)."""
        patch, anchor_t = fits.patch, fits.anchor_t
        supported, seed, on_body = self._sample_depth(ctx, px)
        k = np.clip(np.searchsorted(anchor_t, t, side="right") - 1, 0, len(anchor_t) - 2)
        span = np.maximum(anchor_t[k + 1] - anchor_t[k], 1e-12)
        w = np.clip((t - anchor_t[k]) / span, 0.0, 1.0)
        rays = ctx.cam.rays(px)
        p0, n0, ok0 = intersect(patch, k, rays)
        p1, n1, ok1 = intersect(patch, k + 1, rays)
        # blend where both patches agree; across a jump of the surface take the nearer one
        agree = np.linalg.norm(p0 - p1, axis=1) <= BLEND_TOLERANCE
        w = np.where(ok0 & ok1 & ~agree, np.rint(w), w)
        w = np.where(ok0 & ok1, w, np.where(ok1, 1.0, 0.0))
        ok = ok0 | ok1
        points = (1 - w)[:, None] * np.nan_to_num(p0) + w[:, None] * np.nan_to_num(p1)
        normals = (1 - w)[:, None] * np.nan_to_num(n0) + w[:, None] * np.nan_to_num(n1)
        with np.errstate(invalid="ignore", divide="ignore"):
            normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        points[~ok] = np.nan
        normals[~ok] = np.nan
        near = np.where(w < 0.5, k, k + 1)
        return _Samples(
            px=px,
            t=t,
            points=points,
            normals=normals,
            ok=ok,
            supported=supported,
            seed=seed,
            on_body=on_body,
            n_used=patch.n_used[near],
            residual=patch.residual_rms[near],
        )

    # ------------------------------------------------------------------ runs
    @staticmethod
    def _check_runs(
        s: _Samples,
        flags: np.ndarray,
        limit: float,
        code: StrokeErrorCode,
        message: str,
        scale: _Scale,
    ) -> list[tuple[int, int]]:
        """The runs of True in ``flags``; the first longer than ``limit`` (m on the skin)
        raises ``StrokeError(code, message)``, ``{length}`` and ``{start}`` (mm from the
        stroke start) filled in. O(S)."""
        runs = _runs(flags)
        if not runs:
            return runs
        lengths = _RunLengths(s, scale)
        for i0, i1 in runs:
            length = lengths.run_length(i0, i1)
            if length > limit:
                start = lengths.arc_at(i0)
                raise StrokeError(code, message.format(length=1000 * length, start=1000 * start))
        return runs

    # ------------------------------------------------------------------ main
    def map(self, frame: RgbdFrame, stroke_px: np.ndarray) -> StrokeMapping:
        """Map ``stroke_px`` (N x 2 pixels, u column, v row) drawn on ``frame`` to the skin.
        Raises ``StrokeError`` (with a ``StrokeErrorCode``) naming the cause on bad input.
        O(N) in the stroke's samples, then linear in its length on the skin (module doc)."""
        cam = self.camera(frame.intrinsics)
        depth, T_base_camera = self._check_frame(frame, cam)
        px = check_stroke(stroke_px, cam)
        valid = valid_depth(depth, self.cfg.depth_min, self.cfg.depth_max)
        scale = self._depth_scale(cam, depth, valid, px)
        px = decimate(px, MIN_SAMPLE_SPACING_PX)
        ctx, bed = self._body_context(frame, cam, depth, valid, T_base_camera)
        fits, s = self._fit_along_stroke(ctx, px, scale)
        t_dense = s.t
        s = self._trim_off_body(s, scale)
        s = self._subdivide(ctx, fits, s)
        s = self._resolve_unfitted(s, scale)
        s = self._close_gaps(s)
        s = self._smooth(s)
        length = self._check_length(s)
        return StrokeMapping(
            path=SurfacePath(
                points=transform_points(T_base_camera, s.points),
                normals=transform_vectors(T_base_camera, s.normals),
                frame="base",
            ),
            pixels=s.px,
            filled=~s.supported,
            residual_rms=s.residual,
            n_used=s.n_used,
            length=length,
            trimmed=int(np.sum(~np.isin(t_dense, s.t))),
            bed=bed,
        )

    # ------------------------------------------------------------------ steps of map
    def _depth_scale(
        self, cam: CameraModel, depth: np.ndarray, valid: np.ndarray, px: np.ndarray
    ) -> _Scale:
        """The depth scale along the stroke from coarse samples of its depth (for pixel
        steps and the window radius); refuses strokes with too little depth and strokes
        surely longer than ``max_length`` on the skin."""
        cfg = self.cfg
        f = min(cam.fx, cam.fy)
        length_px = pixel_length(px)
        step = max(COARSE_STEP_PX, length_px / MAX_COARSE_SAMPLES)
        coarse = densify(px, step)[0]  # every vertex + at most MAX_COARSE_SAMPLES
        r0 = np.rint(coarse[:, 1]).astype(int)
        c0 = np.rint(coarse[:, 0]).astype(int)
        zs = depth[r0, c0][valid[r0, c0]]
        if len(zs) < max(2, int(0.05 * len(coarse))):
            raise StrokeError(
                StrokeErrorCode.NO_DEPTH,
                f"too little valid depth along the stroke: {len(zs)} of {len(coarse)} "
                f"pixels have depth in [{cfg.depth_min}, {cfg.depth_max}] m",
            )
        z_ref = float(np.median(zs))
        estimate = length_px * z_ref / f
        if estimate > LENGTH_ESTIMATE_MARGIN * cfg.max_length:
            raise StrokeError(
                StrokeErrorCode.TOO_LONG,
                f"the stroke is {length_px:.0f} px long on the image, about {estimate:.2f} m "
                f"on the skin at its median depth of {z_ref:.2f} m; the longest accepted is "
                f"{cfg.max_length:g} m (perception.max_length)",
            )
        z_near = float(np.percentile(zs, 5))
        radius_px = int(min(MAX_WINDOW_RADIUS_PX, np.ceil(f * cfg.normal_radius / z_near)))
        return _Scale(f=f, z_ref=z_ref, radius_px=max(radius_px, SEED_HALF_PX + 1))

    def _body_context(
        self,
        frame: RgbdFrame,
        cam: CameraModel,
        depth: np.ndarray,
        valid: np.ndarray,
        T_base_camera: np.ndarray,
    ) -> tuple[_Context, BedPlane | None]:
        """Body pixels: the frame's mask, or height above the bed found by geometry."""
        if frame.mask is not None:
            return _Context(cam, depth, valid, np.asarray(frame.mask, bool), None, None), None
        bed = self._bed_plane(cam, depth, valid, T_base_camera)
        plane_c = bed.in_frame(T_base_camera)
        return _Context(cam, depth, valid, None, plane_c, self.cfg.segmentation), bed

    def _fit_along_stroke(
        self, ctx: _Context, px: np.ndarray, scale: _Scale
    ) -> tuple[_Fits, _Samples]:
        """Densify the stroke, fit local patches at anchors every ``fit_spacing`` and
        evaluate every densified sample on them."""
        cfg = self.cfg
        step_px = PIXEL_STEP_MARGIN * cfg.densify_step * scale.f / scale.z_ref
        dense, t = densify(px, step_px)
        if len(dense) < 2:
            raise StrokeError(StrokeErrorCode.TOO_SHORT, "stroke has zero length on the image")
        spacing_px = cfg.fit_spacing * scale.f / scale.z_ref
        marks = np.arange(0.0, t[-1], spacing_px)
        anchors = np.unique(np.append(np.searchsorted(t, marks), len(t) - 1))
        patch, n_valid, n_total = self._fit_anchors(ctx, dense[anchors], scale.radius_px)
        frac = n_valid / max(n_total, 1)
        if frac < cfg.min_valid_fraction:
            raise StrokeError(
                StrokeErrorCode.NO_DEPTH,
                f"too little valid depth around the stroke: {100 * frac:.0f} % of pixels "
                f"(need {100 * cfg.min_valid_fraction:.0f} %, perception.min_valid_fraction)",
            )
        fits = _Fits(patch, t[anchors])
        return fits, self._samples(ctx, fits, dense, t)

    def _trim_off_body(self, s: _Samples, scale: _Scale) -> _Samples:
        """Refuse long parts off the body and long runs without depth at the pixel; trim
        short off-body parts at the ends."""
        cfg = self.cfg
        off_body = self._check_runs(
            s,
            ~s.on_body,
            cfg.max_off_body,
            StrokeErrorCode.OFF_BODY,
            "{length:.1f} mm of the stroke are off the body (on the bed or the floor), from "
            "{start:.1f} mm after its start "
            f"(perception.max_off_body = {1000 * cfg.max_off_body:.1f} mm)",
            scale,
        )
        self._check_runs(
            s,
            ~s.supported,
            cfg.max_hole,
            StrokeErrorCode.HOLE,
            "no depth over {length:.1f} mm of the stroke, from {start:.1f} mm after its start "
            f"(perception.max_hole = {1000 * cfg.max_hole:.1f} mm)",
            scale,
        )
        n = len(s.px)
        keep = np.ones(n, bool)
        for i0, i1 in off_body:
            if i0 == 0 or i1 == n - 1:
                keep[i0 : i1 + 1] = False
        s = s.take(np.flatnonzero(keep))
        if len(s.px) < 2:
            raise StrokeError(StrokeErrorCode.OFF_BODY, "the stroke is not on the body")
        return s

    def _subdivide(self, ctx: _Context, fits: _Fits, s: _Samples) -> _Samples:
        """Insert samples until neighbouring points are within ``densify_step`` on the skin
        (at most ``MAX_SUBDIVISION_PASSES``); refuses a mapped polyline longer than
        ``LENGTH_ESTIMATE_MARGIN`` x ``max_length`` before inserting into it."""
        cfg = self.cfg
        for _ in range(MAX_SUBDIVISION_PASSES):
            gap = np.linalg.norm(np.diff(s.points, axis=0), axis=1)
            finite = np.isfinite(gap)
            need = finite & (gap > cfg.densify_step)
            if not np.any(need):
                break
            mapped = float(gap[finite].sum())
            if mapped > LENGTH_ESTIMATE_MARGIN * cfg.max_length:
                raise StrokeError(
                    StrokeErrorCode.TOO_LONG,
                    f"the stroke maps onto more than {mapped:.2f} m of surface; the longest "
                    f"accepted is {cfg.max_length:g} m (perception.max_length)",
                )
            i = np.flatnonzero(need)
            k = np.maximum(np.ceil(gap[i] / cfg.densify_step * 1.05).astype(int) - 1, 1)
            seg, w = _insertions(i, k)
            new_px, new_t = _lerp(s.px, seg, w), _lerp(s.t, seg, w)
            s = _Samples.concat(s, self._samples(ctx, fits, new_px, new_t))
        return s

    def _resolve_unfitted(self, s: _Samples, scale: _Scale) -> _Samples:
        """Samples no fit covers: interpolate short interior runs, drop short end runs,
        refuse long ones."""
        unfitted = self._check_runs(
            s,
            ~s.ok,
            self.cfg.max_hole,
            StrokeErrorCode.HOLE,
            "the skin cannot be fitted over {length:.1f} mm of the stroke (too few valid "
            "depth samples within perception.normal_radius), from {start:.1f} mm after its "
            "start",
            scale,
        )
        keep = np.ones(len(s.px), bool)
        interp = np.zeros(len(s.px), bool)
        for i0, i1 in unfitted:
            if i0 == 0 or i1 == len(keep) - 1:
                keep[i0 : i1 + 1] = False
            else:
                interp[i0 : i1 + 1] = True
        if np.any(interp):
            self._interpolate(s, interp)
        s = s.take(np.flatnonzero(keep))
        if len(s.px) < 2:
            raise StrokeError(
                StrokeErrorCode.NO_DEPTH, "the skin could not be fitted anywhere along the stroke"
            )
        return s

    def _close_gaps(self, s: _Samples) -> _Samples:
        """Remaining gaps: a jump of the surface (refused), or a short gap to fill."""
        gap = np.linalg.norm(np.diff(s.points, axis=0), axis=1)
        jump = np.flatnonzero(gap > DISCONTINUITY_STEPS * self.cfg.densify_step)
        if len(jump):
            j = int(jump[0])
            start = float(np.sum(gap[:j]))
            raise StrokeError(
                StrokeErrorCode.DISCONTINUITY,
                f"the surface jumps by {1000 * gap[j]:.1f} mm along the stroke, "
                f"{1000 * start:.1f} mm after its start (an edge or an occlusion; draw on "
                "one continuous surface)",
            )
        return self._fill_gaps(s, gap)

    def _smooth(self, s: _Samples) -> _Samples:
        """Smooth depth along the rays and normals along the path; smoothing moves points
        along their rays by fractions of a millimetre: close any spacing it pushed just
        beyond ``densify_step``."""
        s.points, s.normals = smooth_along_rays(s.points, s.normals, self.cfg.path_smoothing)
        return self._fill_gaps(s, np.linalg.norm(np.diff(s.points, axis=0), axis=1))

    def _check_length(self, s: _Samples) -> float:
        """The path's length on the skin (m), refused outside [min_length, max_length]."""
        cfg = self.cfg
        length = float(np.sum(np.linalg.norm(np.diff(s.points, axis=0), axis=1)))
        if length < cfg.min_length:
            raise StrokeError(
                StrokeErrorCode.TOO_SHORT,
                f"the stroke is {1000 * length:.1f} mm long on the skin; the shortest "
                f"accepted is {1000 * cfg.min_length:.1f} mm (perception.min_length)",
            )
        if length > cfg.max_length:
            raise StrokeError(
                StrokeErrorCode.TOO_LONG,
                f"the stroke is {length:.2f} m long on the skin; the longest accepted is "
                f"{cfg.max_length:g} m (perception.max_length)",
            )
        return length

    def _bed_plane(
        self, cam: CameraModel, depth: np.ndarray, valid: np.ndarray, T_base_camera: np.ndarray
    ) -> BedPlane:
        seg = self.cfg.segmentation
        st = seg.pixel_stride
        rows, cols = np.nonzero(valid[::st, ::st])
        rows, cols = rows * st, cols * st
        pts = transform_points(T_base_camera, deproject_pixels(cam, depth, rows, cols))
        try:
            return fit_bed_plane(pts, seg)
        except BedPlaneError as exc:
            raise StrokeError(
                StrokeErrorCode.NO_BED,
                f"no body mask given and the body cannot be segmented from the bed: {exc}",
            ) from exc

    @staticmethod
    def _interpolate(s: _Samples, which: np.ndarray) -> None:
        """Fill samples ``which`` (interior runs) from the fitted samples on either side,
        linearly in the stroke parameter; normals renormalised."""
        good = np.flatnonzero(~which)
        bad = np.flatnonzero(which)
        for k in range(3):
            s.points[bad, k] = np.interp(s.t[bad], s.t[good], s.points[good, k])
            s.normals[bad, k] = np.interp(s.t[bad], s.t[good], s.normals[good, k])
        s.normals[bad] /= np.linalg.norm(s.normals[bad], axis=1, keepdims=True)
        s.ok[bad] = True
        s.n_used[bad] = 0
        s.residual[bad] = np.nan

    def _fill_gaps(self, s: _Samples, gap: np.ndarray) -> _Samples:
        """Insert linearly interpolated points into gaps (between densify_step and the
        discontinuity limit) that subdivision could not close."""
        step = self.cfg.densify_step
        i = np.flatnonzero(gap > step)
        if len(i) == 0:
            return s
        seg, w = _insertions(i, np.ceil(gap[i] / step).astype(int) - 1)
        nrm = _lerp(s.normals, seg, w)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        new = _Samples(
            px=_lerp(s.px, seg, w),
            t=_lerp(s.t, seg, w),
            points=_lerp(s.points, seg, w),
            normals=nrm,
            ok=np.ones(len(seg), bool),
            supported=s.supported[seg] & s.supported[seg + 1],
            seed=_lerp(s.seed, seg, w),
            on_body=np.ones(len(seg), bool),
            n_used=np.zeros(len(seg), int),
            residual=np.full(len(seg), np.nan),
        )
        return _Samples.concat(s, new)
