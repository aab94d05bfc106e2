"""Files 3D Slicer opens at the right place and scale: NRRD volumes and a markups curve of
the probe path, both in the robot base frame in millimetres.

Space: the NRRD header says ``right-anterior-superior`` and the markups file ``RAS``, with
base-frame coordinates written unchanged (x -> R, y -> A, z -> S, mm). Slicer's world is
RAS, so Slicer's world coordinates are the robot base frame's: base z (up) is Slicer's
superior axis and a point at base (0.6, -0.13, 0.13) m is at R 600, A -130, S 130 mm.
(ITK reads the RAS header by flipping to LPS, Slicer flips back: the net effect is none.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nrrd
import numpy as np

from perception.reconstruction.compounding import VolumeGrid
from robot_us.output_paths import new_file

#: NRRD space of every volume written (see the module docstring).
NRRD_SPACE = "right-anterior-superior"
#: Markups JSON schema id Slicer writes and reads.
MARKUPS_SCHEMA = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/"
    "Resources/Schema/markups-schema-v1.0.3.json#"
)
#: Most control points of the exported probe path (Slicer's curve editing slows beyond).
MAX_CURVE_POINTS = 200


def nrrd_header(grid: VolumeGrid, description: str) -> dict[str, Any]:
    """The NRRD header of a volume on ``grid``: space directions and origin in mm."""
    return {
        "space": NRRD_SPACE,
        "space directions": np.eye(3) * grid.spacing * 1e3,
        "space origin": np.asarray(grid.origin, float) * 1e3,
        "kinds": ["domain", "domain", "domain"],
        "space units": ["mm", "mm", "mm"],
        "encoding": "gzip",
        "content": description,
    }


def write_volume(
    path: str | Path, data: np.ndarray, grid: VolumeGrid, description: str, overwrite: bool
) -> Path:
    """Write ``data`` (nx x ny x nz, indices along base x, y, z) as NRRD at ``path``
    (refused if it exists unless ``overwrite``)."""
    if tuple(data.shape) != tuple(grid.shape):
        raise ValueError(f"volume shape {data.shape} does not match the grid {grid.shape}")
    with new_file(path, overwrite) as tmp:
        nrrd.write(str(tmp), np.asarray(data), nrrd_header(grid, description), index_order="F")
    return Path(path)


def read_volume(path: str | Path) -> tuple[np.ndarray, VolumeGrid]:
    """A volume this module wrote: data (nx x ny x nz) and its grid (m)."""
    data, header = nrrd.read(str(path), index_order="F")
    if header.get("space") != NRRD_SPACE:
        raise ValueError(f"{path}: NRRD space {header.get('space')!r}, expected {NRRD_SPACE!r}")
    d = np.asarray(header["space directions"], float)
    return data, VolumeGrid(
        origin=np.asarray(header["space origin"], float) * 1e-3,
        spacing=float(d[0, 0]) * 1e-3,
        shape=tuple(int(n) for n in data.shape),  # type: ignore[arg-type]
    )


def curve_points(poses: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Up to ``max_points`` poses of ``poses`` (n x 4 x 4) evenly spaced along the path
    (arc length), first and last kept; consecutive duplicates dropped."""
    if len(poses) == 0:
        return poses
    p = poses[:, :3, 3]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    targets = np.linspace(0.0, s[-1], max(2, min(max_points, len(poses))))
    idx = np.unique(np.searchsorted(s, targets).clip(0, len(poses) - 1))
    return poses[idx]


def markups_curve(poses: np.ndarray, name: str, description: str = "") -> dict[str, Any]:
    """A Slicer markups curve (``.mrk.json`` content) through the probe positions of
    ``poses`` (n x 4 x 4, base frame, m) in RAS = base, mm; each control point carries the
    probe's orientation."""
    points = []
    for i, T in enumerate(curve_points(poses), start=1):
        points.append(
            {
                "id": str(i),
                "label": f"{name}-{i}",
                "position": [float(v) for v in T[:3, 3] * 1e3],
                "orientation": [float(v) for v in T[:3, :3].ravel()],
                "selected": True,
                "locked": True,
                "visibility": True,
                "positionStatus": "defined",
            }
        )
    return {
        "@schema": MARKUPS_SCHEMA,
        "markups": [
            {
                "type": "Curve",
                "name": name,
                "coordinateSystem": "RAS",
                "coordinateUnits": "mm",
                "locked": True,
                "labelFormat": "%N-%d",
                "description": description,
                "controlPoints": points,
                "display": {"color": [1.0, 0.6, 0.0], "pointLabelsVisibility": False},
            }
        ],
    }


def write_markups(path: str | Path, doc: dict[str, Any], overwrite: bool) -> Path:
    """Write a markups document (``markups_curve``) as JSON at ``path``."""
    with new_file(path, overwrite) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    return Path(path)
