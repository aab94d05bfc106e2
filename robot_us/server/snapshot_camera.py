"""Where the server's camera snapshots come from (``snapshot`` command): the RGB-D camera
is not a device of the control loop, so it lives in the server process. By cell backend
(``SNAPSHOT_CAMERAS``): in simulation, a mirror of the simulated cell (its own pybullet
world from the same configuration, never stepped) whose arm is set to the newest measured
joints before each capture, so the image shows the arm where it is; a hardware cell
registers its camera here (``factory(config) -> SnapshotCamera``)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from robot_us.config import Config
from robot_us.core.registry import Registry
from robot_us.core.types import RgbdFrame
from sim.camera import SimRgbdCamera
from sim.world import SimWorld


class SnapshotCamera(Protocol):
    """An RGB-D camera of the cell, captured with the arm at joints ``q`` (rad)."""

    def capture(self, q: np.ndarray) -> RgbdFrame:
        """One colour + depth frame."""
        ...

    def close(self) -> None:
        """Release the camera."""
        ...


class MirrorSimCamera:
    """The simulated camera in a mirror of the simulated world (see the module doc)."""

    def __init__(self, cfg: Config) -> None:
        self.world = SimWorld(cfg)
        self.camera = SimRgbdCamera(self.world, cfg.sim.camera)

    def capture(self, q: np.ndarray) -> RgbdFrame:
        """Set the mirror's arm to ``q`` and render."""
        self.world.reset_joints(np.asarray(q, dtype=float))
        return self.camera.capture()

    def close(self) -> None:
        """Disconnect the mirror world."""
        self.world.close()


#: Snapshot cameras by ``cell.backend``.
SNAPSHOT_CAMERAS: Registry[SnapshotCamera] = Registry("snapshot camera")
SNAPSHOT_CAMERAS.register("sim", MirrorSimCamera)
