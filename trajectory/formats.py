"""The planner's file formats as plain JSON-ready dicts (no file I/O here): ``path.json``
(a surface path) in, ``plan.json`` (a scan plan) out. Documented in docs/formats.md."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robot_us.core.types import ScanPlan, SurfacePath

#: Format tag and version written into plan.json.
PLAN_FORMAT = "robot-us/plan"
PLAN_VERSION = 1
#: Coordinates larger than this (m) are rejected: the file is probably in millimetres.
MAX_COORDINATE = 5.0


class PathFormatError(ValueError):
    """A path.json document is malformed; the message names the key and the problem."""


def _triples(data: dict, key: str) -> np.ndarray:
    value = data[key]
    if not isinstance(value, list):
        raise PathFormatError(f"path '{key}' must be a list of [x, y, z] triples")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 3:
            raise PathFormatError(f"path '{key}'[{i}] must be a list of 3 numbers, got {row!r}")
        for v in row:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise PathFormatError(f"path '{key}'[{i}] has a non-number {v!r}")
            try:
                finite = math.isfinite(v)
            except OverflowError:  # an integer beyond the float range
                finite = False
            if not finite:
                raise PathFormatError(f"path '{key}'[{i}] has a non-finite value {v!r:.40}")
    return np.array(value, dtype=float).reshape(-1, 3)


def path_from_dict(data: Any) -> SurfacePath:
    """A ``SurfacePath`` from a parsed path.json document; ``PathFormatError`` names what is
    wrong (missing key, wrong frame, wrong shape, non-finite or zero normals, units)."""
    if not isinstance(data, dict):
        raise PathFormatError("path document must be a JSON object with frame, points, normals")
    for key in ("frame", "points", "normals"):
        if key not in data:
            raise PathFormatError(f"path document is missing the key '{key}'")
    if data["frame"] != "base":
        raise PathFormatError(
            f"path frame must be 'base' (the robot base frame), got {data['frame']!r}"
        )
    points = _triples(data, "points")
    normals = _triples(data, "normals")
    if len(points) < 2:
        raise PathFormatError(f"path has {len(points)} point(s); at least 2 are needed")
    if len(normals) != len(points):
        raise PathFormatError(f"path has {len(points)} points but {len(normals)} normals")
    big = float(np.abs(points).max())
    if big > MAX_COORDINATE:
        raise PathFormatError(
            f"path coordinates reach {big:g}; they must be metres (|x| <= {MAX_COORDINATE} m)"
        )
    norms = np.linalg.norm(normals, axis=1)
    if np.any(norms < 1e-6):
        raise PathFormatError(f"path normal {int(np.argmax(norms < 1e-6))} has zero length")
    return SurfacePath(points=points, normals=normals, frame="base")


def path_to_dict(path: SurfacePath) -> dict:
    """A ``SurfacePath`` as a path.json document."""
    return {"frame": path.frame, "points": path.points.tolist(), "normals": path.normals.tolist()}


def plan_to_dict(plan: ScanPlan) -> dict:
    """A ``ScanPlan`` as a plan.json document."""
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "frame": "base",
        "robot": plan.robot,
        "plane": plan.plane,
        "flipped": plan.flipped,
        "speed_m_s": plan.speed_m_s,
        "max_speed_m_s": plan.max_speed_m_s,
        "duration_s": plan.duration_s,
        "segment_durations_s": dict(plan.segment_durations_s),
        "path_length_m": float(plan.arc_length.max()),
        "kinds": [str(k) for k in plan.kinds],
        "arc_length_m": plan.arc_length.tolist(),
        "joints_rad": plan.joints.tolist(),
        "poses": plan.poses.tolist(),
    }
