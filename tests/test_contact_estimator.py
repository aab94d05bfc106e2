"""The contact estimator (force now, tangent stiffness, skin velocity from slow, late
force samples and the probe's travel), the stiffness-scheduled admittance gains, and the
controller on a stiff plane read by a 100 Hz sensor with latency."""

import math

import numpy as np
import pytest

from force_control import Event, ForceControlConfig, Mode
from force_control.contact_estimator import ContactEstimator
from tests.kinematic_plant import PlanePlant, probe_down_pose

DT = 1e-3


def make_estimator(**kw) -> ContactEstimator:
    return ContactEstimator.from_config(ForceControlConfig().estimator, DT, history=60, **kw)


def drive_spring(est, k, *, seconds=2.0, every=10, latency=0.008, noise=0.05):
    """Press into a linear spring ``k`` (N/m): from 1 mm above to 3 N in 0.5 s, then
    +-1 N at 2 Hz (a probe's speed varies, which is what tells stiffness from skin
    motion). The force is sampled every ``every`` cycles and arrives ``latency`` later.
    Returns (true force, estimate) per cycle."""
    rng = np.random.default_rng(1)
    lat = round(latency / DT)
    x0, amp = 3.0 / k, 1.0 / k
    queue: list[tuple[int, float]] = []
    sample, acquired = 0.0, 0
    true, estimate = [], []
    x_prev = -0.001
    for c in range(round(seconds / DT)):
        t = c * DT
        if t < 0.5:
            x = -0.001 + (x0 + 0.001) * t / 0.5
        else:
            x = x0 + amp * math.sin(2 * math.pi * 2.0 * (t - 0.5))
        f = k * max(x, 0.0)
        if c % every == 0:
            queue.append((c, f + rng.normal(0.0, noise)))
        new = False
        while queue and queue[0][0] + lat <= c:
            acquired, sample = queue.pop(0)
            new = True
        est.update(x - x_prev, new, sample, (c - acquired) * DT)
        x_prev = x
        true.append(f)
        estimate.append(est.force)
    return np.array(true), np.array(estimate)


@pytest.mark.parametrize("k", [700.0, 10000.0])
def test_stiffness_converges_on_a_known_spring(k):
    # large F0: the law is a linear spring; the skin is known to be (nearly) still
    est = make_estimator(stiffening_force=1e4, surface_acceleration=0.001)
    true, estimate = drive_spring(est, k)
    assert est.stiffness == pytest.approx(k, rel=0.15)
    # with the default skin-motion allowance (breathing) part of the force change is
    # put down to skin motion: the stiffness is less sure, still within 1.5x
    est_default = make_estimator(stiffening_force=1e4)
    drive_spring(est_default, k)
    assert k / 1.5 < est_default.stiffness < 1.5 * k
    # the force now is predicted between the 100 Hz samples and across their latency
    late = slice(len(true) // 2, None)
    err = np.abs(estimate[late] - true[late])
    assert err.max() < 0.25
    # a sample-and-hold of the same samples lags by the latency plus half a period
    assert np.abs(true[late] - np.roll(true, 13)[late]).mean() > 2 * err.mean()


def test_a_lost_contact_teaches_the_stiffness_nothing():
    """Samples far outside the tissue law (the surface gone) reset the force and leave
    the stiffness as learnt."""
    est = make_estimator(stiffening_force=1e4, surface_acceleration=0.001)
    drive_spring(est, 2000.0)
    k = est.stiffness
    for c in range(300):
        est.update(0.0, c % 10 == 0, 0.0, 0.008)
    assert est.rejected >= 1
    assert est.stiffness_at(5.0) == pytest.approx(k, rel=0.2)
    assert est.force == pytest.approx(0.0, abs=0.05) and not est.in_contact


def test_force_is_the_measurement_out_of_contact():
    est = make_estimator()
    for c in range(200):
        est.update(0.0, c % 10 == 0, 0.05, 0.008)
    assert est.force == pytest.approx(0.05)
    assert not est.in_contact
    assert est.surface_velocity == 0.0


def test_stiffness_stays_within_its_limits():
    est = make_estimator(stiffness_min=500.0, stiffness_max=20000.0, stiffening_force=1e4)
    drive_spring(est, 200000.0)
    assert 500.0 <= est.stiffness <= 20000.0
    est2 = make_estimator(stiffness_min=500.0, stiffness_max=20000.0, stiffening_force=1e4)
    drive_spring(est2, 50.0)
    assert 500.0 <= est2.stiffness <= 20000.0


def test_gain_schedule_is_bounded():
    """The probe-axis damping scales with the estimated stiffness above the reference,
    never below the configured value, and the axial speed limit is force_rate / k."""
    cfg = ForceControlConfig()
    plant = PlanePlant(cfg=cfg)
    ctl = plant.ctl
    est = ctl.estimator
    beta0 = ctl.admittance._beta0[2]
    vmax = [0.0] * 6
    k_ref = cfg.schedule.reference_stiffness
    for k in (50.0, 500.0, k_ref, 8000.0, 1e6):
        est.stiffness = min(max(k, est.k_min), est.k_max)  # what the estimator reports
        ctl._schedule(vmax, 1.0)
        scale = ctl.admittance.scale[2]
        assert ctl.admittance.beta[2] == pytest.approx(beta0 * scale)
        if est.stiffness > k_ref:  # the loop gain k / D stays that of the reference
            assert scale == pytest.approx(k_ref / est.stiffness)
        else:  # never less damping than configured
            assert scale == 1.0
        assert vmax[2] == pytest.approx(min(1.0, cfg.schedule.force_rate / est.stiffness))
    # bounded by the estimator's stiffness limit
    assert ctl.admittance.scale[2] == pytest.approx(k_ref / est.k_max)


def _settle_on(plant, seconds=3.0):
    plant.q[:] = _q_above()
    plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0)
    plant.ctl.approach()
    forces, events = [], []
    for _ in range(round(seconds / plant.dt)):
        out = plant.step()
        if out.event is not Event.NONE:
            events.append(out.event)
        forces.append(plant.force)
    return np.array(forces), events


_Q_ABOVE: list = []


def _q_above():
    if not _Q_ABOVE:
        plant = PlanePlant()
        plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0 + 0.01)
        plant.ctl.track()
        for _ in range(3000):
            plant.step()
        _Q_ABOVE.append(plant.q.copy())
    return _Q_ABOVE[0]


@pytest.mark.parametrize("estimator", [True, False])
def test_stiff_tissue_slow_late_sensor_stays_stable(estimator):
    """10000 N/m (at 5 N, stiffening 4x), F/T at 100 Hz with 10 ms latency, 2 cycles of
    command latency and a 10 ms joint lag: with the estimator and the schedule the
    contact settles without oscillation and the force changes slower than the safety
    layer's limit; without them (the fixed gains on the sample-and-hold force) it does
    not."""
    cfg = ForceControlConfig()
    if not estimator:
        cfg = ForceControlConfig(
            estimator=type(cfg.estimator)(enabled=False),
            schedule=type(cfg.schedule)(enabled=False),
        )
    plant = PlanePlant(
        cfg=cfg,
        stiffness=10000.0,
        stiffening=4.0,
        noise=0.05,
        sensor_hz=100.0,
        latency=0.010,
        command_latency=2,
        lag=0.010,
    )
    forces, events = _settle_on(plant)
    safety_rate = 150.0  # safety.force_rate_limit (N/s), measured over 10 ms
    late = forces[-1000:]
    swing = late.max() - late.min()
    if estimator:
        assert events[:2] == [Event.CONTACT_MADE, Event.SETTLED]
        assert plant.ctl.mode is Mode.CONTACT
        assert abs(late.mean() - 5.0) < 0.1
        assert swing < 0.4
        assert forces.max() - 5.0 < 1.0
        rate10 = (forces[10:] - forces[:-10]) / 0.01
        assert np.abs(rate10).max() < safety_rate
        assert plant.ctl.out.stiffness == pytest.approx(10000.0, rel=0.3)
    else:
        rate10 = (forces[10:] - forces[:-10]) / 0.01
        assert swing > 1.0 or forces.max() - 5.0 > 1.0 or np.abs(rate10).max() > safety_rate
