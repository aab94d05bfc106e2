"""The simulated scanning cell as a ``robot_us.core.backends.Cell`` (registered as "sim")."""

from __future__ import annotations

from robot_us.core.backends import ULTRASOUND_SOURCES, Cell, SoftwareEStop, UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from sim.arm import SimArm
from sim.camera import SimRgbdCamera
from sim.ft_sensor import SimFtSensor
from sim.world import SimWorld


class LazyUltrasoundSource(UltrasoundSource):
    """The configured ultrasound source (``ULTRASOUND_SOURCES``), built on the first
    ``grab``: a cell that never images does not pay for the B-mode simulator's set-up
    (about 0.3 s)."""

    def __init__(self, cfg, world: SimWorld) -> None:
        self._cfg = cfg
        self._world = world
        self.source: UltrasoundSource | None = None

    def grab(self) -> UltrasoundFrame | None:
        """The next frame of the underlying source."""
        if self.source is None:
            self.source = ULTRASOUND_SOURCES.create(
                self._cfg.ultrasound.source, self._cfg, self._world
            )
        return self.source.grab()

    def close(self) -> None:
        """Release the underlying source, if it was built."""
        if self.source is not None:
            self.source.close()


def make_sim_cell(cfg) -> Cell:
    """Build the pybullet world and its devices from a ``robot_us.config.Config``.
    ``cell.step_plant`` advances the world one control period; ``cell.sim`` is the
    world (ground truth); ``cell.ultrasound`` renders B-mode frames of the phantom at the
    probe's true pose and force (``ultrasound.source = "sim"``, built on first use)."""
    world = SimWorld(cfg)
    return Cell(
        name="sim",
        arm=SimArm(world),
        wrench=SimFtSensor(world, cfg.sim.ft),
        camera=SimRgbdCamera(world, cfg.sim.camera),
        ultrasound=LazyUltrasoundSource(cfg, world),
        estop=SoftwareEStop(),
        step_plant=world.step,
        close=world.close,
        sim=world,
    )
