"""Compounding tracked 2D frames into a voxel volume (freehand 3D ultrasound, as PLUS's
volume reconstructor does): every pixel goes to the voxel(s) at its position, values are
averaged, holes no frame reached are filled from their neighbours up to a set distance,
and a mask says which voxels were actually imaged.

Frames come as images (n x H x W) with ``T_grid_pixel`` (n x 4 x 4): maps pixel coordinates
(column, row, 0, 1) to the grid's frame (m; the robot base frame in use). The grid is
axis-aligned in that frame, indices (i, j, k) along its x, y, z. Pixels are splatted either
into the nearest voxel (``nearest``, PLUS's NEAREST_NEIGHBOR) or over the 8 voxels around
it with trilinear weights (``linear``); sums go through ``np.bincount`` (vectorised, a few
frames at a time). Pure numpy/scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robot_us.core.registry import Registry

#: Largest volume (voxels) a grid may have: about 0.7 GB of accumulators.
MAX_VOXELS = 60_000_000
#: Empty border around the frames' extent (voxels).
GRID_MARGIN = 2
#: Frames splatted per vectorised batch (bounds the temporary arrays to ~100 MB).
BATCH_FRAMES = 16
#: A hole is filled only where the neighbours' weight reaches this fraction of a fully
#: imaged neighbourhood (the normalised convolution's support).
MIN_FILL_SUPPORT = 0.05


@dataclass(frozen=True)
class VolumeGrid:
    """An axis-aligned voxel grid: ``origin`` (3, m) is the centre of voxel (0, 0, 0),
    ``spacing`` (m) the voxel edge, ``shape`` (nx, ny, nz) voxels along x, y, z."""

    origin: np.ndarray
    spacing: float
    shape: tuple[int, int, int]

    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(np.prod(self.shape))

    def ijk_to_frame(self) -> np.ndarray:
        """4x4 mapping voxel indices (i, j, k, 1) to the grid's frame (m)."""
        T = np.eye(4)
        T[:3, :3] *= self.spacing
        T[:3, 3] = self.origin
        return T

    def axis(self, k: int) -> np.ndarray:
        """Voxel centre coordinates along axis ``k`` (m)."""
        return self.origin[k] + self.spacing * np.arange(self.shape[k])

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 3, m) -> continuous voxel indices (..., 3)."""
        return (np.asarray(points, dtype=np.float64) - self.origin) / self.spacing


def frame_corners(T_grid_pixel: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """The four corner pixel centres of each frame in the grid's frame: (n * 4, 3) m."""
    h, w = image_shape
    c = np.array([[0, 0, 0, 1], [w - 1, 0, 0, 1], [0, h - 1, 0, 1], [w - 1, h - 1, 0, 1]], float)
    pts = np.einsum("nij,cj->nci", np.asarray(T_grid_pixel, float)[:, :3], c)
    return pts.reshape(-1, 3)


def grid_around(
    T_grid_pixel: np.ndarray,
    image_shape: tuple[int, int],
    spacing: float,
    margin: float = 0.0,
) -> VolumeGrid:
    """The smallest axis-aligned grid of ``spacing`` (m) holding every frame, with a
    ``GRID_MARGIN``-voxel border plus ``margin`` (m). Raises ``ValueError`` for no frames
    or too many voxels."""
    if len(T_grid_pixel) == 0:
        raise ValueError("no frames to reconstruct")
    pts = frame_corners(T_grid_pixel, image_shape)
    lo = pts.min(axis=0) - GRID_MARGIN * spacing - margin
    hi = pts.max(axis=0) + GRID_MARGIN * spacing + margin
    shape = tuple(int(n) for n in np.ceil((hi - lo) / spacing).astype(int) + 1)
    n = int(np.prod(shape))
    if n > MAX_VOXELS:
        ext = (hi - lo) * 1e3
        raise ValueError(
            f"a {ext[0]:.0f} x {ext[1]:.0f} x {ext[2]:.0f} mm volume at {spacing * 1e3:g} mm "
            f"voxels would hold {n / 1e6:.0f} M voxels (limit {MAX_VOXELS / 1e6:.0f} M): "
            "choose a coarser spacing"
        )
    return VolumeGrid(origin=lo, spacing=float(spacing), shape=shape)  # type: ignore[arg-type]


def _flat(i: np.ndarray, j: np.ndarray, k: np.ndarray, shape: tuple[int, int, int]):
    """Flat index of integer voxel index arrays in a box of ``shape``."""
    return (i * (shape[1] * shape[2]) + j * shape[2]) + k


def _nearest(idx: tuple[np.ndarray, ...], vals: np.ndarray, shape: tuple[int, int, int]):
    """(flat voxel indices, values, None) of nearest-voxel splatting (weight 1 per pixel:
    the caller counts pixels). Indices are >= -0.5, so truncating idx + 0.5 rounds."""
    return _flat(*((a + 0.5).astype(np.int64) for a in idx), shape), vals, None


def _linear(idx: tuple[np.ndarray, ...], vals: np.ndarray, shape: tuple[int, int, int]):
    """(flat voxel indices, weighted values, weights) of trilinear splatting: each pixel
    spread over the 8 voxels around it (indices are >= 0 here, clipped at the far end)."""
    base = [np.floor(a) for a in idx]
    frac = [a - b for a, b in zip(idx, base, strict=True)]
    lo = [np.maximum(b, 0).astype(np.int64) for b in base]
    top = [np.minimum(b + 1, n - 1) for b, n in zip(lo, shape, strict=True)]
    flats, wvals, weights = [], [], []
    for corner in np.ndindex(2, 2, 2):
        ijk = [t if c else b for c, b, t in zip(corner, lo, top, strict=True)]
        w = np.ones_like(vals)
        for c, f in zip(corner, frac, strict=True):
            w *= f if c else 1.0 - f
        flats.append(_flat(*ijk, shape))
        wvals.append(w * vals)
        weights.append(w)
    return np.concatenate(flats), np.concatenate(wvals), np.concatenate(weights)


#: Pixel splatting by ``reconstruction.interpolation``: ``f(index arrays (i, j, k),
#: values, shape) -> (flat voxel indices, values to add, weights to add or None)``.
SPLATTERS: Registry = Registry("interpolation")
SPLATTERS.register("nearest", _nearest)
SPLATTERS.register("linear", _linear)


class Compounder:
    """Accumulates frames into ``grid`` (value sums and weights, float64); ``add`` can be
    called batch after batch (live insertion) before ``result``."""

    def __init__(self, grid: VolumeGrid, interpolation: str = "nearest") -> None:
        self.grid = grid
        self._splat = SPLATTERS.get(interpolation)
        self.value_sum = np.zeros(grid.size)
        self.weight = np.zeros(grid.size)
        self.frames = 0

    def _pixels(self, shape: tuple[int, int], mask: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """Column and row coordinates (float32) of the used pixels: broadcastable (1 x W,
        H x 1) for a whole image, flat (P,) under a mask."""
        h, w = shape
        u = np.arange(w, dtype=np.float32)[None, :]
        v = np.arange(h, dtype=np.float32)[:, None]
        if mask is None:
            return u, v
        m = np.asarray(mask, bool)
        return np.broadcast_to(u, shape)[m], np.broadcast_to(v, shape)[m]

    def add(
        self,
        images: np.ndarray,
        T_grid_pixel: np.ndarray,
        pixel_mask: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> None:
        """Splat ``images`` (n x H x W) at ``T_grid_pixel`` (n x 4 x 4, pixel -> grid frame,
        m); ``pixel_mask`` (H x W bool) limits the pixels used (e.g. a sector's inside);
        ``rows`` (n x H) gives each frame's rows their own (non-uniform) row coordinate
        (e.g. corrected for compression), without a mask. Pixels falling outside the grid
        are dropped."""
        images = np.asarray(images)
        T = np.asarray(T_grid_pixel, dtype=np.float64)
        if images.ndim != 3 or T.shape != (len(images), 4, 4):
            raise ValueError(
                f"need n x H x W images and n x 4 x 4 transforms, got {images.shape}, {T.shape}"
            )
        if rows is not None and pixel_mask is not None:
            raise ValueError("give either a pixel mask or per-frame row coordinates")
        u, v = self._pixels(images.shape[1:], pixel_mask)
        sel = None if pixel_mask is None else np.asarray(pixel_mask).ravel()
        g = self.grid
        hi = np.array(g.shape) - 0.5
        value_sum = self.value_sum.reshape(g.shape)
        weight = self.weight.reshape(g.shape)
        for k in range(0, len(images), BATCH_FRAMES):
            Tb = T[k : k + BATCH_FRAMES]
            # pixel (u, v, 1) -> continuous voxel index: rows of (T[:3, [0, 1, 3]] - origin) / dx
            A = Tb[:, :3][:, :, [0, 1, 3]].copy()
            A[:, :, 2] -= g.origin
            A = (A / g.spacing).astype(np.float32)  # indices < 1e4: float32 is exact enough
            ex = (slice(None),) + (None,) * u.ndim
            vb = (
                v if rows is None else np.asarray(rows[k : k + BATCH_FRAMES], np.float32)[..., None]
            )
            idx = [
                (A[:, a, 0][ex] * u + A[:, a, 1][ex] * vb + A[:, a, 2][ex]).ravel()
                for a in range(3)
            ]
            vals = images[k : k + BATCH_FRAMES].reshape(len(Tb), -1)
            vals = (vals if sel is None else vals[:, sel]).ravel().astype(np.float64)
            lo = [a.min() for a in idx]
            top = [a.max() for a in idx]
            if any(lo[n] <= -0.5 or top[n] >= hi[n] for n in range(3)):
                inside = np.ones(len(vals), bool)
                for n, a in enumerate(idx):
                    inside &= (a > -0.5) & (a < hi[n])
                idx, vals = [a[inside] for a in idx], vals[inside]
                if not len(vals):
                    continue
                lo = [a.min() for a in idx]
                top = [a.max() for a in idx]
            # accumulate in the batch's bounding box only (a thin slab of the grid)
            b0 = [max(int(np.floor(v)), 0) for v in lo]
            b1 = [min(int(np.floor(v)) + 2, n) for v, n in zip(top, g.shape, strict=True)]
            box = tuple(b - a for a, b in zip(b0, b1, strict=True))
            local = tuple(a - o for a, o in zip(idx, b0, strict=True))
            flat, wv, w = self._splat(local, vals, box)
            n_box = int(np.prod(box))
            sl = tuple(slice(a, b) for a, b in zip(b0, b1, strict=True))
            value_sum[sl] += np.bincount(flat, wv, minlength=n_box).reshape(box)
            weight[sl] += np.bincount(flat, w, minlength=n_box).reshape(box)
        self.frames += len(images)

    def result(self, fill_distance: float = 0.0) -> Reconstruction:
        """The compounded volume: imaged voxels hold their weighted mean, holes within
        ``fill_distance`` (m) of imaged voxels are filled (``fill_holes``)."""
        shape = self.grid.shape
        weight = self.weight.reshape(shape)
        imaged = weight > 0
        volume = np.zeros(shape, np.float32)
        volume[imaged] = self.value_sum.reshape(shape)[imaged] / weight[imaged]
        filled = fill_holes(volume, imaged, fill_distance / self.grid.spacing)
        return Reconstruction(self.grid, volume, imaged, filled, self.frames)


@dataclass
class Reconstruction:
    """A compounded volume (nx x ny x nz float32 grey levels; 0 where nothing was imaged
    nor filled), the voxels imaged by at least one pixel, those filled from neighbours,
    and the number of frames compounded."""

    grid: VolumeGrid
    volume: np.ndarray
    imaged: np.ndarray
    filled: np.ndarray
    frames: int

    @property
    def known(self) -> np.ndarray:
        """Voxels with a value: imaged or filled."""
        return self.imaged | self.filled


def fill_holes(volume: np.ndarray, imaged: np.ndarray, max_distance_vox: float) -> np.ndarray:
    """Fill, in place, voxels of ``volume`` not ``imaged`` but within ``max_distance_vox``
    voxels of an imaged one (18-connected steps: about the Euclidean distance), with the
    Gaussian-weighted mean of the imaged voxels around them (normalised convolution,
    sigma = half the distance, like PLUS's GAUSSIAN hole filling); returns the mask of
    filled voxels. Works on the bounding box of the holes."""
    filled = np.zeros(imaged.shape, bool)
    r = int(np.floor(max_distance_vox))
    if r < 1 or imaged.all() or not imaged.any():
        return filled
    steps = ndimage.generate_binary_structure(3, 2)
    near = ndimage.binary_dilation(imaged, steps, iterations=r) & ~imaged
    if not near.any():
        return filled
    box = tuple(slice(max(int(a.min()) - r, 0), int(a.max()) + r + 1) for a in np.nonzero(near))
    im_b = imaged[box]
    sigma = max(0.5 * max_distance_vox, 0.5)
    num = ndimage.gaussian_filter(np.where(im_b, volume[box], 0.0).astype(np.float32), sigma)
    den = ndimage.gaussian_filter(im_b.astype(np.float32), sigma)
    ok = near[box] & (den > MIN_FILL_SUPPORT)
    vb = volume[box]
    vb[ok] = num[ok] / den[ok]
    filled[box] = ok
    return filled
