"""The probe controller on an ideal velocity-controlled arm pressing a spring plane:
guarded approach and settle, tracking with a moving surface, contact loss and re-seek,
controlled retract, presets from the registry."""

import dataclasses
import functools

import numpy as np
import pytest

from force_control import Event, ForceControlConfig, Mode
from tests.kinematic_plant import PlanePlant, probe_down_pose


def run(plant, seconds, on=None):
    events = []
    for _ in range(round(seconds / plant.dt)):
        out = plant.step()
        if out.event is not Event.NONE:
            events.append((round(plant.t, 3), out.event))
        if on:
            on(plant, out)
    return events


@functools.cache
def _q_above(height: float) -> tuple:
    """Joint positions with the probe pointing down ``height`` above the surface."""
    plant = PlanePlant()
    plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0 + height)
    plant.ctl.track()
    run(plant, 3.0)
    assert np.linalg.norm(plant.tip() - plant.inp.T_base_ref[:3, 3]) < 1e-4
    return tuple(plant.q)


def start_above(plant, height=0.01):
    plant.q[:] = _q_above(height)
    plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0)


def test_guarded_approach_settles_without_overshoot():
    plant = PlanePlant(noise=0.1)
    start_above(plant)
    peak = []
    plant.ctl.approach()
    events = run(plant, 4.0, on=lambda p, o: peak.append(p.force))
    kinds = [e for _, e in events]
    assert kinds[:2] == [Event.CONTACT_MADE, Event.SETTLED]
    assert plant.ctl.mode is Mode.CONTACT
    assert max(peak) - 5.0 < 1.0
    assert plant.force == pytest.approx(5.0, abs=0.2)


@pytest.mark.slow
def test_tracks_breathing_surface():
    plant = PlanePlant(amplitude=0.005, noise=0.1)
    start_above(plant, 0.015)
    plant.ctl.approach()
    run(plant, 3.0)
    err = []
    run(plant, 6.0, on=lambda p, o: err.append(p.force - 5.0))
    assert plant.ctl.mode is Mode.CONTACT
    assert np.sqrt(np.mean(np.square(err))) < 0.3


def test_contact_loss_reseek_and_regain():
    plant = PlanePlant()
    start_above(plant)
    plant.ctl.approach()
    run(plant, 3.0)
    plant.z0 -= 0.005  # the surface drops away by 5 mm
    events = run(plant, 3.0)
    kinds = [e for _, e in events]
    assert Event.CONTACT_LOST in kinds and Event.CONTACT_REGAINED in kinds
    assert plant.ctl.mode is Mode.CONTACT
    assert plant.force == pytest.approx(5.0, abs=0.3)


@pytest.mark.slow
def test_reseek_gives_up_then_retracts():
    plant = PlanePlant()
    start_above(plant)
    plant.ctl.approach()
    run(plant, 3.0)
    plant.surface_removed = True
    z_lost = plant.tip()[2]
    events = run(plant, 8.0)
    kinds = [e for _, e in events]
    assert kinds[:3] == [Event.CONTACT_LOST, Event.RESEEK_FAILED, Event.RETRACT_DONE]
    assert plant.ctl.mode is Mode.HOLD
    # re-seek went at most reseek_distance (+ the loss time's creep) below, then up 50 mm
    assert plant.tip()[2] > z_lost - 0.025 + 0.05 - 0.002


def test_retract_moves_up_and_holds():
    plant = PlanePlant()
    start_above(plant)
    plant.ctl.approach()
    run(plant, 3.0)
    z0 = plant.tip()[2]
    plant.ctl.retract()
    events = run(plant, 4.0)
    assert [e for _, e in events] == [Event.RETRACT_DONE]
    assert plant.tip()[2] - z0 == pytest.approx(0.05, abs=0.002)
    run(plant, 0.5)
    assert plant.ctl.mode is Mode.HOLD and np.abs(plant.qd).max() < 1e-3


def test_approach_gives_up_after_max_distance():
    cfg = ForceControlConfig()
    cfg = dataclasses.replace(
        cfg, contact=dataclasses.replace(cfg.contact, approach_max_distance=0.01)
    )
    plant = PlanePlant(cfg=cfg)
    start_above(plant, 0.05)
    plant.ctl.approach()
    events = run(plant, 3.0)
    assert [e for _, e in events] == [Event.APPROACH_FAILED]
    assert plant.ctl.mode is Mode.HOLD and plant.force == 0.0


def test_position_preset_ignores_force_in_contact():
    cfg = dataclasses.replace(ForceControlConfig(), controller="position")
    plant = PlanePlant(cfg=cfg)
    start_above(plant, 0.01)
    plant.ctl.approach()
    run(plant, 2.0)
    assert plant.ctl.mode is Mode.CONTACT
    # in contact the pose reference rules the probe axis too: 2 mm below the surface
    plant.inp.T_base_ref[:] = probe_down_pose(0.5, 0.0, plant.z0 - 0.002)
    run(plant, 1.5)
    assert plant.ctl.mode is Mode.CONTACT
    assert plant.tip()[2] == pytest.approx(plant.z0 - 0.002, abs=1e-4)
    assert plant.force == pytest.approx(4.0, abs=0.2)


def test_compliance_preset_balances_force_and_spring():
    base = dataclasses.replace(ForceControlConfig(), controller="compliance")
    no_integral = dataclasses.replace(
        base, admittance=dataclasses.replace(base.admittance, integral_gain=(0.0,) * 6)
    )
    for cfg, expected in ((no_integral, 5.0 * 2000.0 / 2300.0), (base, 5.0)):
        plant = PlanePlant(cfg=cfg)
        start_above(plant)
        plant.ctl.approach()
        run(plant, 3.0)
        assert plant.ctl.mode is Mode.CONTACT
        # every axis compliant with a 300 N/m spring to the reference on the surface:
        # without integral action the tissue (2000 N/m) and the spring share the 5 N
        # setpoint; the integral of the force error removes the spring's share
        assert plant.force == pytest.approx(expected, abs=0.15)
        assert np.linalg.norm(plant.tip()[:2] - [0.5, 0.0]) < 1e-3  # springs hold x, y


def test_force_setpoint_changes_ramp_at_the_configured_rate():
    """In contact, a new force setpoint is approached at ``contact.setpoint_rate`` (20 N/s:
    0.02 N per 1 ms cycle), up and down, and then held."""
    plant = PlanePlant()
    start_above(plant)
    plant.ctl.approach()
    run(plant, 3.0)
    assert plant.ctl.mode is Mode.CONTACT and plant.ctl.out.force_command == 5.0
    commands = []
    plant.inp.force_setpoint = 8.0
    run(plant, 0.2, on=lambda p, o: commands.append(o.force_command))
    plant.inp.force_setpoint = 7.0
    run(plant, 0.1, on=lambda p, o: commands.append(o.force_command))
    step = plant.cfg.contact.setpoint_rate * plant.dt
    expected = [min(5.0 + step * (k + 1), 8.0) for k in range(200)]
    expected += [max(8.0 - step * (k + 1), 7.0) for k in range(100)]
    assert commands == pytest.approx(expected, abs=1e-9)
