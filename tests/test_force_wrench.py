"""Wrench pipeline: probe gravity, tare, torque transport to the tip, low-pass filter."""

import math

import numpy as np
import pytest

from force_control.bias import BiasEstimator, TareStatus
from force_control.config import WrenchConfig
from force_control.gravity import GRAVITY, ProbeLoad
from force_control.wrench_filter import LowPassFilter
from force_control.wrench_pipeline import WrenchPipeline

DOWN = np.diag([1.0, -1.0, -1.0])  # probe z pointing down


def rot_y(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_gravity_of_hanging_probe():
    load = ProbeLoad(0.25, np.array([0.01, 0.0, 0.05]))
    w = load.wrench(DOWN, np.zeros(6))
    # sensor z points down: the weight pulls along +z; lever x=0.01 gives torque about y
    assert w[:3] == pytest.approx([0.0, 0.0, 0.25 * GRAVITY])
    assert w[3:] == pytest.approx(np.cross([0.01, 0.0, 0.05], w[:3]))
    # tilted: force magnitude is still m g
    w2 = load.wrench(rot_y(0.7) @ DOWN, np.zeros(6))
    assert np.linalg.norm(w2[:3]) == pytest.approx(0.25 * GRAVITY)


def test_tare_recovers_bias_at_any_orientation():
    rng = np.random.default_rng(1)
    load = ProbeLoad(0.3, np.array([0.0, 0.01, 0.06]))
    bias = np.array([0.8, -0.5, 1.2, 0.02, -0.01, 0.015])
    est = BiasEstimator(load, 400)
    est.start()
    R = rot_y(0.4) @ DOWN
    g = load.wrench(R, np.zeros(6))
    status = TareStatus.RUNNING
    for _ in range(400):
        status = est.add(bias + g + rng.normal(0, [0.1] * 3 + [0.005] * 3), R)
    assert status is TareStatus.DONE
    assert est.bias[:3] == pytest.approx(bias[:3], abs=0.02)
    assert est.bias[3:] == pytest.approx(bias[3:], abs=0.002)


def test_pipeline_gives_pressing_wrench_at_tip():
    cfg = WrenchConfig(filter_cutoff_hz=80.0, tare_samples=10)
    mass, com, lever = 0.25, np.array([0.0, 0.0, 0.05]), 0.1
    bias = np.array([0.8, -0.5, 1.2, 0.02, -0.01, 0.015])
    p = WrenchPipeline(cfg, 1000.0, mass, com, lever)
    R = rot_y(0.2) @ DOWN
    g = ProbeLoad(mass, com).wrench(R, np.zeros(6))
    p.start_tare()
    for _ in range(10):
        p.update(bias + g, R, True)
    assert p.bias == pytest.approx(bias)
    # the tissue pushes back on the tip with 5 N along -z (probe frame), 1 N along x,
    # applied exactly at the tip: no torque about the tip
    f_env = np.array([1.0, 0.0, -5.0])
    tau_s = np.cross([0.0, 0.0, lever], f_env)  # moment about the sensor origin
    raw = bias + g + np.concatenate([f_env, tau_s])
    for _ in range(200):
        w = p.update(raw, R, True)
    assert w[:3] == pytest.approx([-1.0, 0.0, 5.0], abs=1e-6)
    assert w[3:] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    assert p.wrench_unfiltered[:3] == pytest.approx([-1.0, 0.0, 5.0])


def test_lowpass_dc_gain_and_cutoff():
    f = LowPassFilter(50.0, 1000.0, 1)
    for _ in range(500):
        y = f.update(np.array([3.0]))
    assert y[0] == pytest.approx(3.0)
    f = LowPassFilter(50.0, 1000.0, 1)
    f.reset(0.0)
    t = np.arange(4000) * 1e-3
    out = np.array([f.update(np.array([math.sin(2 * math.pi * 50.0 * ti)]))[0] for ti in t])
    amp = np.abs(out[2000:]).max()
    assert amp == pytest.approx(1 / math.sqrt(2), abs=0.03)  # -3 dB at the cut-off
    f = LowPassFilter(50.0, 1000.0, 1)
    f.reset(0.0)
    out = [f.update(np.array([math.sin(2 * math.pi * 300.0 * ti)]))[0] for ti in t]
    assert np.abs(out[2000:]).max() < 0.05


def test_lowpass_rejects_bad_cutoff():
    with pytest.raises(ValueError, match="cut-off"):
        LowPassFilter(600.0, 1000.0)
