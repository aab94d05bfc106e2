"""The simulated F/T sensor: sign convention (the tool's wrench on the sensor, sensor
frame), exact gravity of the configured carried mass, bias, noise and sample-and-hold at
the configured rate; the device's rate and transport latency as the WrenchSensor interface
shows them, bias drift, saturation and output resolution."""

import math

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


def test_sample_time_is_the_arrival_instant():
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


EXACT = {"sim.ft.force_noise_std": 0.0, "sim.ft.torque_noise_std": 0.0}


def _tilting(cell, cycles, joint=3, speed=0.5):
    """Tilt the wrist at ``speed`` rad/s (the probe's weight turns in the sensor frame):
    per cycle the true wrench an acquisition now would take, and the reading."""
    ws = WrenchSample()
    qd = np.zeros(cell.arm.n_joints)
    qd[joint] = speed
    truth, readings = [], []
    for _ in range(cycles):
        truth.append(cell.wrench.true_wrench())
        new = cell.wrench.read(ws)
        readings.append((new, ws.seq, ws.t, ws.wrench.copy()))
        cell.arm.command_velocity(qd)
        cell.step_plant()
    return np.array(truth), readings


@pytest.mark.parametrize("device", ["ft300", "netft"])
def test_device_rate_and_latency_through_the_interface(device):
    cfg = sim_config({"sim.ft.device": device, "sim.ft.resolution": [0.0] * 6, **EXACT})
    cell = make_sim_cell(cfg)
    try:
        rate, latency, dt = cfg.sim.ft.rate_hz, cfg.sim.ft.latency, cell.sim.dt
        every = round(1.0 / (rate * dt))
        delay = math.ceil(latency / dt - 1e-9)  # cycles until a sample can be read
        truth, readings = _tilting(cell, 200)
        new_at = [k for k, r in enumerate(readings) if r[0]]
        assert new_at[0] == delay
        assert np.all(np.diff(new_at) == every)  # one new sample per period
        assert [readings[k][1] for k in new_at] == list(range(1, len(new_at) + 1))
        bias = np.array(cfg.sim.ft.bias)
        for k in new_at:
            _, _, t_arrival, w = readings[k]
            acquired = k - delay
            assert t_arrival == pytest.approx(acquired * dt + latency)
            assert np.allclose(w - bias, truth[acquired], atol=1e-9)  # the old wrench
        assert np.ptp(truth[:, :3], axis=0).max() > 0.1  # the wrench changed while tilting
    finally:
        cell.close()


def test_ft300_and_netft_data_sheet_values():
    ft300 = sim_config({"sim.ft.device": "ft300"}).sim.ft
    assert ft300.rate_hz == 100.0
    assert ft300.latency == pytest.approx(16 * 10 / 19200)  # 16-byte frames at 19200 8N1
    assert ft300.range == (300.0, 300.0, 300.0, 30.0, 30.0, 30.0)
    netft = sim_config({"sim.ft.device": "netft"}).sim.ft
    assert netft.latency < 0.001 and netft.rate_hz == 1000.0


def test_bias_drifts_like_a_warming_sensor():
    rate, tau = (0.0, 0.0, 0.02, 0.0, 0.001, 0.0), 1800.0
    cfg = sim_config({"sim.ft.drift_rate": list(rate), "sim.ft.drift_time_constant": tau, **EXACT})
    cell = make_sim_cell(cfg)
    try:
        ws = WrenchSample()
        for _ in range(10):  # past the first step's transient
            cell.step_plant()
        cell.wrench.read(ws)
        first = ws.wrench.copy()
        for _ in range(3000):
            cell.step_plant()
        cell.wrench.read(ws)
        drift = ws.wrench - first
        expected = np.array(rate) * tau * (math.exp(-0.01 / tau) - math.exp(-3.01 / tau))
        assert drift[2] == pytest.approx(expected[2], abs=5e-4)  # ~0.06 N in 3 s
        assert drift[4] == pytest.approx(expected[4], abs=5e-5)  # + the arm sagging 0.1 mrad
        assert abs(drift[0]) < 1e-3  # no drift configured on fx: only the sag
        bias = cell.wrench.bias_at(3.0)
        assert np.allclose(
            bias - np.array(cfg.sim.ft.bias), np.array(rate) * tau * -math.expm1(-3.0 / tau)
        )
    finally:
        cell.close()


def test_saturation_and_output_resolution():
    cfg = sim_config({"sim.ft.device": "ft300", "sim.ft.range": [300, 300, 2.0, 30, 30, 30]})
    cell = make_sim_cell(cfg)
    try:
        ws = WrenchSample()
        values = []
        for _ in range(300):
            if cell.wrench.read(ws):
                values.append(ws.wrench.copy())
            cell.step_plant()
        values = np.array(values)
        # hanging probe + bias read 2.45 + 1.2 N along z: clipped at the range
        assert np.all(values[:, 2] == 2.0)
        f, t = values[:, :3], values[:, 3:]
        assert np.allclose(f * 100, np.round(f * 100), atol=1e-6)  # 0.01 N steps
        assert np.allclose(t * 1000, np.round(t * 1000), atol=1e-6)  # 0.001 N·m steps
        assert np.std(values[:, 0]) > 0.05  # noise is still there
    finally:
        cell.close()
