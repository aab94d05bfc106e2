"""The operator's stroke on the camera image: validation, decimation of crowded samples,
densification between mouse samples, and the errors a stroke can be rejected with (each
with a result code). Every function here is O(N) in the stroke's N samples (densify: O(N)
plus its output)."""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from perception.camera_model import CameraModel


class StrokeErrorCode(StrEnum):
    """Why a stroke could not be mapped onto the skin."""

    MALFORMED = "malformed"  # not an N x 2 array of finite pixel coordinates
    OUTSIDE_IMAGE = "outside_image"  # a sample lies outside the image
    TOO_SHORT = "too_short"  # shorter than perception.min_length on the skin
    TOO_LONG = "too_long"  # longer than perception.max_length on the skin
    NO_DEPTH = "no_depth"  # too little valid depth around the stroke
    HOLE = "hole"  # a run of missing depth longer than perception.max_hole
    DISCONTINUITY = "discontinuity"  # the surface jumps along the stroke (occlusion edge)
    OFF_BODY = "off_body"  # a part longer than perception.max_off_body is off the body
    NO_BED = "no_bed"  # no mask given and the bed plane could not be found
    BAD_FRAME = "bad_frame"  # the RGB-D frame is inconsistent (shapes, missing pose)


class StrokeError(ValueError):
    """A stroke was rejected; ``code`` says why, the message names the cause."""

    def __init__(self, code: StrokeErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_stroke(pixels: np.ndarray, camera: CameraModel) -> np.ndarray:
    """The stroke as an N x 2 float array (u column, v row), checked to be finite, to have at
    least two samples and to lie inside the image."""
    try:
        px = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StrokeError(
            StrokeErrorCode.MALFORMED, f"stroke pixels are not numbers: {exc}"
        ) from exc
    if px.ndim != 2 or px.shape[1] != 2:
        raise StrokeError(
            StrokeErrorCode.MALFORMED, f"stroke must be a list of [u, v] pairs, got {px.shape}"
        )
    if len(px) < 2:
        raise StrokeError(
            StrokeErrorCode.TOO_SHORT, f"stroke needs at least 2 pixels, got {len(px)}"
        )
    if not np.all(np.isfinite(px)):
        raise StrokeError(StrokeErrorCode.MALFORMED, "stroke contains NaN or infinite pixels")
    inside = camera.in_image(px)
    if not np.all(inside):
        i = int(np.argmin(inside))
        raise StrokeError(
            StrokeErrorCode.OUTSIDE_IMAGE,
            f"stroke pixel {i} ({px[i, 0]:.1f}, {px[i, 1]:.1f}) is outside the "
            f"{camera.width} x {camera.height} image ({int((~inside).sum())} of {len(px)} "
            "pixels outside)",
        )
    return px


def pixel_length(pixels: np.ndarray) -> float:
    """Length (px) of the polyline through ``pixels`` (N x 2)."""
    return float(np.sum(np.hypot(*np.diff(pixels, axis=0).T)))


def decimate(pixels: np.ndarray, spacing_px: float) -> np.ndarray:
    """The samples of ``pixels`` (N x 2) without those closer than ``spacing_px`` to the
    previous kept sample (a mouse or pen resting, or sampled far faster than it moves);
    the first and last samples are kept. O(N); at most one sample per ``spacing_px`` of
    the result's length (plus the last)."""
    if len(pixels) < 3:
        return pixels.copy()
    pts = pixels.tolist()
    keep = [0]
    u0, v0 = pts[0]
    lim2 = spacing_px * spacing_px
    for i in range(1, len(pts) - 1):
        u, v = pts[i]
        if (u - u0) * (u - u0) + (v - v0) * (v - v0) >= lim2:
            keep.append(i)
            u0, v0 = u, v
    u, v = pts[-1]
    if len(keep) > 1 and (u - u0) * (u - u0) + (v - v0) * (v - v0) < lim2:
        keep[-1] = len(pts) - 1  # the stroke ends where the operator stopped
    else:
        keep.append(len(pts) - 1)
    return pixels[keep]


def densify(pixels: np.ndarray, step_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples along the polyline through ``pixels`` (N x 2) no further apart than
    ``step_px``, keeping every original vertex; returns (M x 2 samples, M pixel arc
    lengths). Repeated pixels (zero-length segments) are dropped."""
    if step_px <= 0:
        raise ValueError(f"densification step must be positive, got {step_px}")
    seg = np.diff(pixels, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    keep = seglen > 1e-9
    if not np.any(keep):
        return pixels[:1].copy(), np.zeros(1)
    starts = pixels[:-1][keep]
    seg, seglen = seg[keep], seglen[keep]
    n = np.maximum(np.ceil(seglen / step_px).astype(int), 1)
    idx = np.repeat(np.arange(len(n)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    out = starts[idx] + frac[:, None] * seg[idx]
    out = np.vstack([out, pixels[-1]])
    s0 = np.concatenate([[0.0], np.cumsum(seglen)])
    arc = np.concatenate([s0[idx] + frac * seglen[idx], [s0[-1]]])
    return out, arc
