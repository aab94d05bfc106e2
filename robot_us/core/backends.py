"""Backend interfaces that ``sim/`` and ``hardware_drivers/`` implement. Nothing above them
knows which one it drives; a ``Cell`` bundles the devices of one scanning cell.

Real-time contract: ``ArmBackend.read/command_*`` and ``WrenchSensor.read`` are called
from the 1 kHz loop; they must not allocate, block on I/O for longer than a few tens of
microseconds, or log. Cameras and ultrasound sources are never called from the loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_us.core.registry import Registry
from robot_us.core.types import ArmState, CameraIntrinsics, RgbdFrame, UltrasoundFrame, WrenchSample


class BackendError(RuntimeError):
    """A device failed, refused a command or delivered corrupt data."""


class ArmBackend(ABC):
    """A joint-velocity-commanded arm (optionally joint-position)."""

    n_joints: int
    supports_position: bool = False

    @abstractmethod
    def read(self, out: ArmState) -> None:
        """Fill ``out`` with the latest joint state (rad, rad/s, N·m) and its time (s)."""

    @abstractmethod
    def command_velocity(self, qd: np.ndarray) -> None:
        """Command joint velocities (rad/s) for the next cycle."""

    def command_position(self, q: np.ndarray) -> None:
        """Command joint positions (rad); only where ``supports_position``."""
        raise BackendError(f"{type(self).__name__} does not support joint position commands")

    @abstractmethod
    def stop(self) -> None:
        """Bring the arm to rest (zero velocity, brakes where the hardware has them)."""


class WrenchSensor(ABC):
    """A 6-axis force/torque sensor (raw reading, sensor frame, bias included)."""

    rate_hz: float
    #: transport time (s) between acquisition and arrival that a sample's ``age`` leaves
    #: out (0 when the stamp is the acquisition time, as the threaded drivers give)
    latency: float = 0.0

    @abstractmethod
    def read(self, out: WrenchSample) -> bool:
        """Fill ``out`` with the latest sample; return True if it is new since the last
        call (``out.seq`` then advanced)."""


class RgbdCamera(ABC):
    """An RGB-D camera; never called from the control loop."""

    intrinsics: CameraIntrinsics

    @abstractmethod
    def capture(self) -> RgbdFrame:
        """One colour + depth frame (depth in metres along the optical axis)."""


class UltrasoundSource(ABC):
    """A source of ultrasound frames (simulator, frame grabber, video file, image folder)."""

    @abstractmethod
    def grab(self) -> UltrasoundFrame | None:
        """The next frame, or None when the source is exhausted."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device."""


class EStop(ABC):
    """An emergency-stop input (software button or hardware line)."""

    @abstractmethod
    def pressed(self) -> bool:
        """True while the E-stop is engaged; must be cheap (called every cycle)."""


class SoftwareEStop(EStop):
    """An E-stop engaged from software (GUI button, test, server command)."""

    def __init__(self) -> None:
        self._pressed = False

    def press(self) -> None:
        """Engage the E-stop."""
        self._pressed = True

    def release(self) -> None:
        """Release the E-stop (faults stay latched until reset)."""
        self._pressed = False

    def pressed(self) -> bool:
        return self._pressed


@dataclass
class Cell:
    """The devices of one scanning cell. ``step_plant`` advances a simulated world by one
    period (None on hardware, where the physical world advances by itself)."""

    name: str
    arm: ArmBackend
    wrench: WrenchSensor
    camera: RgbdCamera | None = None
    ultrasound: UltrasoundSource | None = None
    estop: EStop | None = None
    step_plant: Callable[[], None] | None = None
    close: Callable[[], None] | None = None
    sim: object | None = None  # the simulated world, for ground truth (None on hardware)


#: Cell factories by backend name: ``factory(config) -> Cell``.
CELLS: Registry[Cell] = Registry("cell backend")
CELLS.register("sim", "robot_us.sim_ft_transport:make_sim_cell")
CELLS.register("hardware", "hardware_drivers.cell:make_hardware_cell")

#: Ultrasound frame sources by ``ultrasound.source``: ``factory(config, world=None) ->
#: UltrasoundSource`` (``world``: the simulated world, for the simulated source).
ULTRASOUND_SOURCES: Registry[UltrasoundSource] = Registry("ultrasound source")
ULTRASOUND_SOURCES.register("sim", "sim.ultrasound.source:make_sim_ultrasound_source")
ULTRASOUND_SOURCES.register("video", "hardware_drivers.video_capture:make_video_source")
ULTRASOUND_SOURCES.register("folder", "hardware_drivers.image_folder:make_folder_source")
ULTRASOUND_SOURCES.register("npz", "hardware_drivers.frame_stack:make_npz_source")
