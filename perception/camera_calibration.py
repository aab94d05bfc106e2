"""The camera calibration the stack reads (``calibration.json``, see docs/formats.md): the
camera's pose in the robot base frame, optionally its intrinsics, and the reports of the
calibrations that produced them. Conversion to and from plain dicts (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perception.deprojection import is_rigid
from robot_us.core.types import CameraIntrinsics

FORMAT_NAME = "robot-us-camera-calibration"
FORMAT_VERSION = 1
#: Farthest the camera may be from the robot base (m): a camera in the scanning cell is
#: within a few metres; a larger translation is a file in millimetres.
MAX_CAMERA_DISTANCE = 5.0


class CalibrationFileError(ValueError):
    """A calibration file is malformed: the message names the key and the problem."""


@dataclass
class CameraCalibration:
    """Camera pose ``T_base_camera`` (4x4, maps camera coordinates into the base frame,
    metres; None until the hand-eye step ran), optional intrinsics, and free-form reports
    (residuals, RMS errors)."""

    T_base_camera: np.ndarray | None
    intrinsics: CameraIntrinsics | None = None
    hand_eye: dict[str, Any] = field(default_factory=dict)
    intrinsics_report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The calibration as JSON-ready nested dicts and lists."""
        out: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        if self.T_base_camera is not None:
            out["T_base_camera"] = np.asarray(self.T_base_camera, float).tolist()
        if self.intrinsics is not None:
            out["intrinsics"] = {
                "width": int(self.intrinsics.width),
                "height": int(self.intrinsics.height),
                "K": np.asarray(self.intrinsics.K, float).tolist(),
                "dist": np.asarray(self.intrinsics.dist, float).ravel().tolist(),
            }
        if self.hand_eye:
            out["hand_eye"] = dict(self.hand_eye)
        if self.intrinsics_report:
            out["intrinsics_report"] = dict(self.intrinsics_report)
        return out

    @classmethod
    def from_dict(cls, data: Any, origin: str = "calibration") -> CameraCalibration:
        """Parse and validate; errors name ``origin`` and the offending key."""
        if not isinstance(data, dict):
            raise CalibrationFileError(f"{origin}: expected a JSON object at the top level")
        if data.get("format", FORMAT_NAME) != FORMAT_NAME:
            raise CalibrationFileError(
                f"{origin}: 'format' is {data.get('format')!r}, expected {FORMAT_NAME!r}"
            )
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise CalibrationFileError(
                f"{origin}: unsupported version {version!r} (this reader knows {FORMAT_VERSION})"
            )
        if "T_base_camera" not in data and "intrinsics" not in data:
            raise CalibrationFileError(
                f"{origin}: holds neither 'T_base_camera' nor 'intrinsics' (missing keys)"
            )
        T = None
        if "T_base_camera" in data:
            T = _matrix(data["T_base_camera"], (4, 4), f"{origin}: 'T_base_camera'")
            if not is_rigid(T):
                raise CalibrationFileError(f"{origin}: 'T_base_camera' is not a rigid transform")
            dist = float(np.linalg.norm(T[:3, 3]))
            if dist > MAX_CAMERA_DISTANCE:
                raise CalibrationFileError(
                    f"{origin}: 'T_base_camera' puts the camera {dist:g} m from the robot base "
                    f"(at most {MAX_CAMERA_DISTANCE:g} m): the translation must be in metres"
                )
        intr = None
        if "intrinsics" in data:
            d = data["intrinsics"]
            key = f"{origin}: 'intrinsics'"
            if not isinstance(d, dict):
                raise CalibrationFileError(f"{key} must be an object")
            for k in ("width", "height", "K"):
                if k not in d:
                    raise CalibrationFileError(f"{key} is missing key '{k}'")
            w, h = d["width"], d["height"]
            if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
                raise CalibrationFileError(f"{key}: width and height must be positive integers")
            K = _matrix(d["K"], (3, 3), f"{key}.K")
            dist = np.asarray(_matrix(d.get("dist", []), None, f"{key}.dist"), float).ravel()
            intr = CameraIntrinsics(w, h, K, dist)
        return cls(
            T_base_camera=T,
            intrinsics=intr,
            hand_eye=dict(data.get("hand_eye", {})),
            intrinsics_report=dict(data.get("intrinsics_report", {})),
        )


def _matrix(value: Any, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CalibrationFileError(f"{what} must be numbers: {exc}") from exc
    if shape is not None and arr.shape != shape:
        raise CalibrationFileError(f"{what} must be {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationFileError(f"{what} contains NaN or infinite values")
    return arr
