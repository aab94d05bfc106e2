"""The simulated ultrasound source on the real pybullet world: the probe in the air sees
nothing; pressed onto the phantom it sees coupled tissue at the world's time and pose."""

import numpy as np
import pytest

from perception.quality.classes import QualityClass
from sim.cell import make_sim_cell
from sim.ultrasound.source import make_sim_ultrasound_source
from tests.sim_helpers import press, sim_config, yaw_pose


@pytest.fixture(scope="module")
def cell():
    cfg = sim_config({"ultrasound.sim.width_px": 64, "ultrasound.sim.height_px": 64})
    cell = make_sim_cell(cfg)
    yield cfg, cell
    cell.close()


def test_sim_source_on_the_pybullet_world(cell):
    cfg, c = cell
    world = c.sim
    src = make_sim_ultrasound_source(cfg, world)
    air = src.grab()
    assert air.meta["quality"] == QualityClass.NO_CONTACT and air.image[20:].max() < 10

    g = world.geometry
    T = yaw_pose(world, g.center_x, g.center_y + 0.05, g.top_z - 0.003)
    press(c, T)
    frame = src.grab()
    assert frame.t == pytest.approx(world.t)
    assert np.allclose(frame.T_base_probe, world.probe_pose())
    assert frame.wrench[2] == pytest.approx(world.contact_force())
    assert frame.wrench[2] > 2.0
    assert frame.meta["coupled_fraction"] == 1.0
    assert frame.meta["quality"] == QualityClass.GOOD
    assert frame.image[10:].mean() > 40


def test_the_cell_carries_the_simulated_source(cell):
    _, c = cell
    assert c.ultrasound is not None and c.ultrasound.source is None  # built on first use
    frame = c.ultrasound.grab()
    assert frame.image.shape == (64, 64) and frame.t == pytest.approx(c.sim.t)
    assert c.ultrasound.source is not None
