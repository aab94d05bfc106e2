"""The simulated F/T sensor: sign convention (the tool's wrench on the sensor, sensor
frame), exact gravity of the configured carried mass, bias, noise and sample-and-hold at
the configured rate."""

import numpy as np
import pytest

from force_control.gravity import ProbeLoad
from robot_us.core.types import WrenchSample
from sim.cell import make_sim_cell
from tests.sim_helpers import sim_config

G = 9.81


def _mean_reading(cell, cycles, skip=0):
    ws = WrenchSample()
    acc = []
    for _ in range(skip):
        cell.step_plant()
    for _ in range(cycles):
        if cell.wrench.read(ws):
            acc.append(ws.wrench.copy())
        cell.step_plant()
    return np.mean(acc, axis=0), np.std(acc, axis=0), len(acc)


def test_hanging_probe_reads_its_weight_along_plus_z():
    cfg = sim_config({"sim.ft.force_noise_std": 0.0, "sim.ft.torque_noise_std": 0.0})
    cell = make_sim_cell(cfg)
    try:
        mean, _, _ = _mean_reading(cell, 50)
        w = mean - np.array(cfg.sim.ft.bias)
        m = cfg.probe.mass
        # sensor z points down at home: the weight pulls the tool away from the sensor
        assert np.allclose(w[:3], [0.0, 0.0, m * G], atol=2e-3)
        assert np.allclose(w[3:], 0.0, atol=1e-4)  # com on the z axis
    finally:
        cell.close()


def test_gravity_compensation_from_config_is_exact_in_any_orientation():
    cfg = sim_config(
        {
            "probe.com": [0.01, -0.02, 0.06],
            "probe.mass": 0.4,
            "sim.ft.force_noise_std": 0.0,
            "sim.ft.torque_noise_std": 0.0,
        }
    )
    cell = make_sim_cell(cfg)
    try:
        w = cell.sim
        q = w.q_home.copy()
        q[5] += 1.0
        q[6] += 0.5
        w.reset_joints(q)  # the reading refreshes with the next physics step
        mean, _, _ = _mean_reading(cell, 100, skip=1)
        load = ProbeLoad(cfg.probe.mass, np.array(cfg.probe.com))
        R = w.sensor_pose()[:3, :3]
        g = load.wrench(R, np.zeros(6))
        assert np.linalg.norm(g[3:]) > 0.05  # a real lever arm is tested
        assert np.allclose(mean - np.array(cfg.sim.ft.bias) - g, 0.0, atol=5e-3)
    finally:
        cell.close()


def test_bias_and_noise_statistics():
    cfg = sim_config({"sim.ft.force_noise_std": 0.2, "sim.ft.torque_noise_std": 0.01})
    cell = make_sim_cell(cfg)
    try:
        mean, std, n = _mean_reading(cell, 2000)
        assert n == 2000
        expected = np.array(cfg.sim.ft.bias) + np.array([0, 0, cfg.probe.mass * G, 0, 0, 0])
        assert np.allclose(mean[:3], expected[:3], atol=0.02)
        assert np.allclose(mean[3:], expected[3:], atol=1e-3)
        assert np.allclose(std[:3], 0.2, rtol=0.1)
        assert np.allclose(std[3:], 0.01, rtol=0.1)
    finally:
        cell.close()


def test_noise_is_seeded():
    cfg = sim_config()
    runs = []
    for _ in range(2):
        cell = make_sim_cell(cfg)
        try:
            ws = WrenchSample()
            seq = []
            for _ in range(5):
                cell.wrench.read(ws)
                seq.append(ws.wrench.copy())
                cell.step_plant()
            runs.append(np.array(seq))
        finally:
            cell.close()
    assert np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize(("rate", "every"), [(100.0, 10), (250.0, 4), (1000.0, 1)])
def test_sample_and_hold_at_the_configured_rate(rate, every):
    cell = make_sim_cell(sim_config({"sim.ft.rate_hz": rate}))
    try:
        assert cell.wrench.rate_hz == rate
        ws = WrenchSample()
        new, seqs, values = [], [], []
        for _ in range(50):
            new.append(cell.wrench.read(ws))
            seqs.append(ws.seq)
            values.append(ws.wrench.copy())
            cell.step_plant()
        expected_new = [k % every == 0 for k in range(50)]
        assert new == expected_new
        assert seqs == [k // every + 1 for k in range(50)]
        for k in range(50):  # held between samples, fresh noise on each sample
            if not new[k]:
                assert np.array_equal(values[k], values[k - 1])
            elif k > 0:
                assert not np.array_equal(values[k], values[k - 1])
        # a second read in the same cycle is not new
        assert cell.wrench.read(ws) in (True, False)
        assert cell.wrench.read(ws) is False
    finally:
        cell.close()


def test_sample_time_is_the_sample_instant():
    cell = make_sim_cell(sim_config({"sim.ft.rate_hz": 100.0}))
    try:
        ws = WrenchSample()
        for _ in range(25):
            cell.wrench.read(ws)
            cell.step_plant()
        cell.wrench.read(ws)
        assert cell.sim.t == pytest.approx(0.025)
        assert ws.t == pytest.approx(0.02)
    finally:
        cell.close()
