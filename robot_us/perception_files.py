"""Files of the perception step (formats in docs/formats.md): ``scene.npz`` (one RGB-D view
with its calibration), ``stroke.json`` (the operator's stroke in pixels),
``calibration.json`` (camera pose in the base frame, optional intrinsics),
``hand_eye.json`` (the robot poses and images of the eye-to-hand calibration) and the
``path.json`` the mapping writes and the planner reads. Every reader validates and names
the file and key at fault, and checks the file's size limits (bytes, JSON nesting depth,
points, pixels; the constants below) before parsing or allocating its content."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from perception.camera_calibration import CalibrationFileError, CameraCalibration
from perception.charuco import CalibrationError
from perception.hand_eye import check_robot_poses
from robot_us.core.npz_file import npz_headers, read_npz
from robot_us.core.typed_json import SchemaError
from robot_us.core.types import CameraIntrinsics, RgbdFrame, SurfacePath
from robot_us.file_schemas import read_calibration_document, read_hand_eye_document
from trajectory.formats import PathFormatError, path_from_dict, path_to_dict

MiB = 2**20
#: Deepest nesting of JSON arrays and objects in any file read here (the formats need 5).
MAX_JSON_DEPTH = 16
#: Byte limit of a JSON file read without a more specific one.
DEFAULT_JSON_MAX_BYTES = 1 * MiB
#: stroke.json: bytes and [u, v] points (100 000 points are 100 s of a 1 kHz pen).
STROKE_MAX_BYTES = 8 * MiB
STROKE_MAX_POINTS = 100_000
#: path.json: bytes and points (100 000 points are 100 m at 1 mm).
PATH_MAX_BYTES = 16 * MiB
PATH_MAX_POINTS = 100_000
#: hand_eye.json: robot poses (its bytes and types: ``robot_us.file_schemas``).
HAND_EYE_MAX_POSES = 500
#: scene.npz: depth pixels (4096 x 3072, the largest registered RGB-D images) and the
#: bytes all its arrays may declare (float64 depth, RGB, a mask of up to 4 bytes a pixel).
SCENE_MAX_PIXELS = 4096 * 3072
SCENE_MAX_BYTES = 16 * SCENE_MAX_PIXELS


class FileFormatError(ValueError):
    """A file is missing, unreadable or malformed; the message names the file and key."""


SCENE_REQUIRED = ("depth", "K")
SCENE_OPTIONAL = ("dist", "T_base_camera", "rgb", "mask")


def load_scene(path: str | Path) -> RgbdFrame:
    """An RGB-D view from ``scene.npz``; ``T_base_camera`` may be absent (then None). The
    depth image's size and the bytes of all arrays are checked from the arrays' headers
    (``SCENE_MAX_PIXELS``, ``SCENE_MAX_BYTES``) before any array is read."""
    path = Path(path)
    headers = npz_headers(path, "scene file", FileFormatError)
    if "depth" in headers:
        shape = headers["depth"][0]
        pixels = int(np.prod(shape, dtype=object))
        if pixels > SCENE_MAX_PIXELS:
            raise FileFormatError(
                f"{path}: 'depth' is {' x '.join(map(str, shape))} = {pixels:,} pixels; a "
                f"scene may have at most {SCENE_MAX_PIXELS:,} (4096 x 3072)"
            )
    data = read_npz(path, "scene file", FileFormatError, max_bytes=SCENE_MAX_BYTES)
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


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays and objects in the JSON text ``raw`` (brackets inside
    strings are skipped); O(n), vectorised, without parsing."""
    # neutralise escapes: pairs of backslashes first, then escaped quotes (in valid JSON,
    # backslashes occur only inside strings)
    raw = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    b = np.frombuffer(raw, np.uint8)
    c = b[(b == ord('"')) | (b == ord("[")) | (b == ord("]")) | (b == ord("{")) | (b == ord("}"))]
    outside = np.cumsum(c == ord('"')) % 2 == 0  # an even number of quotes before
    opens = ((c == ord("[")) | (c == ord("{"))) & outside
    closes = ((c == ord("]")) | (c == ord("}"))) & outside
    depth = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32))
    return int(depth.max()) if len(depth) else 0


def load_json(path: str | Path, what: str, max_bytes: int = DEFAULT_JSON_MAX_BYTES) -> Any:
    """The parsed JSON document in ``path``; ``FileFormatError`` names the ``what`` file
    that is missing, larger than ``max_bytes``, nested deeper than ``MAX_JSON_DEPTH`` (both
    checked before parsing) or not valid JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{what} file not found: {path}")
    with path.open("rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise FileFormatError(
            f"{path}: {what} file of {path.stat().st_size:,} bytes; at most {max_bytes:,} "
            "are accepted"
        )
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise FileFormatError(
            f"{path}: JSON nested {depth} deep; at most {MAX_JSON_DEPTH} levels are accepted"
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: malformed JSON (not valid JSON: {exc})") from exc


def _count(path: str | Path, key: str, items: list, limit: int, what: str) -> None:
    """Refuse a list of more than ``limit`` ``what`` under ``key``."""
    if len(items) > limit:
        raise FileFormatError(
            f"{path}: '{key}' has {len(items):,} {what}; at most {limit:,} are accepted"
        )


def load_stroke(path: str | Path) -> np.ndarray:
    """The stroke's pixels (N x 2: u column, v row) from ``stroke.json`` (at most
    ``STROKE_MAX_BYTES`` and ``STROKE_MAX_POINTS``)."""
    data = load_json(path, "stroke", STROKE_MAX_BYTES)
    if not isinstance(data, dict) or "pixels" not in data:
        raise FileFormatError(
            f"{path}: missing key 'pixels' (expected {{\"pixels\": [[u, v], ...]}})"
        )
    px = data["pixels"]
    if isinstance(px, list):
        _count(path, "pixels", px, STROKE_MAX_POINTS, "points")
    if not isinstance(px, list) or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        for p in px
    ):
        raise FileFormatError(f"{path}: 'pixels' must be a list of [u, v] number pairs")
    try:
        return np.asarray(px, dtype=np.float64).reshape(-1, 2)
    except OverflowError as exc:
        raise FileFormatError(f"{path}: 'pixels' holds a number too large ({exc})") from exc


def save_stroke(path: str | Path, pixels: np.ndarray) -> None:
    """Write ``stroke.json``."""
    Path(path).write_text(json.dumps({"pixels": np.asarray(pixels, float).tolist()}) + "\n")


@dataclass
class HandEyeInput:
    """The content of ``hand_eye.json``: flange poses (N x 4 x 4, m) and the image files
    (inside the JSON file's folder) taken at each."""

    T_base_flange: np.ndarray
    images: list[Path]


def _image_inside(folder: Path, name: str, where: str) -> Path:
    """The image file ``name`` (relative to ``folder``), refused unless it stays inside
    ``folder`` (no absolute path, no '..', no link leading out)."""
    if not name or "\x00" in name:
        raise FileFormatError(f"{where} {name!r} is not a file name")
    rel = PurePath(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise FileFormatError(
            f"{where} {name!r} must name a file inside {folder} (no absolute path, no '..')"
        )
    full = (folder / rel).resolve()
    if not full.is_relative_to(folder):
        raise FileFormatError(f"{where} {name!r} leads outside {folder} (through a link)")
    return full


def load_hand_eye(path: str | Path) -> HandEyeInput:
    """The robot poses and image files of ``hand_eye.json`` (typed schema and size limit:
    ``robot_us.file_schemas``; at most ``HAND_EYE_MAX_POSES``); image names are resolved
    inside the file's folder only, and flange translations must be plausible in metres."""
    path = Path(path)
    try:
        poses = read_hand_eye_document(path)["poses"]  # every type checked, names the field
    except SchemaError as exc:
        raise FileFormatError(str(exc)) from exc
    if not poses:
        raise FileFormatError(f"{path}: 'poses' is empty (one entry per robot pose)")
    _count(path, "poses", poses, HAND_EYE_MAX_POSES, "entries")
    folder = path.parent.resolve()
    T, images = [], []
    for i, entry in enumerate(poses):
        where = f"{path}: poses[{i}]"
        Ti = np.asarray(entry["T_base_flange"], dtype=np.float64)
        if Ti.shape != (4, 4):
            raise FileFormatError(f"{where}.T_base_flange must be 4x4, got {Ti.shape}")
        T.append(Ti)
        images.append(_image_inside(folder, entry["image"], f"{where}.image"))
    T_base_flange = np.array(T)
    try:
        check_robot_poses(T_base_flange)
    except CalibrationError as exc:
        raise FileFormatError(f"{path}: {exc}") from exc
    return HandEyeInput(T_base_flange, images)


def load_calibration(path: str | Path) -> CameraCalibration:
    """The camera calibration from ``calibration.json`` (typed schema and size limit:
    ``robot_us.file_schemas``; the camera translation checked in metres)."""
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
    """The surface path (base frame) from ``path.json`` (at most ``PATH_MAX_BYTES`` and
    ``PATH_MAX_POINTS``)."""
    data = load_json(path, "path", PATH_MAX_BYTES)
    if isinstance(data, dict):
        for key in ("points", "normals"):
            if isinstance(data.get(key), list):
                _count(path, key, data[key], PATH_MAX_POINTS, "points")
    try:
        return path_from_dict(data)
    except PathFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from exc


def save_path(path: str | Path, surface: SurfacePath) -> None:
    """Write the trajectory planner's ``path.json`` (points and outward normals, metres)."""
    Path(path).write_text(json.dumps(path_to_dict(surface)) + "\n")
