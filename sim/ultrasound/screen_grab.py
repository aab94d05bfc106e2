"""A simulated frame as a scanner's screen shows it, for training and testing image quality
on screen grabs: the image resampled to square display pixels at a random size, placed on
a dark screen of a common size, with burned-in interface around and over it (text lines,
a depth ruler with tick labels, a grey-scale bar, a focus marker, an orientation mark,
calipers inside the image, a TGC curve), and optionally JPEG-compressed like a video
grabber. Returns the screen and the mask of the imaging area on it. Pure numpy/OpenCV,
deterministic for a given random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Screen sizes (width, height) px a grab comes in.
SCREEN_SIZES: tuple[tuple[int, int], ...] = (
    (640, 480),
    (720, 576),
    (800, 600),
    (1024, 768),
    (1280, 720),
    (960, 720),
)
#: Words the interface text is made of.
WORDS = (
    "MI 1.1", "TIS 0.4", "TIB 0.2", "C5-2", "L12-4", "ABD", "MSK", "VASC", "THY", "2D",
    "FR 32Hz", "FR 18Hz", "G 54", "Gn 60", "DR 60", "DR 72", "P 100%", "FOC", "HAR",
    "ID 000123", "PAT DOE J", "2024/05/12", "10:41:07", "ZOOM 1.0", "SRI II 3", "CRI",
)  # fmt: skip


@dataclass
class ScreenGrab:
    """A screen (HxW uint8) and the mask of the imaging area on it (HxW bool)."""

    image: np.ndarray
    area_mask: np.ndarray


def display_frame(
    image: np.ndarray,
    spacing_m: tuple[float, float],
    fov_mask: np.ndarray | None,
    height_px: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The frame resampled to square pixels ``height_px`` rows high (bilinear, as a scanner
    interpolates) and its field-of-view mask (all True for a linear frame)."""
    h, w = image.shape
    sx, sy = spacing_m
    width_px = max(8, round(height_px * (w * sx) / (h * sy))) if sx > 0 and sy > 0 else w
    out = cv2.resize(image, (width_px, height_px), interpolation=cv2.INTER_LINEAR)
    if fov_mask is None:
        return out, np.ones(out.shape, bool)
    m = cv2.resize(fov_mask.astype(np.uint8), (width_px, height_px), cv2.INTER_NEAREST)
    return out, m.astype(bool)


def _text(screen: np.ndarray, rng: np.random.Generator, org: tuple[int, int], level: int) -> None:
    words = rng.choice(len(WORDS), size=rng.integers(1, 3), replace=False)
    scale = float(rng.uniform(0.35, 0.6))
    txt = "  ".join(WORDS[i] for i in words)
    cv2.putText(screen, txt, org, cv2.FONT_HERSHEY_SIMPLEX, scale, level, 1, cv2.LINE_AA)


def _ruler(screen, rng, x: int, top: int, height: int, depth_m: float, level: int) -> None:
    """Depth ruler: a vertical line with a tick every cm and labels every few cm."""
    cv2.line(screen, (x, top), (x, top + height), level, 1)
    n_cm = max(1, int(depth_m * 100))
    every = 1 if n_cm <= 6 else (2 if n_cm <= 12 else 5)
    for k in range(n_cm + 1):
        y = top + round(k / (depth_m * 100) * height)
        long = k % every == 0
        cv2.line(screen, (x, y), (x + (8 if long else 4), y), level, 1)
        if long and k > 0:
            cv2.putText(screen, str(k), (x + 10, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, level, 1)


def compose_screen_grab(
    image: np.ndarray,
    spacing_m: tuple[float, float],
    fov_mask: np.ndarray | None,
    rng: np.random.Generator,
    jpeg: bool | None = None,
) -> ScreenGrab:
    """``image`` (HxW uint8, pixel spacing ``spacing_m`` lateral, axial m; ``fov_mask``
    the field of view for a sector image, None for a full frame) shown on a random screen
    with burned-in interface; JPEG-compressed when ``jpeg`` (None: at random)."""
    sw, sh = SCREEN_SIZES[rng.integers(len(SCREEN_SIZES))]
    depth_m = image.shape[0] * spacing_m[1]
    area_h = int(rng.uniform(0.55, 0.88) * sh)
    disp, fov = display_frame(image, spacing_m, fov_mask, area_h)
    if disp.shape[1] > 0.8 * sw:  # a wide image: shrink it to fit beside the interface
        area_h = int(area_h * 0.8 * sw / disp.shape[1])
        disp, fov = display_frame(image, spacing_m, fov_mask, area_h)
    ah, aw = disp.shape
    background = int(rng.choice([0, 0, 0, rng.integers(1, 25)]))
    screen = np.full((sh, sw), background, np.uint8)
    top = int(rng.integers(max(1, int(0.04 * sh)), max(2, sh - ah - 2)))
    free = sw - aw
    left = int(np.clip(free // 2 + rng.integers(-free // 4 - 1, free // 4 + 1), 1, free - 1))
    area = screen[top : top + ah, left : left + aw]
    area[fov] = disp[fov]
    mask = np.zeros((sh, sw), bool)
    mask[top : top + ah, left : left + aw] = fov

    level = int(rng.integers(150, 256))
    spots = [(int(rng.integers(4, max(5, sw - 160))), int(rng.integers(12, max(13, top - 8))))]
    spots += [(int(rng.integers(4, max(5, left - 40))), int(rng.integers(top, sh - 4)))]
    spots += [(int(rng.integers(min(sw - 5, left + aw + 40), sw - 4)), int(rng.integers(12, sh)))]
    if fov_mask is not None:  # a sector leaves the top corners of its box free
        spots += [(left + 2, top + 12), (left + aw - 90, top + 12)]
    for i in rng.permutation(len(spots))[: rng.integers(2, len(spots) + 1)]:
        _text(screen, rng, spots[i], level)
    if rng.random() < 0.85:
        rx = min(sw - 30, left + aw + int(rng.integers(3, 15)))
        _ruler(screen, rng, rx, top, ah, depth_m, level)
        fy = top + int(rng.uniform(0.2, 0.8) * ah)  # focus marker beside the ruler
        tri = np.array([[rx - 2, fy], [rx - 9, fy - 5], [rx - 9, fy + 5]], np.int32)
        cv2.fillConvexPoly(screen, tri, level)
    if rng.random() < 0.6 and left > 30:  # grey-scale bar
        bw, bh = int(rng.integers(6, 16)), int(rng.uniform(0.3, 0.6) * ah)
        bx, by = int(rng.integers(4, left - bw - 4)), top + int(rng.integers(0, ah - bh))
        screen[by : by + bh, bx : bx + bw] = np.linspace(255, 0, bh, dtype=np.uint8)[:, None]
    if rng.random() < 0.7:  # orientation mark near the top left of the image
        cx, cy = left + int(rng.integers(2, 20)), max(6, top - int(rng.integers(2, 12)))
        cv2.circle(screen, (cx, cy), int(rng.integers(2, 6)), level, -1)
    if rng.random() < 0.3:  # calipers over the image
        for _ in range(2):
            cx, cy = left + int(rng.uniform(0.2, 0.8) * aw), top + int(rng.uniform(0.2, 0.8) * ah)
            cv2.drawMarker(screen, (cx, cy), level, cv2.MARKER_CROSS, 9, 1)
    if rng.random() < 0.3 and left > 40:  # a TGC curve in the left margin
        ys = np.linspace(top, top + ah, 8)
        xs = left - 35 + rng.uniform(0, 25, 8)
        cv2.polylines(screen, [np.stack([xs, ys], 1).astype(np.int32)], False, level, 1)
    if jpeg if jpeg is not None else rng.random() < 0.5:
        quality = int(rng.integers(50, 96))
        ok, buf = cv2.imencode(".jpg", screen, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            screen = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return ScreenGrab(screen, mask)
