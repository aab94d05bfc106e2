"""Statistics of a displayed B-mode frame that say whether it looks like one and how well
it is formed, independent of probe geometry: computed on the imaging area
(``perception.quality.imaging_area``) scaled to ``ANALYSIS_SIDE`` px (never up: a
smaller area is measured as it is), away from its edge.

- ``spread``: max - min grey level of the whole frame (a blank frame has none);
- ``saturated``: fraction of the area's pixels above the display floor that are at or
  above ``WHITE`` (gain too high);
- ``textured``: fraction of the area that is neither clipped dark nor white (texture
  statistics below need some: a dark no-contact frame has little);
- ``flat``: fraction of those pixels whose gradient is below ``FLAT_GRADIENT``: speckle
  varies everywhere, piecewise-constant or smooth pictures do not;
- ``bright``: the 90th percentile grey level of the area (gain too low when small);
- ``sharpness``: sqrt(mean |grad I|^2 / var I) (1/px at the analysis size): the mean
  spatial frequency of the texture. Gaussian blur lowers it for any image (the mean of
  k^2 under a spectrum multiplied by exp(-sigma^2 k^2) falls as sigma grows);
- ``correlation``: the larger lag-1 autocorrelation along rows or columns: speckle is
  correlated over the point-spread function, i.i.d. noise is not;
- ``skewness``: of the grey levels of the area's unclipped pixels: log-compressed speckle
  has a long dark tail (negative skew; -1.14 for fully developed speckle in dB), an
  inverted frame a bright one;
- ``detail``: the sharpness of the pixels within ``DETAIL_RANGE`` grey levels below
  ``bright`` (and not white): the same at any gain as long as that range stays above the
  display floor (gain shifts every grey level alike), where ``sharpness`` rises when gain
  falls, because a dim layer and the dark tail of the speckle sink under the floor and
  leave the pixels it is measured on (their variance shrinks). The blur factor of the
  score uses it (``degradation``); the out-of-distribution checks use ``sharpness``.

Pure numpy/OpenCV.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from perception.quality.imaging_area import ImagingArea, background_level

#: Side (px) of the square the imaging area is scaled to for the statistics.
ANALYSIS_SIDE = 128
#: Grey level counted as white (saturated).
WHITE = 250
#: Pixels at most this many grey levels above the screen background (0 for a raw frame)
#: are clipped dark (below the display floor).
DARK = 2
#: The area is eroded by this many analysis px before measuring texture.
EDGE = 3
#: Fewest textured pixels for texture statistics (else they are NaN).
MIN_PIXELS = 200
#: Gradient (grey levels per analysis px) below which a pixel counts as flat.
FLAT_GRADIENT = 1.0
#: Grey levels below the 90th percentile that ``detail`` is measured over (20 dB of a
#: 50 dB display).
DETAIL_RANGE = 100.0


@dataclass
class ImageStats:
    """See the module doc. Texture statistics are NaN when the area has too few
    unclipped pixels (e.g. a dark frame)."""

    spread: float
    saturated: float
    bright: float
    textured: float
    flat: float
    sharpness: float
    correlation: float
    skewness: float
    detail: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        """Rounded, JSON-ready."""
        return {k: (None if np.isnan(v) else round(float(v), 4)) for k, v in asdict(self).items()}


def _lag1(x: np.ndarray, m: np.ndarray, axis: int) -> float:
    a = np.take(x, range(x.shape[axis] - 1), axis=axis)
    b = np.take(x, range(1, x.shape[axis]), axis=axis)
    ok = np.take(m, range(m.shape[axis] - 1), axis=axis) & np.take(
        m, range(1, m.shape[axis]), axis=axis
    )
    if ok.sum() < MIN_PIXELS:
        return float("nan")
    a, b = a[ok], b[ok]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan")
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def _interior(pixels: np.ndarray) -> np.ndarray:
    """The ``pixels`` (bool) whose four neighbours are ``pixels`` too (their gradient is
    theirs alone)."""
    both = pixels & np.roll(pixels, 1, 0) & np.roll(pixels, -1, 0)
    return both & np.roll(pixels, 1, 1) & np.roll(pixels, -1, 1)


def _sharpness(x: np.ndarray, g2: np.ndarray, pixels: np.ndarray) -> float:
    """sqrt(mean |grad|^2 / variance) over ``pixels`` (bool; ``g2`` the squared gradient),
    the gradient only at their interior; NaN with too few pixels or no variance."""
    both = _interior(pixels)
    var = float(x[pixels].var()) if pixels.any() else 0.0
    if both.sum() < MIN_PIXELS or var <= 0:
        return float("nan")
    return float(np.sqrt(np.mean(g2[both]) / var))


def image_stats(image: np.ndarray, area: ImagingArea) -> ImageStats:
    """Statistics of a frame (HxW uint8) within its imaging area (see the module doc)."""
    img = np.asarray(image)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"image_stats takes an HxW uint8 frame, got {img.dtype} {img.shape}")
    r0, r1, c0, c1 = area.bbox
    crop = img[r0:r1, c0:c1]
    m = area.mask[r0:r1, c0:c1]
    size = (min(ANALYSIS_SIDE, crop.shape[1]), min(ANALYSIS_SIDE, crop.shape[0]))  # no upsampling
    x = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    inner = cv2.erode(mask.astype(np.uint8), np.ones((2 * EDGE + 1,) * 2, np.uint8)) > 0
    if inner.sum() < MIN_PIXELS:
        inner = mask
    dark = background_level(img) + DARK
    vals = x[mask]
    lit = vals[vals > dark]
    saturated = float(np.mean(lit >= WHITE)) if lit.size else 0.0
    bright = float(np.percentile(vals, 90)) if vals.size else 0.0

    # texture statistics on unclipped pixels away from the area's edge
    unclipped = inner & (x > dark) & (x < WHITE)
    textured = float(unclipped.sum() / max(1, inner.sum()))
    nan = float("nan")
    sharp = corr = skew = flat = detail = nan
    if unclipped.sum() >= MIN_PIXELS:
        gy, gx = np.gradient(x)
        g2 = gx**2 + gy**2
        v = x[unclipped]
        var = float(v.var())
        sharp = _sharpness(x, g2, unclipped)
        both = _interior(unclipped)
        if both.sum() >= MIN_PIXELS:
            flat = float(np.mean(g2[both] < FLAT_GRADIENT**2))
        lags = [c for c in (_lag1(x, unclipped, 0), _lag1(x, unclipped, 1)) if not np.isnan(c)]
        corr = max(lags) if lags else nan
        if var > 0:
            skew = float(np.mean((v - v.mean()) ** 3) / var**1.5)
        detail = _sharpness(x, g2, unclipped & (x > bright - DETAIL_RANGE))

    return ImageStats(
        spread=float(int(img.max()) - int(img.min())),
        saturated=saturated,
        bright=bright,
        textured=textured,
        flat=flat,
        sharpness=sharp,
        correlation=float(corr),
        skewness=skew,
        detail=detail,
    )
