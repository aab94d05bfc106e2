"""Temporal calibration of tracked ultrasound: the lag between the image stream's
timestamps and the pose stream, estimated from a sweep.

PLUS correlates a structure's image position (a line phantom's depth) with the probe's
position while the probe moves up and down over it. A robotic sweep moves the probe along
the skin once, so a structure's image position cannot tell a time lag from a spatial offset.
What a sweep does have is changing speed (start, slow-downs, pauses, stop): the image
signal here is how much the picture changed between consecutive frames, the speckle
decorrelation distance ``sqrt(-ln ncc)`` (proportional to the probe's displacement for
Gaussian-correlated speckle; median over image patches), and the pose signal the probe's
displacement over the same interval evaluated at ``t - lag``. Give it the frames of the
sweep itself: the probe pressing in or lifting off moves along the beam, which changes the
picture at another rate than moving along the skin. The lag is the one that maximises their Pearson
correlation (grid search, refined by a parabola through the peak).

Sign: a positive lag means image timestamps run late, the frame stamped ``t`` shows the
probe where it was at ``t - lag``. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Pairs of frames further apart than this many median frame periods are not compared
#: (they straddle a gap in the sweep, e.g. frames left out).
MAX_PAIR_GAP = 1.5
#: The estimate is trusted above this peak correlation.
MIN_CORRELATION = 0.8
#: ... and if the probe's speed varied: coefficient of variation of the displacements.
MIN_MOTION_VARIATION = 0.1
#: Fewest frame pairs an estimate needs.
MIN_PAIRS = 20
#: Images are decimated by this factor per axis before the correlation (speed).
DECIMATE = 2
#: Grid step of the lag search (s).
LAG_STEP = 1e-3
#: Patch edge (pixels after decimation) of the image-change measure.
PATCH = 16
#: Patches darker than this mean grey level (anechoic, shadow) hold no speckle to compare.
MIN_PATCH_MEAN = 20.0


@dataclass
class LagEstimate:
    """The estimated lag (s, see module docstring), the peak correlation, the number of
    frame pairs used, whether to trust it (``ok``) and why not (``reason``), and the
    correlation curve (lags in s, correlation)."""

    lag: float
    correlation: float
    pairs: int
    ok: bool
    reason: str = ""
    lags: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve: np.ndarray = field(default_factory=lambda: np.zeros(0))


def image_change(images: np.ndarray) -> np.ndarray:
    """How much each frame changed from the previous one (n - 1 values, 0 for identical
    frames): the speckle decorrelation distance ``sqrt(-ln ncc)`` of ``PATCH`` x ``PATCH``
    patches (after decimation), median over the patches bright enough to hold speckle.
    Patches keep a static structure (a vessel's wall) from masking the speckle's change."""
    im = np.asarray(images)[:, ::DECIMATE, ::DECIMATE].astype(np.float32)
    n, h, w = im.shape
    ph, pw = max(h // PATCH, 1), max(w // PATCH, 1)
    sh, sw = min(PATCH, h), min(PATCH, w)
    im = im[:, : ph * sh, : pw * sw].reshape(n, ph, sh, pw, sw).transpose(0, 1, 3, 2, 4)
    im = im.reshape(n, ph * pw, sh * sw)
    mean = im.mean(axis=-1, keepdims=True)
    c = im - mean
    a, b = c[1:], c[:-1]
    num = np.einsum("npk,npk->np", a, b)
    den = np.sqrt(np.einsum("npk,npk->np", a, a) * np.einsum("npk,npk->np", b, b))
    ncc = np.where(den > 0, num / np.maximum(den, 1e-12), 1.0)
    dist = np.sqrt(-np.log(np.clip(ncc, 1e-6, 1.0)))
    bright = (mean[1:, :, 0] > MIN_PATCH_MEAN) & (mean[:-1, :, 0] > MIN_PATCH_MEAN)
    dist = np.where(bright, dist, np.nan)
    out = np.zeros(n - 1)
    some = bright.any(axis=1)
    out[some] = np.nanmedian(dist[some], axis=1)
    return out


def _interp(t: np.ndarray, pose_t: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(t, pose_t, positions[:, k]) for k in range(3)], axis=1)


def estimate_lag(
    frame_t: np.ndarray,
    images: np.ndarray,
    pose_t: np.ndarray,
    positions: np.ndarray,
    max_lag: float = 0.2,
) -> LagEstimate:
    """Lag (s) between frames (times ``frame_t``, s, increasing; images n x H x W) and the
    pose stream (times ``pose_t``, s, increasing; probe positions M x 3, m), searched in
    [-max_lag, max_lag]. Frames should be the sweep's in-contact frames."""
    frame_t = np.asarray(frame_t, dtype=np.float64)
    pose_t = np.asarray(pose_t, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    if len(frame_t) < MIN_PAIRS + 1:
        return LagEstimate(0.0, 0.0, 0, False, f"{len(frame_t)} frames are too few")
    dt = np.diff(frame_t)
    pair = dt <= MAX_PAIR_GAP * np.median(dt)
    change = image_change(images)[pair]
    t1, t0 = frame_t[1:][pair], frame_t[:-1][pair]
    n = len(change)
    if n < MIN_PAIRS:
        return LagEstimate(0.0, 0.0, n, False, f"{n} consecutive frame pairs are too few")
    lags = np.arange(-max_lag, max_lag + 0.5 * LAG_STEP, LAG_STEP)
    curve = np.empty(len(lags))
    for k, lag in enumerate(lags):
        d = np.linalg.norm(
            _interp(t1 - lag, pose_t, positions) - _interp(t0 - lag, pose_t, positions), axis=1
        )
        curve[k] = 0.0 if d.std() == 0 else np.corrcoef(change, d)[0, 1]
    k = int(np.argmax(curve))
    lag = float(lags[k])
    if 0 < k < len(lags) - 1:
        y0, y1, y2 = curve[k - 1 : k + 2]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag += float(0.5 * (y0 - y2) / den) * LAG_STEP
    d0 = np.linalg.norm(_interp(t1, pose_t, positions) - _interp(t0, pose_t, positions), axis=1)
    variation = float(d0.std() / d0.mean()) if d0.mean() > 0 else 0.0
    peak = float(curve[k])
    reason = ""
    if variation < MIN_MOTION_VARIATION:
        reason = (
            f"the probe's speed hardly varied (variation {variation:.2f}): a lag looks like "
            "an offset along the path"
        )
    elif peak < MIN_CORRELATION:
        reason = f"weak correlation {peak:.2f} < {MIN_CORRELATION}"
    elif k in (0, len(lags) - 1):
        reason = f"the best lag lies at the search limit ±{max_lag * 1e3:.0f} ms"
    return LagEstimate(lag, peak, n, not reason, reason, lags, curve)
