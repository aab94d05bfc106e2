"""The whole imaging area of one frame from its lit part. Where the probe is lifted at an
edge, under a shadow or with poor contact, only part of a sector or a rectangle is lit,
and the lit part (``imaging_area.lit_region``) is not the imaging area: the statistics,
the scanline view and the out-of-distribution checks of a partial area are those of
another picture. Every dark part of a B-mode image ends along scanlines, so a partly lit
image keeps its geometry:

- a **sector** (convex or phased probe): the lateral boundaries of the lit region
  (beam edges, and the edges of dark scanlines and shadows, all along beams) are lines
  through the apex; the left and right boundaries, each fitted with a line on the rows
  between ``FIT_TOP`` and ``FIT_BOTTOM`` of the lit height (the transducer face band above
  and the bottom arc below are left out; the line with the most points within ``TRIM``
  px, refitted to them), meet at the apex. The sector is then every pixel whose
  angle about the apex lies within the lit pixels' angles and whose distance lies within
  theirs, widened along the transducer face band: lens reverberation lights the whole face,
  also where it is lifted, in a band (``FACE_BAND`` of the depth range) below the face
  arc; often thinner than the lit region's opening keeps, it is followed in the frame's
  bright pixels from the lit fan outwards, one pixel of arc at a time, until a gap of more
  than ``FACE_GAP`` pixels. So a lifted edge is inside again.
- a **rectangle** (linear probe): both boundaries upright (slopes within ``UPRIGHT``):
  the lit region's bounding box, widened along the face band's reverberation lines as a
  sector is; in a raw frame (the lit region starts at the
  frame's top row: no screen around it) a linear image fills the frame, so the area is the
  whole frame.

Anything else (edges closing downwards: upside down; parallel (within ``PARALLEL``) but
slanted; an apex below
the lit region's top or a fan wider than ``MAX_FAN_DEG``) is left as the lit region's
convex hull. A probe lifted at both edges has no face band there, so its sector stays as
narrow as its lit part. Pure numpy/OpenCV.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np

from perception.quality.imaging_area import (
    ImagingArea,
    area_from_mask,
    hull_area,
    lit_region,
    to_frame_coords,
    whole_frame,
    widened_area,
)

#: Fraction of the lit region's height from its top where the edge fit starts (below the
#: transducer face band).
FIT_TOP = 0.15
#: Fraction of the lit region's height from its top where the edge fit ends (above the
#: bottom arc of a wide sector).
FIT_BOTTOM = 0.65
#: Fewest rows for an edge fit.
MIN_FIT_ROWS = 8
#: Boundary points within this distance (working px) of a line lie on it.
TRIM = 2.0
#: Boundary points the candidate lines of an edge fit go through.
CANDIDATES = 16
#: Edges whose slopes (dx/dy) differ by less than this are parallel (about 3 deg).
PARALLEL = 0.05
#: Edges both within this slope (dx/dy, about 6 deg) of vertical bound a rectangle (a
#: sector's edges lie 20 deg or more off vertical for fans from 40 deg).
UPRIGHT = 0.1
#: Widest fan (deg) a completed sector may have.
MAX_FAN_DEG = 150.0
#: Depth of the transducer face band, as a fraction of the sector's depth range.
FACE_BAND = 0.04
#: Largest gap (one-pixel steps along the face) in a face band.
FACE_GAP = 1
#: Points along each arc of a drawn sector.
ARC_POINTS = 90
#: The lit region starts within this many working px of the frame's top row: a raw frame.
RAW_TOP = 1


def _fit_edge(ys: np.ndarray, xs: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of x = a + b y fitted to boundary points: of the lines through
    two of ``CANDIDATES`` evenly spaced points, the one with the most points within
    ``TRIM`` px, refitted by least squares to those points (a boundary that changes course,
    e.g. along the top of a bone and then down its shadow, gives its longest straight
    part)."""
    pick = np.unique(np.linspace(0, ys.size - 1, CANDIDATES).round().astype(int))
    best, best_n = None, -1
    for i, j in itertools.combinations(pick, 2):
        b = (xs[j] - xs[i]) / (ys[j] - ys[i])
        n = int(np.count_nonzero(np.abs(xs - xs[i] - b * (ys - ys[i])) <= TRIM))
        if n > best_n:
            best, best_n = (i, b), n
    i, b = best
    keep = np.abs(xs - xs[i] - b * (ys - ys[i])) <= TRIM
    b, a = np.polyfit(ys[keep], xs[keep], 1)
    return float(b), float(a)


def _edges(lit: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The lit region's left and right boundaries fitted as lines x = a + b y (working px),
    on the rows between ``FIT_TOP`` and ``FIT_BOTTOM`` of its height."""
    rows = np.flatnonzero(lit.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    lo = top + int(FIT_TOP * (bottom - top))
    hi = top + int(FIT_BOTTOM * (bottom - top))
    sub = lit[lo : hi + 1]
    has = sub.any(axis=1)
    if has.sum() < MIN_FIT_ROWS:
        return None
    ys = np.arange(lo, hi + 1, dtype=np.float64)[has]
    left = np.argmax(sub, axis=1).astype(np.float64)[has]
    right = (sub.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)).astype(np.float64)[has]
    return _fit_edge(ys, left), _fit_edge(ys, right)


def _face_band(
    content: np.ndarray,
    apex: tuple[float, float],
    angles: tuple[float, float],
    radii: tuple[float, float],
) -> tuple[float, float]:
    """``angles`` (rad) widened along the transducer face band: bright pixels of
    ``content`` (working copy) within ``FACE_BAND`` of the depth range below the face
    (radius ``radii[0]``), in one-pixel angular steps, as far as they continue without a
    gap of more than ``FACE_GAP`` steps from the lit fan."""
    (ax, ay), (a0, a1), (r0, r1) = apex, angles, radii
    if r0 < 1.0:
        return a0, a1  # no face arc (a phased array's apex)
    band = max(2.0, FACE_BAND * (r1 - r0))
    yy, xx = np.nonzero(content)
    rad = np.hypot(xx - ax, yy - ay)
    near = (rad >= r0 - 1.0) & (rad <= r0 + band)
    ang = np.arctan2(xx[near] - ax, yy[near] - ay)
    step = 1.0 / r0  # one pixel along the face arc
    steps = int(math.radians(MAX_FAN_DEG) / step) + 1
    out = []
    for edge, sign in ((a0, -1.0), (a1, 1.0)):
        k = np.floor(sign * (ang - edge) / step).astype(int)  # steps outwards from the edge
        occupied = np.zeros(steps + 1, bool)
        occupied[k[(k >= 0) & (k <= steps)]] = True
        out.append(edge + sign * _walk(occupied, 0, 1) * step)
    return out[0], out[1]


def _walk(occupied: np.ndarray, start: int, sign: int) -> int:
    """The last index from ``start`` outwards (``sign`` +-1) of a run of ``occupied`` steps
    with gaps of at most ``FACE_GAP`` (``start`` itself if none)."""
    last, gap, j = start, 0, start + sign
    while 0 <= j < occupied.size:
        if occupied[j]:
            last, gap = j, 0
        else:
            gap += 1
            if gap > FACE_GAP:
                break
        j += sign
    return last


def _face_columns(
    content: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[int, int]:
    """A rectangle's columns ``cols`` (working px) widened along its face band: columns with
    bright pixels of ``content`` within ``FACE_BAND`` of its height (``rows``) below its top
    (lens reverberation under a lifted edge), continuing from the lit columns."""
    top, bottom = rows
    band = max(2, round(FACE_BAND * (bottom - top)))
    occupied = content[max(0, top - 1) : top + band + 1].any(axis=0)
    return _walk(occupied, cols[0], -1), _walk(occupied, cols[1], 1)


def _sector_mask(
    lit: np.ndarray,
    apex: tuple[float, float],
    shape: tuple[int, int],
    content: np.ndarray | None = None,
) -> np.ndarray | None:
    """The sector about ``apex`` (working px) spanning the lit pixels' angles (widened
    along the face band of ``content`` when given) and distances, drawn as a polygon
    (``ARC_POINTS`` per arc) in a frame of ``shape``; None for a fan wider than
    ``MAX_FAN_DEG``."""
    ax, ay = apex
    yy, xx = np.nonzero(lit)
    ang = np.arctan2(xx - ax, yy - ay)
    rad = np.hypot(xx - ax, yy - ay)
    a0, a1 = float(ang.min()), float(ang.max())
    r0, r1 = float(rad.min()), float(rad.max())
    if content is not None:
        a0, a1 = _face_band(content, apex, (a0, a1), (r0, r1))
    if math.degrees(a1 - a0) > MAX_FAN_DEG:
        return None
    t = np.linspace(a0, a1, ARC_POINTS)
    arcs = [(r1, t), (r0, t[::-1])] if r0 > 0 else [(r1, t), (0.0, t[:1])]
    pts = np.concatenate(
        [np.stack([ax + r * np.sin(a), ay + r * np.cos(a)], axis=1) for r, a in arcs]
    )
    full = to_frame_coords(pts, lit.shape, shape)
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(full).astype(np.int32)], 1)
    return mask


def complete_area(
    lit: np.ndarray, shape: tuple[int, int], content: np.ndarray | None = None
) -> ImagingArea | None:
    """The whole imaging area of a frame of ``shape`` from its working-copy ``lit`` mask
    (``imaging_area.lit_region``) and, optionally, its bright pixels ``content`` (working
    copy; the face band, thinner than the lit region's opening keeps, is found in it): the
    sector or rectangle it belongs to (see the module doc), or None when it is neither."""
    m = np.asarray(lit, dtype=bool)
    if m.ndim != 2 or not m.any():
        raise ValueError(f"complete_area needs a 2-D lit mask with lit pixels, got {m.shape}")
    edges = _edges(m)
    if edges is None:
        return None
    (bl, al), (br, ar) = edges
    rows = np.flatnonzero(m.any(axis=1))
    top = int(rows[0])
    if max(abs(bl), abs(br)) < UPRIGHT:
        if top <= RAW_TOP:
            return area_from_mask(np.ones(shape, bool))  # a raw linear frame is all image
        cols = np.flatnonzero(m.any(axis=0))
        c0, c1 = int(cols[0]), int(cols[-1])
        if content is not None:
            c0, c1 = _face_columns(content, (top, int(rows[-1])), (c0, c1))
        box = np.zeros(m.shape, np.uint8)
        box[top : rows[-1] + 1, c0 : c1 + 1] = 1
        h, w = shape
        return widened_area(cv2.resize(box, (w, h), interpolation=cv2.INTER_NEAREST), m.shape)
    if abs(br - bl) < PARALLEL:
        return None  # parallel but slanted: a strip of a sector, apex unknown
    if br <= bl:
        return None  # edges closing downwards: upside down
    y_apex = (al - ar) / (br - bl)
    if y_apex >= top:
        return None
    sector = _sector_mask(m, (al + bl * y_apex, y_apex), shape, content)
    if sector is None:
        return None
    return widened_area(sector, m.shape)


def detect_complete_area(image: np.ndarray) -> ImagingArea:
    """The imaging area of one frame (HxW uint8): its lit part completed to the sector or
    rectangle it belongs to, else the lit part's convex hull, else (nothing lit) the whole
    frame (``found`` False)."""
    img = np.asarray(image)
    lit = lit_region(img)
    if lit is None:
        return whole_frame(img.shape)
    area = complete_area(lit.mask, img.shape, lit.content)
    return area if area is not None else hull_area(lit.mask, img.shape)
