"""What ``robot-us reconstruct`` writes beside ``--out VOLUME.nrrd``: the volume, the label
map of voxels imaged or filled, the label map of mapped vessels, the probe path as a Slicer
markups curve, and a JSON summary (frames used and left out, lag, grid, vessels, timings,
configuration, software version)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from perception.reconstruction.config import ReconstructionConfig
from robot_us import __version__
from robot_us.output_paths import check_new_file, new_file
from robot_us.reconstruction.reconstruct import SweepReconstruction
from robot_us.reconstruction.slicer_files import markups_curve, write_markups, write_volume
from robot_us.recording.contents import Recording

#: Values of the mask label map.
MASK_IMAGED = 1
MASK_FILLED = 2


def output_files(out: str | Path) -> dict[str, Path]:
    """The files written for ``--out`` (a ``.nrrd`` path): volume, mask, vessels, path,
    summary."""
    out = Path(out)
    if out.suffix.lower() != ".nrrd":
        raise ValueError(f"--out {out}: give a .nrrd file name (e.g. volume.nrrd)")
    stem = out.with_suffix("")
    return {
        "volume": out,
        "mask": Path(f"{stem}_mask-label.nrrd"),
        "vessels": Path(f"{stem}_vessels-label.nrrd"),
        "path": Path(f"{stem}_path.mrk.json"),
        "summary": Path(f"{stem}.json"),
    }


def compression_summary(sr: SweepReconstruction) -> dict[str, Any]:
    """Whether the compression correction was applied and what it amounts to at 5 N."""
    m = sr.compression
    if m is None:
        return {"applied": False, "note": sr.compression_note}
    return {
        "applied": True,
        "face_sink_mm_per_N": m.face_per_newton * 1e3,
        "deepest_shift_mm_per_N": float(m.shift_per_newton[-1]) * 1e3,
        "depth_mm": (m.depth * 1e3).round(2).tolist(),
        "shift_mm_per_N": (m.shift_per_newton * 1e3).round(4).tolist(),
    }


def summary(sr: SweepReconstruction, rec: Recording, cfg: ReconstructionConfig) -> dict[str, Any]:
    """The JSON summary of a reconstruction (mm, s)."""
    r, g = sr.recon, sr.recon.grid
    est = sr.lag_estimate
    return {
        "software": f"robot-us {__version__}",
        "recording": {"path": rec.path, "status": rec.status, "recovery": rec.recovery},
        "frames": {
            "total": len(rec.frames),
            "used": len(sr.frames),
            "left_out": sr.frames.left_out,
        },
        "lag_ms": sr.lag * 1e3,
        "lag_estimate": None
        if est is None
        else {
            "lag_ms": est.lag * 1e3,
            "correlation": est.correlation,
            "pairs": est.pairs,
            "ok": est.ok,
            "reason": est.reason,
        },
        "compression": compression_summary(sr),
        "grid": {
            "space": "RAS = robot base frame, mm",
            "origin_mm": (np.asarray(g.origin) * 1e3).tolist(),
            "spacing_mm": g.spacing * 1e3,
            "shape": list(g.shape),
        },
        "voxels": {
            "imaged": int(r.imaged.sum()),
            "filled": int(r.filled.sum()),
            "imaged_fraction": float(r.imaged.mean()),
        },
        "vessels": [
            {
                "label": v.label,
                "length_mm": v.length * 1e3,
                "radius_mm": v.radius * 1e3,
                "direction": v.direction.tolist(),
                "centreline_mm": np.round(v.centreline * 1e3, 3).tolist(),
            }
            for v in sr.vessels.vessels
        ],
        "timings_s": sr.timings,
        "config": asdict(cfg),
    }


def write_outputs(
    sr: SweepReconstruction,
    rec: Recording,
    cfg: ReconstructionConfig,
    out: str | Path,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write every output of ``output_files(out)``; all are checked before any is written
    (an existing one is refused unless ``overwrite``)."""
    files = output_files(out)
    for p in files.values():
        check_new_file(p, overwrite)
    r, g = sr.recon, sr.recon.grid
    volume = np.clip(np.rint(r.volume), 0, 255).astype(np.uint8)
    write_volume(files["volume"], volume, g, f"robot-us reconstruction of {rec.path}", overwrite)
    mask = np.where(r.imaged, MASK_IMAGED, np.where(r.filled, MASK_FILLED, 0)).astype(np.uint8)
    write_volume(files["mask"], mask, g, "1 = imaged, 2 = hole filled", overwrite)
    labels = sr.vessels.labels.astype(np.uint8 if len(sr.vessels.vessels) < 256 else np.uint16)
    write_volume(files["vessels"], labels, g, "mapped anechoic vessels", overwrite)
    doc = markups_curve(sr.path, "ProbePath", f"probe path on the skin, {rec.path}")
    write_markups(files["path"], doc, overwrite)
    with new_file(files["summary"], overwrite) as tmp:
        tmp.write_text(json.dumps(summary(sr, rec, cfg), indent=1))
    return files
