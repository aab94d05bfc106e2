"""The simulated cell builds for both arms and both probe geometries, its frames agree
with the kinematics and the config, and the phantom breathes as configured."""

import numpy as np
import pybullet as p
import pytest

from robot_us.config import ConfigError
from robot_us.core.arms import simulated_arms
from robot_us.core.backends import CELLS, ArmBackend, RgbdCamera, UltrasoundSource, WrenchSensor
from sim.probe_tool import ProbeTool
from sim.world import SimWorld
from tests.sim_helpers import sim_config


@pytest.mark.parametrize("model", simulated_arms())
@pytest.mark.parametrize("geometry", ["linear", "convex"])
def test_world_builds_with_probe_at_home(model, geometry):
    cfg = sim_config({"robot.model": model, "probe.geometry": geometry})
    with SimWorld(cfg) as w:
        assert len(w.joint_indices) == w.arm.n_joints
        T = w.probe_pose()
        # home: probe face at (0.35, 0, 0.40) pointing straight down, array along +y
        assert np.allclose(T[:3, 3], [0.35, 0.0, 0.40], atol=2e-3)
        assert np.allclose(T[:3, 2], [0, 0, -1], atol=1e-3)
        assert np.allclose(T[:3, 0], [0, 1, 0], atol=1e-3)
        # ground truth agrees with the ETS model and T_flange_probe
        assert np.allclose(w.kin.fk(w.joint_positions()), T, atol=1e-6)
        assert np.allclose(w.T_flange_probe[:3, 3], [0, 0, cfg.probe.tip_offset])
        # the carried mass and its centre of mass are the config's (gravity comp exact)
        info = p.getDynamicsInfo(w.robot_id, w.probe_link, physicsClientId=w.client)
        assert info[0] == pytest.approx(cfg.probe.mass)
        assert np.allclose(info[3], cfg.probe.com)
        assert w.contact_force() == 0.0
        assert len(w.contact_points()) == 0


def test_sim_cell_from_registry_has_all_devices():
    cell = CELLS.create("sim", sim_config())
    try:
        assert isinstance(cell.arm, ArmBackend) and cell.arm.n_joints == 7
        assert isinstance(cell.wrench, WrenchSensor)
        assert isinstance(cell.camera, RgbdCamera)
        assert isinstance(cell.ultrasound, UltrasoundSource)
        assert not cell.estop.pressed()
        t0 = cell.sim.t
        cell.step_plant()
        assert cell.sim.t == pytest.approx(t0 + 1e-3)
    finally:
        cell.close()


def test_convex_face_must_span_the_width():
    with pytest.raises(ValueError, match="convex_radius"):  # refused at config load
        cfg = sim_config({"probe.geometry": "convex", "probe.convex_radius": 0.02})
        ProbeTool.from_config(cfg.probe)


def test_q_home_with_wrong_length_is_an_error():
    with pytest.raises(ValueError, match="q_home"):
        SimWorld(sim_config({"robot.q_home": [0.0, 0.1]}))


def test_bad_config_value_names_the_key():
    with pytest.raises(ConfigError, match=r"sim\.phantom\.breathing_amplitude"):
        sim_config({"sim.phantom.breathing_amplitude": 0.5})


def test_breathing_moves_the_phantom_as_configured():
    cfg = sim_config({"sim.phantom.breathing_amplitude": 0.005, "sim.phantom.breathing_hz": 0.5})
    with SimWorld(cfg) as w:
        z = []
        for _ in range(1000):  # one half period: 0 -> +A (t = 0.5 s) -> 0 (t = 1 s)
            w.step()
            pos, _ = p.getBasePositionAndOrientation(w.phantom_id, physicsClientId=w.client)
            z.append(pos[2])  # the body's origin is at the bed-level reference z = 0
            assert z[-1] == pytest.approx(w.breathing_offset(), abs=1e-12)
        assert w.t == pytest.approx(1.0)
        assert z[499] == pytest.approx(0.005, abs=1e-9)
        assert abs(z[-1]) < 1e-9
        assert w.breathing_offset(0.25) == pytest.approx(0.005 * np.sin(np.pi / 4))


def test_still_phantom_does_not_move():
    with SimWorld(sim_config()) as w:
        for _ in range(10):
            w.step()
        pos, _ = p.getBasePositionAndOrientation(w.phantom_id, physicsClientId=w.client)
        assert pos[2] == pytest.approx(0.0)
        assert w.breathing_offset() == 0.0


def test_shift_phantom_moves_body_and_ground_truth():
    with SimWorld(sim_config()) as w:
        w.shift_phantom(-0.008)
        w.step()
        pos, _ = p.getBasePositionAndOrientation(w.phantom_id, physicsClientId=w.client)
        assert pos[2] == pytest.approx(-0.008)
        assert w.breathing_offset() == pytest.approx(-0.008)
        with pytest.raises(ValueError, match="phantom shift"):
            w.shift_phantom(0.5)
        with pytest.raises(ValueError, match="phantom shift"):
            w.shift_phantom(float("nan"))
