"""Accuracy of a reconstruction of a simulated sweep against the simulator's ground truth:
the labelled phantom volume (``sim.ultrasound.phantom_volume``) has every vessel's exact
centre line and radius. Dice overlap of the mapped (thresholded anechoic) vessels with the
true vessel voxels over the voxels that have a value, and the distance of each mapped
centre line sample to the true centre line it belongs to."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_us.core.config_schema import build_section
from robot_us.reconstruction.reconstruct import SweepReconstruction
from sim.config import BedConfig, PhantomConfig
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.phantom_volume import PhantomVolume
from sim.ultrasound.tissue import Tissue

#: A mapped vessel whose centre line lies further than this (median, m) from every true
#: vessel is counted as a false vessel.
MATCH_DISTANCE = 0.005


@dataclass
class VesselAccuracy:
    """One true vessel: the mean and largest distance (mm) of the mapped centre line
    samples that belong to it, the mean signed error along base z (mm, mapped minus true:
    positive = mapped too high, i.e. too shallow for a probe pointing down) and how many
    samples were compared."""

    vessel: int
    centreline_err_mm: float
    centreline_max_mm: float
    bias_z_mm: float
    samples: int


@dataclass
class Accuracy:
    """Dice of mapped vs true vessel voxels (over voxels with a value), the mean centre
    line error over all matched samples (mm), per true vessel, and mapped vessels that
    matched no true one."""

    dice: float
    centreline_err_mm: float
    vessels: list[VesselAccuracy] = field(default_factory=list)
    false_vessels: int = 0
    truth_voxels: int = 0
    mapped_voxels: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return dataclasses.asdict(self)


def _section(cls: type, data: dict | None, prefix: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    return build_section(cls, {k: v for k, v in (data or {}).items() if k in known}, prefix)


def recorded_phantom(config: dict | None) -> PhantomVolume:
    """The phantom of a recording's configuration (``sim.phantom``, ``sim.bed``)."""
    sim = (config or {}).get("sim") or {}
    phantom = _section(PhantomConfig, sim.get("phantom"), "sim.phantom")
    bed = _section(BedConfig, sim.get("bed"), "sim.bed")
    return PhantomVolume(PhantomGeometry.from_config(phantom, bed))


def truth_labels(sr: SweepReconstruction, phantom: PhantomVolume) -> np.ndarray:
    """True tissue labels at the voxel centres of the reconstruction's grid."""
    g = sr.recon.grid
    x, y, z = (g.axis(k).astype(np.float32) for k in range(3))
    out = np.empty(g.shape, np.uint8)
    X, Y = np.meshgrid(x, y, indexing="ij")
    for k, zk in enumerate(z):  # slab by slab: bounded memory
        out[:, :, k] = phantom.labels_xyz(X, Y, np.full_like(X, zk))
    return out


def _line_distance(pts: np.ndarray, p0: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Offsets (n x 3, m) of ``pts`` from their closest points on the line (p0, u)."""
    d = pts - p0
    return d - np.outer(d @ u, u)


def accuracy(sr: SweepReconstruction, phantom: PhantomVolume) -> Accuracy:
    """Compare the mapped vessels of ``sr`` with the phantom's true vessels."""
    known = sr.recon.known
    truth = (truth_labels(sr, phantom) == Tissue.VESSEL) & known
    mapped = sr.vessels.mask & known
    total = int(truth.sum() + mapped.sum())
    dice = 2.0 * float((truth & mapped).sum()) / total if total else 0.0
    lines = phantom.vessel_lines()
    per: list[list[np.ndarray]] = [[] for _ in lines]
    false = 0
    for v in sr.vessels.vessels:
        offs = [_line_distance(v.centreline, p0, u) for p0, u, _ in lines]
        med = [float(np.median(np.linalg.norm(o, axis=1))) for o in offs]
        best = int(np.argmin(med))
        if med[best] > MATCH_DISTANCE:
            false += 1
            continue
        per[best].append(offs[best])
    out = []
    for i, offs in enumerate(per):
        if not offs:
            continue
        o = np.concatenate(offs) * 1e3
        d = np.linalg.norm(o, axis=1)
        out.append(
            VesselAccuracy(i, float(d.mean()), float(d.max()), float(o[:, 2].mean()), len(d))
        )
    all_d = [va.centreline_err_mm * va.samples for va in out]
    n = sum(va.samples for va in out)
    err = float(sum(all_d) / n) if n else float("nan")
    return Accuracy(dice, err, out, false, int(truth.sum()), int(mapped.sum()))
