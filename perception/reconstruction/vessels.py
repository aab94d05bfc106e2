"""Mapping anechoic vessels in a compounded volume: smooth (normalised over the voxels that
have a value), threshold the dark voxels, keep the connected structures long and thick
enough to be vessels, and trace each one's centre line as the centroids of slabs across
its principal axis. Pure numpy/scipy; coordinates in the grid's frame (m)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from perception.reconstruction.compounding import VolumeGrid

#: Centre line sample spacing along the vessel (m).
CENTRELINE_STEP = 1e-3
#: Least fraction of the smoothing kernel that must fall on known voxels to judge a voxel.
MIN_SUPPORT = 0.3
#: Most voxels of one structure used for its principal axis (evenly subsampled).
PCA_SAMPLES = 50_000


@dataclass
class MappedVessel:
    """One mapped vessel: ``label`` in ``VesselMap.labels``, centre line points (n x 3,
    m), unit direction of its principal axis, length along it (m), equivalent radius
    (m, from volume / length) and voxel count."""

    label: int
    centreline: np.ndarray
    direction: np.ndarray
    length: float
    radius: float
    voxels: int


@dataclass
class VesselMap:
    """Label volume (int32, 0 = no vessel, k = ``vessels[k - 1]``) and the vessels."""

    labels: np.ndarray
    vessels: list[MappedVessel]

    @property
    def mask(self) -> np.ndarray:
        """Voxels of any mapped vessel."""
        return self.labels > 0


def anechoic(
    volume: np.ndarray, known: np.ndarray, threshold: float, sigma_vox: float
) -> np.ndarray:
    """Known voxels darker than ``threshold`` after Gaussian smoothing of ``sigma_vox``
    voxels, normalised over known voxels (unknown voxels neither darken nor count)."""
    known = np.asarray(known, bool)
    if sigma_vox <= 0:
        return known & (volume < threshold)
    num = ndimage.gaussian_filter(np.where(known, volume, 0).astype(np.float32), sigma_vox)
    den = ndimage.gaussian_filter(known.astype(np.float32), sigma_vox)
    ok = known & (den > MIN_SUPPORT)
    out = np.zeros(volume.shape, bool)
    out[ok] = num[ok] / den[ok] < threshold
    return out


def _principal_axis(pts: np.ndarray) -> np.ndarray:
    c = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    u = vt[0]
    return u if u[np.argmax(np.abs(u))] > 0 else -u


def map_vessels(
    volume: np.ndarray,
    known: np.ndarray,
    grid: VolumeGrid,
    threshold: float,
    grow_threshold: float,
    smoothing: float,
    min_length: float,
    min_radius: float,
) -> VesselMap:
    """Anechoic structures at least ``min_length`` long and ``min_radius`` thick (m) in
    ``volume`` (grey levels, ``known`` voxels), after smoothing of ``smoothing`` (m,
    sigma): cores darker than ``threshold``, grown into connected voxels darker than
    ``grow_threshold`` (hysteresis: the log-compressed wall of a vessel is brighter than
    the half-way grey level)."""
    vox = grid.spacing
    sigma = smoothing / vox
    core = anechoic(volume, known, threshold, sigma)
    grow_threshold = max(grow_threshold, threshold)
    dark = anechoic(volume, known, grow_threshold, sigma) if grow_threshold > threshold else core
    lab, n = ndimage.label(dark)
    has_core = np.zeros(n + 1, bool)
    has_core[np.unique(lab[core])] = True
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    min_vox = np.pi * min_radius**2 * min_length / vox**3
    candidates = [k for k in range(1, n + 1) if sizes[k] >= max(min_vox, 1) and has_core[k]]
    slices = ndimage.find_objects(lab)
    kept: list[tuple[int, MappedVessel]] = []
    for k in candidates:
        sl = slices[k - 1]
        ijk = np.argwhere(lab[sl] == k) + np.array([s.start for s in sl])
        pts = grid.origin + ijk * vox
        sample = pts[:: max(1, len(pts) // PCA_SAMPLES)]
        u = _principal_axis(sample)
        proj = (pts - pts.mean(axis=0)) @ u
        length = float(proj.max() - proj.min() + vox)
        radius = float(np.sqrt(len(pts) * vox**3 / (np.pi * length)))
        if length < min_length or radius < min_radius:
            continue
        bins = np.floor((proj - proj.min()) / CENTRELINE_STEP).astype(int)
        counts = np.bincount(bins)
        sums = np.stack([np.bincount(bins, pts[:, a]) for a in range(3)], axis=1)
        good = counts > 0
        line = sums[good] / counts[good, None]
        kept.append((k, MappedVessel(0, line, u, length, radius, len(pts))))
    kept.sort(key=lambda kv: -kv[1].voxels)
    relabel = np.zeros(n + 1, np.int32)
    vessels = []
    for new, (old, v) in enumerate(kept, start=1):
        relabel[old] = new
        v.label = new
        vessels.append(v)
    return VesselMap(relabel[lab], vessels)
