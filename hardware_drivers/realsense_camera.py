"""Intel RealSense D4xx RGB-D camera through pyrealsense2 (the ``hardware`` extra) as an
``RgbdCamera``: colour (RGB8) and depth (Z16) at the configured size and rate, depth
aligned to the colour image (``rs.align``) and scaled to metres with the device's depth
scale; the intrinsics are those of the colour stream (the aligned depth shares them).
Never called from the control loop (``capture`` waits for the next frame pair)."""

from __future__ import annotations

import numpy as np

from hardware_drivers.config import HardwareConfig
from hardware_drivers.optional_sdk import require
from robot_us.core.backends import BackendError, RgbdCamera
from robot_us.core.types import CameraIntrinsics, RgbdFrame

#: How long ``capture`` waits for a frame pair (ms).
FRAME_TIMEOUT_MS = 2000


class RealSenseCamera(RgbdCamera):
    """The RealSense with ``serial`` ('' = the first one found); call ``connect()`` first."""

    def __init__(self, serial: str, width: int, height: int, fps: int) -> None:
        self.serial = serial
        self.size = (width, height)
        self.fps = fps
        self._rs = None
        self._pipeline = None
        self._align = None
        self.depth_scale = 0.0
        self.intrinsics = CameraIntrinsics(width, height, np.eye(3))

    def connect(self) -> RealSenseCamera:
        """Start the colour and depth streams; ``BackendError`` when no camera answers."""
        # lazy: pyrealsense2 is an optional vendor SDK (the hardware extra)
        rs = require("pyrealsense2", "pyrealsense2", "the RealSense camera driver")
        self._rs = rs
        w, h = self.size
        config = rs.config()
        if self.serial:
            config.enable_device(self.serial)
        config.enable_stream(rs.stream.depth, w, h, rs.format.z16, self.fps)
        config.enable_stream(rs.stream.color, w, h, rs.format.rgb8, self.fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as exc:
            which = f"serial {self.serial}" if self.serial else "any serial"
            raise BackendError(
                f"RealSense ({which}): the streams did not start ({exc}); check the USB 3 "
                f"cable and port, and that {w}x{h} at {self.fps} Hz is a supported mode"
            ) from exc
        self._pipeline = pipeline
        self.depth_scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        self._align = rs.align(rs.stream.color)
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        K = np.array([[intr.fx, 0.0, intr.ppx], [0.0, intr.fy, intr.ppy], [0.0, 0.0, 1.0]])
        self.intrinsics = CameraIntrinsics(intr.width, intr.height, K, np.array(intr.coeffs))
        return self

    def capture(self) -> RgbdFrame:
        """The next colour + aligned depth pair (depth in metres, 0 = no measurement); ``t``
        is the device timestamp (s)."""
        try:
            frames = self._pipeline.wait_for_frames(FRAME_TIMEOUT_MS)
        except RuntimeError as exc:
            raise BackendError(
                f"RealSense: no frames within {FRAME_TIMEOUT_MS} ms ({exc})"
            ) from exc
        aligned = self._align.process(frames)
        depth, color = aligned.get_depth_frame(), aligned.get_color_frame()
        if not depth or not color:
            raise BackendError("RealSense: a frame pair without colour or depth")
        z = np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(self.depth_scale)
        return RgbdFrame(
            t=float(frames.get_timestamp()) * 1e-3,
            rgb=np.array(np.asanyarray(color.get_data()), dtype=np.uint8, copy=True),
            depth=z,
            intrinsics=self.intrinsics,
        )

    def close(self) -> None:
        """Stop the streams."""
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None


def make_realsense(hw: HardwareConfig) -> RealSenseCamera:
    """The RealSense of ``hardware.camera`` (``CAMERA_DRIVERS["realsense"]``)."""
    c = hw.camera
    return RealSenseCamera(c.serial, c.width, c.height, c.fps)
