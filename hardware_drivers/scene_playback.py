"""A recorded RGB-D view (``scene.npz``, docs/formats.md; written by ``robot-us sim-scene``)
played back as the camera: every ``capture`` returns a copy of the same frame with the
time since the camera was opened. For dry runs of the hardware cell and for tests; a
scene without ``T_base_camera`` needs a calibration file, as on a real camera."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hardware_drivers.config import HardwareConfig
from hardware_drivers.frame_files import FrameFileError
from robot_us.core.backends import RgbdCamera
from robot_us.core.npz_file import read_npz
from robot_us.core.types import CameraIntrinsics, RgbdFrame


def _array(data: dict, key: str, shape: tuple, path: Path, kinds: str = "fiu") -> np.ndarray:
    """``data[key]`` checked for its kind and shape (-1: any length)."""
    a = data[key]
    ok = a.ndim == len(shape) and all(s in (-1, n) for s, n in zip(shape, a.shape, strict=False))
    if a.dtype.kind not in kinds or not ok:
        raise FrameFileError(f"{path}: '{key}' has shape {a.shape} {a.dtype}, expected {shape}")
    return a


class ScenePlaybackCamera(RgbdCamera):
    """The view in ``path`` as an ``RgbdCamera``."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not str(path) or not path.suffix:
            raise FrameFileError("hardware.camera.scene must name a scene.npz file")
        data = read_npz(path, "scene file", FrameFileError)
        for key in ("depth", "K"):
            if key not in data:
                raise FrameFileError(f"{path}: missing key '{key}' (has {sorted(data)})")
        depth = _array(data, "depth", (-1, -1), path, "f").astype(np.float32)
        h, w = depth.shape
        K = _array(data, "K", (3, 3), path).astype(float)
        dist = np.asarray(data.get("dist", np.zeros(5)), float).ravel()
        rgb = _array(data, "rgb", (h, w, 3), path, "u") if "rgb" in data else None
        T = (
            _array(data, "T_base_camera", (4, 4), path).astype(float)
            if "T_base_camera" in data
            else None
        )
        mask = _array(data, "mask", (h, w), path, "bui").astype(bool) if "mask" in data else None
        self.intrinsics = CameraIntrinsics(w, h, K, dist)
        self._frame = RgbdFrame(
            t=0.0,
            rgb=np.zeros((h, w, 3), np.uint8) if rgb is None else rgb.astype(np.uint8),
            depth=depth,
            intrinsics=self.intrinsics,
            T_base_camera=T,
            mask=mask,
        )
        self.path = path
        self._t0 = time.monotonic()

    def connect(self) -> ScenePlaybackCamera:
        """Nothing to connect (the file was read when constructed)."""
        return self

    def capture(self) -> RgbdFrame:
        """A copy of the recorded view, stamped with the time since opening (s)."""
        f = self._frame
        return RgbdFrame(
            t=time.monotonic() - self._t0,
            rgb=f.rgb.copy(),
            depth=f.depth.copy(),
            intrinsics=f.intrinsics,
            T_base_camera=None if f.T_base_camera is None else f.T_base_camera.copy(),
            mask=None if f.mask is None else f.mask.copy(),
        )

    def close(self) -> None:
        """Nothing to release."""


def make_scene_camera(hw: HardwareConfig) -> ScenePlaybackCamera:
    """The scene of ``hardware.camera.scene`` (``CAMERA_DRIVERS["scene"]``)."""
    return ScenePlaybackCamera(hw.camera.scene)
