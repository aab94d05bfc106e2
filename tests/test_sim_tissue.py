"""The tissue: exponential force-indentation law set by the stiffness at the reference
force, quasi-linear viscoelastic relaxation, stiff tissue over the ribs (where the
ultrasound volume has bone), Coulomb + viscous skin friction with pre-sliding, and a
distributed pressure along the lens that gives moments when the lens rolls."""

import dataclasses
import math

import numpy as np
import pytest

from sim.cell import make_sim_cell
from sim.config import TissueConfig
from sim.phantom_geometry import PhantomGeometry
from sim.tissue_law import PointState, TissueLaw
from sim.ultrasound.phantom_volume import PhantomVolume
from sim.ultrasound.tissue import Tissue
from tests.sim_helpers import PoseTracker, average, press, sim_config, yaw_pose

DT = 1e-3


def _law(damping=0.0, **tissue) -> TissueLaw:
    return TissueLaw(dataclasses.replace(TissueConfig(), **tissue), damping, DT)


def test_linear_law_without_stiffening():
    law = _law()
    assert law.elastic(0.004, 2000.0) == pytest.approx(8.0)
    assert law.tangent(0.004, 2000.0) == pytest.approx(2000.0)
    assert law.elastic(-0.001, 2000.0) == 0.0


@pytest.mark.parametrize("k", [700.0, 2000.0, 6000.0, 10000.0])
def test_exponential_law_has_the_stiffness_at_the_reference_force(k):
    law = _law(stiffening=2.5, reference_force=5.0)
    d_ref = law.indentation_at(5.0, k)
    assert law.elastic(d_ref, k) == pytest.approx(5.0)
    assert law.tangent(d_ref, k) == pytest.approx(k)  # the configured stiffness at 5 N
    assert law.tangent(0.0, k) == pytest.approx(k / 2.5)  # softer at first touch
    assert law.tangent(2 * d_ref, k) > 1.5 * k  # and stiffening
    # d f / d d numerically is the tangent
    h = 1e-7
    slope = (law.elastic(d_ref + h, k) - law.elastic(d_ref - h, k)) / (2 * h)
    assert slope == pytest.approx(k, rel=1e-5)


def test_quasi_linear_relaxation_of_a_held_indentation():
    law = _law(relaxation=(0.2, 0.1), relaxation_time=(0.05, 1.0))
    st = PointState()
    d, k = 0.004, 2000.0
    fe = law.elastic(d, k)
    forces = [law.step(st, d, k) for _ in range(3000)]
    assert forces[0] == pytest.approx(fe)  # instantaneous: the full elastic force
    n = np.arange(3000)
    a1, a2 = math.exp(-DT / 0.05), math.exp(-DT / 1.0)
    expected = fe * (0.7 + 0.2 * a1**n + 0.1 * a2**n)
    assert np.allclose(forces, expected, rtol=1e-9)
    assert forces[-1] == pytest.approx(0.7 * fe, rel=0.01)  # relaxed


def test_the_tissue_never_pulls():
    law = _law(damping=200.0)
    st = PointState()
    law.step(st, 0.004, 2000.0)
    assert law.step(st, 0.0035, 2000.0) == 0.0  # 0.5 m/s away: damping exceeds the spring
    assert law.step(st, -0.001, 2000.0) == 0.0


def _cfg(**over):
    base = {
        "sim.tissue.pressure": "distributed",
        "sim.ft.force_noise_std": 0.0,
        "sim.ft.torque_noise_std": 0.0,
    }
    return sim_config({**base, **{k.replace("__", "."): v for k, v in over.items()}})


@pytest.mark.slow
def test_force_indentation_curve_in_the_sim():
    cfg = _cfg(sim__tissue__stiffening=2.5)
    law = TissueLaw(cfg.sim.tissue, 0.0, DT)
    k = cfg.sim.phantom.stiffness
    cell = make_sim_cell(cfg)
    try:
        g = cell.sim.geometry
        for depth in (0.001, 0.003, 0.005, 0.007):
            T = yaw_pose(cell.sim, g.center_x, g.center_y + 0.05, g.top_z - depth)
            press(cell, T, settle=200)
            m = average(cell, T, 100, cfg)
            assert m["force"] == pytest.approx(law.elastic(m["indentation"], k), rel=0.02)
            assert -m["ft"][2] == pytest.approx(m["force"], rel=0.02)  # what the F/T reads
    finally:
        cell.close()


@pytest.mark.slow
def test_relaxation_in_the_sim():
    cfg = _cfg(sim__tissue__relaxation=[0.3, 0.0], sim__tissue__relaxation_time=[0.5, 10.0])
    cell = make_sim_cell(cfg)
    try:
        w, g = cell.sim, cell.sim.geometry
        T = yaw_pose(w, g.center_x, g.center_y + 0.05, g.top_z - 0.004)
        press(cell, T, settle=0)
        servo = PoseTracker(cell)
        f = []
        for _ in range(2500):
            servo.step(T)
            cell.step_plant()
            f.append(w.contact_force() / (cfg.sim.phantom.stiffness * w.indentation()))
        t = (np.arange(2500) + 1) * w.dt
        expected = 0.7 + 0.3 * np.exp(-t / 0.5)
        assert np.allclose(f[10:], expected[10:], atol=0.02)
    finally:
        cell.close()


def test_ribs_are_stiff_in_the_mechanics_where_the_image_has_bone():
    for shape in ("cylinder", "torso"):
        cfg = _cfg(sim__phantom__shape=shape, sim__tissue__rib_stiffness=8000.0)
        cell = make_sim_cell(cfg)
        try:
            w = cell.sim
            g, contact = w.geometry, w.contact
            volume = PhantomVolume(g)
            assert g.ribs, shape
            for rib in g.ribs:
                y = g.center_y + rib.y
                assert contact.local_stiffness(y) == pytest.approx(8000.0)
                p, n = g.surface_point(0.0, y)
                assert volume.labels(p - rib.depth * n) == Tissue.BONE
            soft_y = g.center_y + 0.08
            assert contact.local_stiffness(soft_y) == pytest.approx(cfg.sim.phantom.stiffness)
            p, n = g.surface_point(0.0, soft_y)
            depths = np.linspace(0.003, 0.04, 30)[:, None]
            assert not np.any(volume.labels(p - depths * n) == Tissue.BONE)
        finally:
            cell.close()


@pytest.mark.slow
def test_pressing_over_the_rib_takes_more_force():
    cfg = _cfg(sim__tissue__rib_stiffness=8000.0)
    cell = make_sim_cell(cfg)
    try:
        g = cell.sim.geometry
        forces = {}
        for yaw in (0.0, np.pi / 2):  # array along the body (across the rib), along the rib
            for name, y in (("rib", g.ribs[0].y), ("soft", 0.05)):
                T = yaw_pose(cell.sim, g.center_x, g.center_y + y, g.top_z - 0.003, yaw)
                press(cell, T, settle=200)
                forces[name, yaw] = average(cell, T, 50, cfg)["force"]
        # along the rib, all of the lens is over bone: the stiffness ratio 8000 / 2000
        along = forces["rib", np.pi / 2] / forces["soft", np.pi / 2]
        assert along == pytest.approx(4.0, rel=0.05)
        # across it, the middle is over bone, the ends over the softer tissue beside it
        across = forces["rib", 0.0] / forces["soft", 0.0]
        assert 1.5 < across < 3.5
    finally:
        cell.close()


@pytest.mark.slow
def test_skin_friction_is_coulomb_plus_viscous_after_presliding():
    mu, c, pre, speed = 0.3, 10.0, 0.001, 0.01
    cfg = _cfg(
        sim__phantom__lateral_friction=mu,
        sim__tissue__viscous_friction=c,
        sim__tissue__presliding=pre,
    )
    cell = make_sim_cell(cfg)
    try:
        w, g = cell.sim, cell.sim.geometry
        T = yaw_pose(w, g.center_x, g.center_y - 0.03, g.top_z - 0.0025)
        press(cell, T, settle=300)
        servo = PoseTracker(cell)
        ff = np.array([0.0, speed, 0.0, 0.0, 0.0, 0.0])
        drag, normal = [], []
        for k in range(1, 801):
            Tk = T.copy()
            Tk[1, 3] += speed * k * w.dt
            servo.step(Tk, ff)
            cell.step_plant()
            drag.append(w.contact.tangential[1])
            normal.append(w.contact_force())
        drag, normal = np.array(drag), np.array(normal)
        assert np.all(drag[20:] < 0)  # opposes the motion along +y
        sliding = slice(400, 800)
        assert np.mean(-drag[sliding]) == pytest.approx(
            mu * np.mean(normal[sliding]) + c * speed, rel=0.05
        )
        # before it slides, the skin stretches: the drag builds over ~presliding / speed
        t_half = np.argmax(-drag > 0.5 * mu * normal) * w.dt
        assert 0.02 < t_half < 0.1
    finally:
        cell.close()


@pytest.mark.slow
def test_distributed_pressure_gives_a_moment_when_the_lens_rolls():
    moments = {}
    for tilt in (0.0, 0.03):
        cfg = _cfg()
        cell = make_sim_cell(cfg)
        try:
            w, g = cell.sim, cell.sim.geometry
            T = yaw_pose(w, g.center_x, g.center_y + 0.05, g.top_z - 0.004)
            c, s = math.cos(tilt), math.sin(tilt)
            T[:3, :3] = T[:3, :3] @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # about y
            press(cell, T, settle=200)
            m = average(cell, T, 50, cfg)
            # moment about the tip from the F/T moment about the sensor origin
            L = w.tool.sensor_to_tip
            f, tau = m["ft"][:3], m["ft"][3:]
            moments[tilt] = tau - np.cross([0.0, 0.0, L], f)
        finally:
            cell.close()
    assert abs(moments[0.0][1]) < 0.003
    assert abs(moments[0.03][1]) > 0.01  # the deeper end presses harder: a moment about y


def test_geometry_shapes_are_registered():
    cfg = _cfg(sim__phantom__shape="torso")
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    assert type(g).__name__ == "TorsoGeometry"
