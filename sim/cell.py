"""The simulated scanning cell as a ``robot_us.backends.Cell`` (registered as "sim")."""

from __future__ import annotations

from robot_us.backends import Cell, SoftwareEStop
from sim.arm import SimArm
from sim.camera import SimRgbdCamera
from sim.ft_sensor import SimFtSensor
from sim.world import SimWorld


def make_sim_cell(cfg) -> Cell:
    """Build the pybullet world and its devices from a ``robot_us.config.Config``.
    ``cell.step_plant`` advances the world one control period; ``cell.sim`` is the
    world (ground truth)."""
    world = SimWorld(cfg)
    return Cell(
        name="sim",
        arm=SimArm(world),
        wrench=SimFtSensor(world, cfg.sim.ft),
        camera=SimRgbdCamera(world, cfg.sim.camera),
        ultrasound=None,
        estop=SoftwareEStop(),
        step_plant=world.step,
        close=world.close,
        sim=world,
    )
