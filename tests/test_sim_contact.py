"""Compliant contact: pressing the probe straight into the phantom follows F = k d
(within 10 % at 2, 5 and 10 mm); the gravity-compensated F/T reading matches the summed
contact normal force within 2 % at rest; the lens slides smoothly; breathing shows up in
the contact force."""

import numpy as np
import pytest

from sim.cell import make_sim_cell
from tests.sim_helpers import PoseTracker, average, press, sim_config, yaw_pose


@pytest.fixture(scope="module")
def cfg():
    return sim_config()


def _press_and_measure(cfg, depth, yaw):
    cell = make_sim_cell(cfg)
    try:
        g = cell.sim.geometry
        T = yaw_pose(cell.sim, g.center_x, g.center_y, g.top_z - depth, yaw)
        press(cell, T)
        return average(cell, T, 300, cfg)
    finally:
        cell.close()


@pytest.mark.parametrize("depth", [0.002, 0.005, 0.010])
@pytest.mark.parametrize("yaw", [0.0, np.pi / 2], ids=["array-along-body", "array-across"])
def test_force_indentation_law(cfg, depth, yaw):
    m = _press_and_measure(cfg, depth, yaw)
    k = cfg.sim.phantom.stiffness
    assert m["indentation"] == pytest.approx(depth, abs=2e-4)
    law = k * m["indentation"]
    assert m["force"] == pytest.approx(law, rel=0.10)
    sensed = -m["ft"][2]  # pushing the probe into the body reads -z
    assert sensed == pytest.approx(law, rel=0.10)
    # F/T after gravity compensation vs summed contact normal force: within 2 %
    assert sensed == pytest.approx(m["force"], rel=0.02)


@pytest.mark.parametrize(
    "overrides", [{"probe.geometry": "convex"}, {"robot.model": "lbr"}], ids=["convex", "lbr"]
)
def test_other_probe_and_arm_follow_the_law(overrides):
    cfg = sim_config(overrides)
    m = _press_and_measure(cfg, 0.005, 0.0)
    assert m["force"] == pytest.approx(cfg.sim.phantom.stiffness * m["indentation"], rel=0.10)
    assert -m["ft"][2] == pytest.approx(m["force"], rel=0.02)


def test_stiffness_from_config_is_the_law():
    cfg = sim_config({"sim.phantom.stiffness": 5000.0})
    m = _press_and_measure(cfg, 0.004, 0.0)
    assert m["force"] == pytest.approx(5000.0 * m["indentation"], rel=0.10)


def test_contact_points_report_the_contact(cfg):
    cell = make_sim_cell(cfg)
    try:
        g = cell.sim.geometry
        T = yaw_pose(cell.sim, g.center_x, g.center_y, g.top_z - 0.005)
        press(cell, T)
        cp = cell.sim.contact_points()
        assert len(cp) == 1  # the ideal tissue: one contact at the deepest lens point
        assert cp.forces.sum() == pytest.approx(cell.sim.contact_force())
        assert np.allclose(cp.normals, [0, 0, 1], atol=0.05)  # out of the skin
        assert cp.depths[0] == pytest.approx(0.005, abs=3e-4)
        assert np.allclose(cp.positions[0, [0, 2]], [g.center_x, g.top_z], atol=1e-3)
    finally:
        cell.close()


def test_lens_slides_smoothly_over_the_curved_top(cfg):
    """Hold 5 mm depth while sliding 30 mm across the curved top at 10 mm/s: the contact
    force stays on the law (measured force noise ~0.003 N; a flat face gives 0.6-0.8 N)."""
    cell = make_sim_cell(cfg)
    try:
        w, g = cell.sim, cell.sim.geometry
        depth, speed, r = 0.005, 0.01, g.radius - 0.005

        def pose(theta):
            s, c = np.sin(theta), np.cos(theta)
            T = yaw_pose(w, g.center_x + r * s, g.center_y, g.axis_z + r * c)
            Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
            T[:3, :3] = Ry @ T[:3, :3]
            return T

        th0 = -0.015 / r
        press(cell, pose(th0))
        servo = PoseTracker(cell)
        omega = speed / r
        ff = np.zeros(6)
        forces, depths = [], []
        for k in range(3000):
            th = th0 + omega * k * w.dt
            ff[:3] = speed * np.array([np.cos(th), 0.0, -np.sin(th)])
            ff[4] = omega
            servo.step(pose(th), ff)
            cell.step_plant()
            forces.append(w.contact_force())
            depths.append(w.indentation())
        forces, depths = np.array(forces[200:]), np.array(depths[200:])
        assert depths.mean() == pytest.approx(depth, abs=3e-4)
        residual = forces - cfg.sim.phantom.stiffness * depths
        assert np.std(forces) < 0.05
        assert np.sqrt(np.mean(residual**2)) < 0.05 * cfg.sim.phantom.stiffness * depth
    finally:
        cell.close()


def test_breathing_phantom_pushes_on_a_held_probe():
    cfg = sim_config({"sim.phantom.breathing_amplitude": 0.003, "sim.phantom.breathing_hz": 1.0})
    cell = make_sim_cell(cfg)
    try:
        w, g = cell.sim, cell.sim.geometry
        T = yaw_pose(w, g.center_x, g.center_y, g.top_z - 0.004)
        press(cell, T, settle=0)
        servo = PoseTracker(cell)
        err = []
        for _ in range(1000):  # one breathing period
            servo.step(T)
            cell.step_plant()
            expected = cfg.sim.phantom.stiffness * w.indentation()
            err.append(w.contact_force() - expected)
            assert w.indentation() > 0.0
        # indentation swings by +-3 mm with the breathing; the force follows the law
        assert np.max(np.abs(err[50:])) < 0.1 * cfg.sim.phantom.stiffness * 0.004
    finally:
        cell.close()
