"""The imaging area of an ultrasound frame: where the B-mode image is, as opposed to the
black background and the scanner's burned-in interface (text, depth rulers, grey bars,
markers) around it. Works for linear (rectangular) and convex (sector) images, raw frames
and screen grabs of any size and aspect.

The lit part of one frame (``lit_region``), on a copy scaled to at most ``WORK_SIDE`` px
(``work_copy``): pixels brighter than the background, kept where most of their
neighbourhood is bright (speckle is dense, text is sparse), opened with a disc wider than a
text stroke or a ruler tick; the largest remaining region and those at least
``JOIN_FRACTION`` of it. A region smaller than ``MIN_AREA_FRACTION`` of the frame or lower
than ``MIN_HEIGHT_FRACTION`` of it means no imaging area was found (``found`` False): the
whole frame is used. ``detect_imaging_area`` fills the lit part to its convex hull (a
sector or a rectangle is convex).

The lit part is not the whole imaging area where scanlines are dark (the probe lifted at
one edge, poor contact, a shadow): ``area_completion.detect_complete_area`` completes it to
the sector or rectangle it belongs to (what the quality assessor uses). Where frames come
from a live source or a sequence, ``ImagingAreaTracker`` keeps the union of recent
detections (it forgets an area after ``memory`` frames without it), so a lifted edge stays
inside the area; a probe preset or the configuration can also give the mask outright.
Pure numpy/OpenCV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

#: Longest side (px) of the working copy detection runs on.
WORK_SIDE = 256
#: Grey levels above the background at which a pixel may belong to the image.
CONTENT_LEVEL = 12
#: The frame's border is a flat background when this fraction of it lies within
#: +-``FLAT_SPREAD`` grey levels of its most common value (else the background is black).
FLAT_FRACTION = 0.3
FLAT_SPREAD = 2
#: A flat border brighter than this is not a screen background (a saturated frame).
MAX_BACKGROUND = 60
#: Regions at least this fraction of the largest one join it (a dark layer or shadow can
#: split the image in parts).
JOIN_FRACTION = 0.1
#: Fraction of a 7 x 7 (working px) neighbourhood that must be content.
DENSITY = 0.5
#: Diameter (working px) of the opening that removes text, ticks and thin lines.
OPEN_SIDE = 7
#: An area smaller than this fraction of the frame is not an imaging area.
MIN_AREA_FRACTION = 0.04
#: Regions narrower or lower than this fraction of the frame are interface (grey bars,
#: rulers), not image.
MIN_SIDE_FRACTION = 0.06
#: An imaging area spans at least this fraction of the frame's height (a band of lens
#: reverberation under a lifted probe is not one).
MIN_HEIGHT_FRACTION = 0.25
#: Dilation (working px) of the hull, so the area's edge pixels are kept.
EDGE_MARGIN = 1


@dataclass
class ImagingArea:
    """Where the image is in a frame: ``mask`` (HxW bool, full resolution), its bounding
    box ``(row0, row1, col0, col1)`` (end exclusive), and whether it was ``found`` (False:
    the whole frame stands in for it)."""

    mask: np.ndarray
    bbox: tuple[int, int, int, int]
    found: bool

    @property
    def fraction(self) -> float:
        """Fraction of the frame inside the imaging area."""
        return float(self.mask.mean())


def whole_frame(shape: tuple[int, int]) -> ImagingArea:
    """The whole frame as the imaging area (``found`` False)."""
    h, w = shape
    return ImagingArea(np.ones((h, w), bool), (0, h, 0, w), False)


def area_from_mask(mask: np.ndarray, found: bool = True) -> ImagingArea:
    """An ``ImagingArea`` from a given mask (HxW bool); an empty mask gives the whole frame."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"an imaging-area mask must be 2-D, got shape {m.shape}")
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return whole_frame(m.shape)
    return ImagingArea(m, (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1), found)


def work_copy(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame (HxW) scaled down to at most ``WORK_SIDE`` px on its longest side with area
    averaging (never up), and the scale (working px per frame px)."""
    h, w = image.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def to_frame_coords(
    points: np.ndarray, work_shape: tuple[int, int], shape: tuple[int, int]
) -> np.ndarray:
    """Working-copy pixel coordinates (N x 2, x then y) in the frame of ``shape`` (pixel
    centres scale about 0.5)."""
    (sh, sw), (h, w) = work_shape, shape
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.stack([(p[:, 0] + 0.5) * w / sw - 0.5, (p[:, 1] + 0.5) * h / sh - 0.5], axis=1)


def widened_area(mask: np.ndarray, work_shape: tuple[int, int]) -> ImagingArea:
    """A frame-size area ``mask`` (uint8) drawn from a working copy of ``work_shape``,
    widened by ``EDGE_MARGIN`` working px (at least 1 frame px) so its edge pixels stay
    inside."""
    h, w = mask.shape
    margin = max(1, round(EDGE_MARGIN * max(w / work_shape[1], h / work_shape[0])))
    return area_from_mask(cv2.dilate(mask, _disc(2 * margin + 1)) > 0)


def background_level(image: np.ndarray) -> int:
    """Grey level of a flat, dark screen background around the image (0 if the frame's
    border is not flat, e.g. a raw frame whose image reaches the border, or is bright)."""
    h, w = image.shape
    b = max(1, min(h, w) // 50)
    ring = np.concatenate(
        [image[:b].ravel(), image[-b:].ravel(), image[:, :b].ravel(), image[:, -b:].ravel()]
    )
    counts = np.bincount(ring, minlength=256)
    mode = int(np.argmax(counts))
    near = counts[max(0, mode - FLAT_SPREAD) : mode + FLAT_SPREAD + 1].sum()
    flat = near >= FLAT_FRACTION * ring.size
    return mode if flat and mode <= MAX_BACKGROUND else 0


def _disc(side: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def _check_frame(image: np.ndarray, who: str) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"{who} takes an HxW uint8 frame, got {img.dtype} {img.shape}")
    return img


@dataclass
class LitRegion:
    """The lit part of a frame on its working copy (``work_copy``): ``mask`` (bool), and
    ``content``, every pixel brighter than the background (bool; also the thin structures
    the opening removed, e.g. a lifted probe's face band)."""

    mask: np.ndarray
    content: np.ndarray


def lit_region(image: np.ndarray) -> LitRegion | None:
    """The lit part of one frame (HxW uint8) on its working copy: dense bright pixels,
    opened, the largest region and those at least ``JOIN_FRACTION`` of it; None when no
    imaging area is found (see the module doc)."""
    img = _check_frame(image, "lit_region")
    small, _ = work_copy(img)
    bright = small > background_level(small) + CONTENT_LEVEL
    density = cv2.blur(bright.astype(np.float32), (7, 7), borderType=cv2.BORDER_CONSTANT)
    dense = (density >= DENSITY).astype(np.uint8)
    opened = cv2.morphologyEx(dense, cv2.MORPH_OPEN, _disc(OPEN_SIDE))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if n <= 1:
        return None
    sh, sw = small.shape
    areas = stats[1:, cv2.CC_STAT_AREA].copy()
    thin = (stats[1:, cv2.CC_STAT_WIDTH] < MIN_SIDE_FRACTION * sw) | (
        stats[1:, cv2.CC_STAT_HEIGHT] < MIN_SIDE_FRACTION * sh
    )
    areas[thin] = 0
    if areas.max() < MIN_AREA_FRACTION * small.size:
        return None
    lit = np.isin(labels, 1 + np.flatnonzero(areas >= JOIN_FRACTION * areas.max()))
    rows = np.flatnonzero(lit.any(axis=1))
    if rows[-1] - rows[0] + 1 < MIN_HEIGHT_FRACTION * sh:
        return None
    return LitRegion(lit, bright)


def hull_area(lit: np.ndarray, shape: tuple[int, int]) -> ImagingArea:
    """The convex hull of a working-copy ``lit`` mask as the imaging area of a frame of
    ``shape`` (widened by ``EDGE_MARGIN``)."""
    h, w = shape
    hull = cv2.convexHull(cv2.findNonZero(lit.astype(np.uint8)))
    full = to_frame_coords(hull, lit.shape, shape)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(full).astype(np.int32), 1)
    return widened_area(mask, lit.shape)


def detect_imaging_area(image: np.ndarray) -> ImagingArea:
    """The imaging area of one frame (HxW uint8) as its lit part shows it: the convex hull
    of ``lit_region`` (a dark edge or a shadow stays outside; ``area_completion``
    completes it to the whole sector or rectangle)."""
    img = _check_frame(image, "detect_imaging_area")
    lit = lit_region(img)
    return whole_frame(img.shape) if lit is None else hull_area(lit.mask, img.shape)


class ImagingAreaTracker:
    """The imaging area of a frame sequence: the union of the single-frame detections
    (``detect``, default the lit part's hull; the assessor gives
    ``area_completion.detect_complete_area``) of the last ``memory`` frames (each pixel is
    kept while it was inside a detection within that many frames). Holds one HxW counter; a
    frame of another size starts afresh."""

    def __init__(
        self,
        memory: int = 300,
        detect: Callable[[np.ndarray], ImagingArea] = detect_imaging_area,
    ) -> None:
        if memory < 1:
            raise ValueError(f"ImagingAreaTracker memory must be >= 1 frame, got {memory}")
        self.memory = memory
        self.detect = detect
        self._age: np.ndarray | None = None  # frames since each pixel was last detected
        self._any = False

    def reset(self) -> None:
        """Forget what was seen."""
        self._age = None
        self._any = False

    def update(self, image: np.ndarray) -> ImagingArea:
        """Detect the area of ``image`` (HxW uint8) and return the tracked area."""
        area = self.detect(image)
        shape = area.mask.shape
        if self._age is None or self._age.shape != shape:
            self._age = np.full(shape, np.iinfo(np.int32).max // 2, np.int32)
            self._any = False
        age = self._age
        age += 1
        if area.found:
            age[area.mask] = 0
            self._any = True
        if not self._any:
            return area
        return area_from_mask(age < self.memory, found=True)


def crop_to_area(image: np.ndarray, area: ImagingArea) -> np.ndarray:
    """The bounding box of the imaging area, pixels outside the area set to 0 (uint8)."""
    r0, r1, c0, c1 = area.bbox
    crop = np.asarray(image)[r0:r1, c0:c1].copy()
    crop[~area.mask[r0:r1, c0:c1]] = 0
    return crop
