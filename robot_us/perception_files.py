"""Files of the perception step (formats in docs/formats.md): ``scene.npz`` (one RGB-D view
with its calibration), ``stroke.json`` (the operator's stroke in pixels),
``calibration.json`` (camera pose in the base frame, optional intrinsics) and the
``path.json`` the mapping writes and the planner reads. Every reader validates and names
the file and key at fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from perception.camera_calibration import CalibrationFileError, CameraCalibration
from robot_us.core.npz_file import read_npz
from robot_us.core.typed_json import SchemaError
from robot_us.core.types import CameraIntrinsics, RgbdFrame, SurfacePath
from robot_us.file_schemas import read_calibration_document
from trajectory.formats import PathFormatError, path_from_dict, path_to_dict


class FileFormatError(ValueError):
    """A file is missing, unreadable or malformed; the message names the file and key."""


SCENE_REQUIRED = ("depth", "K")
SCENE_OPTIONAL = ("dist", "T_base_camera", "rgb", "mask")


def load_scene(path: str | Path) -> RgbdFrame:
    """An RGB-D view from ``scene.npz``; ``T_base_camera`` may be absent (then None)."""
    path = Path(path)
    data = read_npz(path, "scene file", FileFormatError)
    for key in SCENE_REQUIRED:
        if key not in data:
            raise FileFormatError(f"{path}: missing key '{key}' (has {sorted(data)})")
    depth = data["depth"]
    if depth.ndim != 2 or depth.dtype.kind != "f":
        raise FileFormatError(
            f"{path}: 'depth' must be an H x W float array (metres), got {depth.dtype} "
            f"{depth.shape}"
        )
    h, w = depth.shape
    K = _shaped(data["K"], (3, 3), path, "K")
    dist = np.zeros(5)
    if "dist" in data:
        dist = np.asarray(data["dist"], float).ravel()
    T = None
    if "T_base_camera" in data:
        T = _shaped(data["T_base_camera"], (4, 4), path, "T_base_camera")
    rgb = data.get("rgb")
    if rgb is not None and (rgb.shape != (h, w, 3) or rgb.dtype != np.uint8):
        raise FileFormatError(
            f"{path}: 'rgb' must be {h} x {w} x 3 uint8, got {rgb.dtype} {rgb.shape}"
        )
    mask = data.get("mask")
    if mask is not None:
        if mask.shape != (h, w):
            raise FileFormatError(f"{path}: 'mask' must be {h} x {w}, got {mask.shape}")
        mask = mask.astype(bool)
    if rgb is None:
        rgb = np.zeros((h, w, 3), np.uint8)
    return RgbdFrame(
        t=0.0,
        rgb=rgb,
        depth=depth.astype(np.float32, copy=False),
        intrinsics=CameraIntrinsics(w, h, K, dist),
        T_base_camera=T,
        mask=mask,
    )


def save_scene(path: str | Path, frame: RgbdFrame) -> None:
    """Write ``frame`` as ``scene.npz`` (compressed)."""
    data: dict[str, np.ndarray] = {
        "depth": np.asarray(frame.depth, np.float32),
        "K": np.asarray(frame.intrinsics.K, np.float64),
        "dist": np.asarray(frame.intrinsics.dist, np.float64).ravel(),
    }
    if frame.T_base_camera is not None:
        data["T_base_camera"] = np.asarray(frame.T_base_camera, np.float64)
    if frame.rgb is not None:
        data["rgb"] = np.asarray(frame.rgb, np.uint8)
    if frame.mask is not None:
        data["mask"] = np.asarray(frame.mask, bool)
    np.savez_compressed(Path(path), **data)


def _shaped(value: np.ndarray, shape: tuple[int, ...], path: Path, key: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape or arr.dtype.kind not in "fiu":
        raise FileFormatError(f"{path}: '{key}' must be a {shape} number array, got {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise FileFormatError(f"{path}: '{key}' contains NaN or infinite values")
    return arr


def load_json(path: str | Path, what: str) -> Any:
    """The parsed JSON document in ``path``; ``FileFormatError`` names the ``what`` file
    that is missing or the file that is not valid JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{what} file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: malformed JSON (not valid JSON: {exc})") from exc


def load_stroke(path: str | Path) -> np.ndarray:
    """The stroke's pixels (N x 2: u column, v row) from ``stroke.json``."""
    data = load_json(path, "stroke")
    if not isinstance(data, dict) or "pixels" not in data:
        raise FileFormatError(
            f"{path}: missing key 'pixels' (expected {{\"pixels\": [[u, v], ...]}})"
        )
    px = data["pixels"]
    if not isinstance(px, list) or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        for p in px
    ):
        raise FileFormatError(f"{path}: 'pixels' must be a list of [u, v] number pairs")
    return np.asarray(px, dtype=np.float64).reshape(-1, 2)


def save_stroke(path: str | Path, pixels: np.ndarray) -> None:
    """Write ``stroke.json``."""
    Path(path).write_text(json.dumps({"pixels": np.asarray(pixels, float).tolist()}) + "\n")


def load_calibration(path: str | Path) -> CameraCalibration:
    """The camera calibration from ``calibration.json``."""
    try:
        data = read_calibration_document(path)  # types checked here, meaning below
        return CameraCalibration.from_dict(data, origin=str(path))
    except (CalibrationFileError, SchemaError) as exc:
        raise FileFormatError(str(exc)) from exc


def apply_calibration(frame: RgbdFrame, calib: CameraCalibration, origin: str = "") -> None:
    """Give ``frame`` the calibrated camera pose (and intrinsics, when the calibration has
    them); raises ``FileFormatError`` if the calibration has no pose or another image size."""
    where = origin or "the calibration"
    if calib.T_base_camera is None:
        raise FileFormatError(
            f"missing camera calibration: {where} holds no T_base_camera (only intrinsics); "
            "run the hand-eye step (robot-us calibrate --hand-eye)"
        )
    frame.T_base_camera = np.asarray(calib.T_base_camera, float).copy()
    if calib.intrinsics is not None:
        intr = calib.intrinsics
        h, w = np.shape(frame.depth)
        if (intr.width, intr.height) != (w, h):
            raise FileFormatError(
                f"{where}: intrinsics are for {intr.width} x {intr.height} images, the depth "
                f"image is {w} x {h}"
            )
        frame.intrinsics = intr


def save_calibration(path: str | Path, calib: CameraCalibration) -> None:
    """Write ``calibration.json``."""
    Path(path).write_text(json.dumps(calib.to_dict(), indent=2) + "\n")


def load_path(path: str | Path) -> SurfacePath:
    """The surface path (base frame) from ``path.json``."""
    data = load_json(path, "path")
    try:
        return path_from_dict(data)
    except PathFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from exc


def save_path(path: str | Path, surface: SurfacePath) -> None:
    """Write the trajectory planner's ``path.json`` (points and outward normals, metres)."""
    Path(path).write_text(json.dumps(path_to_dict(surface)) + "\n")
