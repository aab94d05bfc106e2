"""Exporting a recording to plain files: frames as PNG, state as CSV and npz, quality and
frame poses as CSV, events/plan/config/summary as JSON, the camera capture as PNG/npy."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from robot_us.recording.contents import Recording
from robot_us.recording.messages import jsonable, quaternion_xyzw


@dataclass
class ExportResult:
    """What was written where (paths relative to ``out_dir``)."""

    out_dir: str
    files: list[str] = field(default_factory=list)
    frames: int = 0
    state_rows: int = 0


def _columns(rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Flat column names and a 2D float array of a structured array."""
    names, cols = [], []
    for name in rows.dtype.names:
        col = rows[name].reshape(len(rows), -1).astype(np.float64)
        if col.shape[1] == 1:
            names.append(name)
        else:
            names += [f"{name}_{i}" for i in range(col.shape[1])]
        cols.append(col)
    data = np.hstack(cols) if cols else np.zeros((len(rows), 0))
    return names, data


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _png_image(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.float32:  # not a PNG type: scale to 8 bit for viewing
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scaled = (np.nan_to_num(img, nan=lo) - lo) / max(hi - lo, 1e-12)
        return (np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    return img


def export_recording(rec: Recording, out_dir: str | Path, frames: bool = True) -> ExportResult:
    """Write ``rec`` as plain files under ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = ExportResult(out_dir=str(out))

    def note(p: Path) -> None:
        res.files.append(str(p.relative_to(out)))

    # frames
    if frames and rec.frames:
        fdir = out / "frames"
        fdir.mkdir(exist_ok=True)
        for i, f in enumerate(rec.frames):
            p = fdir / f"frame_{i:05d}.png"
            if not cv2.imwrite(str(p), _png_image(f.image)):
                raise OSError(f"could not write {p}")
            res.frames += 1
        note(fdir)
    header = ["index", "t", "seq", "spacing_lateral_m", "spacing_axial_m", "pose_source"]
    header += ["px", "py", "pz", "qx", "qy", "qz", "qw", "fx", "fy", "fz", "tx", "ty", "tz"]
    table = []
    for i, f in enumerate(rec.frames):
        pose = [float("nan")] * 7
        if f.T_base_probe is not None:
            pose = [*f.T_base_probe[:3, 3], *quaternion_xyzw(f.T_base_probe[:3, :3])]
        wrench = [float("nan")] * 6 if f.wrench is None else list(f.wrench)
        table.append([i, f.t, f.seq, *f.spacing_m, f.pose_source, *pose, *wrench])
    _write_csv(out / "frames.csv", header, table)
    note(out / "frames.csv")
    # state
    names, data = _columns(rec.state)
    _write_csv(out / "state.csv", names, data.tolist())
    note(out / "state.csv")
    np.savez_compressed(out / "state.npz", **{n: rec.state[n] for n in rec.state.dtype.names})
    note(out / "state.npz")
    res.state_rows = len(rec.state)
    # quality
    qrows = [[q.t, q.seq, q.label, q.score, q.mean_confidence, q.s] for q in rec.quality]
    _write_csv(out / "quality.csv", ["t", "seq", "label", "score", "mean_confidence", "s"], qrows)
    note(out / "quality.csv")
    # JSON documents
    docs = {
        "events.json": [asdict(e) for e in rec.events],
        "plan.json": None if rec.plan is None else asdict(rec.plan),
        "config.json": rec.config,
        "summary.json": rec.summary,
        "recording.json": {
            "path": rec.path,
            "status": rec.status,
            "truncated": rec.truncated,
            "truncation": rec.truncation,
            "damaged": rec.damaged,
            "recovery": rec.recovery,
            "duration_s": rec.duration_s,
            "state_lost": rec.state_lost,
            "recorder_stats": rec.recorder_stats,
            "metadata": rec.metadata,
        },
    }
    for name, doc in docs.items():
        if doc is None:
            continue
        (out / name).write_text(json.dumps(jsonable(doc), indent=2) + "\n")
        note(out / name)
    # camera
    cam = rec.camera
    if cam is not None and cam.rgb is not None:
        cv2.imwrite(str(out / "camera_rgb.png"), _png_image(cam.rgb))
        note(out / "camera_rgb.png")
    if cam is not None and cam.depth is not None:
        np.save(out / "camera_depth.npy", cam.depth)
        note(out / "camera_depth.npy")
    return res
