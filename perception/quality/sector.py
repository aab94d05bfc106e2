"""A convex (or phased) probe's sector in a displayed frame, and the frame resampled back
to scanlines: rows are depth along each beam, columns the beams from left to right. The
quality model and the confidence map look at this scanline image, so a 40 deg fan and a
90 deg fan, a linear and a convex probe all show tissue the same way: dark scanlines are
dark columns, a shadow is a dark band below a bright reflector.

``fit_sector(mask)``: the left and right edges of the imaging area (the first and last
pixel of each row, from its top down to its widest row) fitted with straight lines; edges
that are parallel (within ``PARALLEL``) mean a linear probe (None); otherwise the beams
meet at the apex above the area, the edges give the beam angles, and the nearest (below
the apex) and farthest pixels of the area from the apex the depth range.
``scanline_view(image, area)``: the image of the imaging area as the model and the
confidence map see it (the sector resampled bilinearly to scanlines, or the area's box
for a rectangle) and the area's mask in it. Pure numpy/OpenCV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from perception.quality.imaging_area import ImagingArea, area_from_mask, crop_to_area

#: Edges whose slopes (dx/dy) differ by less than this are parallel (about 3 deg).
PARALLEL = 0.05
#: Rows of the area's top this fraction of its height are not used for the edge fit.
SKIP_TOP = 0.05
#: Fewest rows with both edges for a fit.
MIN_ROWS = 8
#: Largest side (px) of a scanline image.
MAX_SIDE = 512


@dataclass(frozen=True)
class Sector:
    """A sector in frame pixels: apex (x, y), beam angles from straight down (rad, left
    negative, right positive), and the depth range from the apex (px)."""

    apex: tuple[float, float]
    angles: tuple[float, float]
    radii: tuple[float, float]

    @property
    def fan_deg(self) -> float:
        """Field of view (degrees)."""
        return math.degrees(self.angles[1] - self.angles[0])


def _edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows and the left and right edge of each, from below the top (``SKIP_TOP``) down to
    the last row of (almost) the largest width: below it a sector's edge is its bottom arc."""
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = rows[0], rows[-1]
    width = mask.sum(axis=1)
    wide = np.flatnonzero(width >= width.max() - max(2, 0.01 * width.max()))
    lo = top + int(SKIP_TOP * (bottom - top))
    hi = int(wide[-1])
    ys = np.arange(lo, hi + 1)
    sub = mask[lo : hi + 1]
    has = sub.any(axis=1)
    left = np.argmax(sub, axis=1).astype(np.float64)
    right = (sub.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)).astype(np.float64)
    return ys[has].astype(np.float64), left[has], right[has]


def fit_sector(mask: np.ndarray) -> Sector | None:
    """The sector of an imaging-area mask (HxW bool), or None for a rectangle (linear
    probe), an area too small to fit, or a sector whose apex is not above it."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2 or not m.any():
        return None
    ys, left, right = _edges(m)
    rows = np.flatnonzero(m.any(axis=1))
    if ys.size < MIN_ROWS or ys[-1] < rows[0] + 0.5 * (rows[-1] - rows[0]):
        return None  # too few rows, or widest near the top: not a sector the right way up
    bl, al = np.polyfit(ys, left, 1)
    br, ar = np.polyfit(ys, right, 1)
    if abs(br - bl) < PARALLEL or br <= bl:
        return None  # parallel edges, or edges closing downwards (upside down)
    y_apex = (al - ar) / (br - bl)
    x_apex = al + bl * y_apex
    top = np.flatnonzero(m.any(axis=1))[0]
    if y_apex >= top:
        return None
    yy, xx = np.nonzero(m)
    r = np.hypot(xx - x_apex, yy - y_apex)
    centre = np.abs(xx - x_apex) <= max(1.0, 0.02 * m.shape[1])
    r0 = float(r[centre].min()) if centre.any() else float(r.min())
    return Sector(
        apex=(float(x_apex), float(y_apex)),
        angles=(float(math.atan(bl)), float(math.atan(br))),
        radii=(r0, float(r.max())),
    )


def sector_maps(sector: Sector, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (float32, ``shape`` = (rows, columns)) from a scanline image to the
    frame: row k at depth r0 + k (r1 - r0) / (rows - 1), column j at the j-th angle."""
    rows, cols = shape
    r = np.linspace(sector.radii[0], sector.radii[1], rows)[:, None]
    a = np.linspace(sector.angles[0], sector.angles[1], cols)[None, :]
    x0, y0 = sector.apex
    return (x0 + r * np.sin(a)).astype(np.float32), (y0 + r * np.cos(a)).astype(np.float32)


#: ``scanline_view``'s ``sector`` when the caller has not fitted it.
FIT = object()


def scanline_view(
    image: np.ndarray, area: ImagingArea, sector: Sector | object | None = FIT
) -> tuple[np.ndarray, np.ndarray]:
    """What the model and the confidence map see of a frame (HxW uint8): its sector
    resampled to scanlines, or, for a rectangular area, the area's box (outside 0); and
    the mask of the imaging area in that view. An upside-down sector (apex below) gives
    its scanlines upside down, as the frame shows them (the model's flipped head sees
    that). ``sector``: the area's ``fit_sector`` result (None: not a sector) when the
    caller has it already; by default it is fitted here."""
    if sector is FIT:
        sector = fit_sector(area.mask) if area.found else None
    upside_down = fit_sector(area.mask[::-1]) if sector is None and area.found else None
    if upside_down is not None:
        flipped = area_from_mask(area.mask[::-1])
        view, inside = scanline_view(np.ascontiguousarray(image[::-1]), flipped, upside_down)
        return np.ascontiguousarray(view[::-1]), np.ascontiguousarray(inside[::-1])
    if sector is None:
        r0, r1, c0, c1 = area.bbox
        return crop_to_area(image, area), area.mask[r0:r1, c0:c1].copy()
    (d0, d1), (a0, a1) = sector.radii, sector.angles
    rows = int(np.clip(round(d1 - d0), 8, MAX_SIDE))
    cols = int(np.clip(round((a1 - a0) * 0.5 * (d0 + d1)), 8, MAX_SIDE))
    mx, my = sector_maps(sector, (rows, cols))
    masked = np.where(area.mask, image, 0).astype(np.uint8)
    view = cv2.remap(masked, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = cv2.remap(
        area.mask.astype(np.uint8), mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
    )
    return view, inside > 0
