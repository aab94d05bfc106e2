"""The probe controller on an ideal velocity-controlled arm pressing a spring plane:
guarded approach and settle, tracking with a moving surface, contact loss and re-seek,
controlled retract, presets from the registry, the first-touch slowdown."""

import dataclasses
import functools
from types import SimpleNamespace

import numpy as np
import pytest

from force_control import Event, ForceControlConfig, Mode, make_controller
from robot_us.config import ConfigError, load_config
from robot_us.safety.config import SafetyConfig
from robot_us.safety.force_rate import ForceRate
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


def test_approach_slows_to_touch_speed_after_first_touch():
    """The guarded approach runs at ``contact.approach_speed`` (10 mm/s) until the axial
    force exceeds ``contact.touch_force`` (0.3 N), then at ``contact.touch_speed``
    (3 mm/s) until contact is detected (1 N): on 700 N/m that last millimetre takes
    ~0.3 s at the touch speed instead of ~0.1 s at the approach speed."""
    plant = PlanePlant(stiffness=700.0, noise=0.05)
    c = plant.cfg.contact
    start_above(plant)
    speed, force, touched = [], [], []
    z = [plant.tip()[2]]

    def record(p, o):
        z.append(p.tip()[2])
        speed.append((z[-2] - z[-1]) / p.dt)  # downwards, into the tissue
        force.append(p.force)
        touched.append(p.ctl.touched)

    plant.ctl.approach()
    events = run(plant, 2.0, on=record)
    assert events[0][1] is Event.CONTACT_MADE
    made = round(events[0][0] / plant.dt) - 1  # index of the cycle that made contact
    speed, force = np.array(speed), np.array(force)
    first_touch = int(np.argmax(force > c.touch_force))
    assert 0 < first_touch < made
    # free space: the approach speed
    assert speed[:first_touch].max() == pytest.approx(c.approach_speed, rel=0.02)
    # from 30 ms after the true force passed touch_force until contact: the touch speed
    slow = speed[first_touch + 30 : made + 1]
    assert len(slow) > 100
    assert slow.max() < 1.05 * c.touch_speed
    assert slow.mean() == pytest.approx(c.touch_speed, rel=0.05)
    # not in free space (noise may cross 0.3 N a cycle or two early), held while the
    # force stays; a new approach starts fast again
    assert not any(touched[: first_touch - 20]) and all(touched[first_touch + 10 : made + 1])
    plant.ctl.retract()
    run(plant, 3.0)
    plant.ctl.approach()
    plant.step()
    assert not plant.ctl.touched


def test_touch_slowdown_ends_when_the_skin_moves_away():
    """Skin that touched and then fell away (breathing out) is followed at the approach
    speed again once the force is below half the touch force."""
    plant = PlanePlant(stiffness=700.0)
    start_above(plant)
    plant.ctl.approach()
    for _ in range(2000):
        plant.step()
        if plant.ctl.touched:
            break
    assert plant.ctl.touched and plant.ctl.mode is Mode.APPROACH
    run(plant, 0.05)
    assert plant.ctl.touched
    plant.z0 -= 0.005  # the surface drops away by 5 mm
    z = [plant.tip()[2]]
    run(plant, 0.2, on=lambda p, o: z.append(p.tip()[2]))
    assert not plant.ctl.touched and plant.ctl.mode is Mode.APPROACH
    speed = (z[-2] - z[-1]) / plant.dt
    assert speed == pytest.approx(plant.cfg.contact.approach_speed, rel=0.02)


def _approach_onto_rising_stiff_skin(cfg: ForceControlConfig) -> tuple[float, list, float]:
    """Approach from 10 mm onto linear 10000 N/m tissue with 40 N·s/m contact damping,
    breathing +-5 mm at 0.3 Hz and timed to rise at ~5 mm/s into the probe at first touch
    (the simulator's ideal profile: 1 kHz F/T, joints that follow within a cycle). Returns
    the peak force rate the safety layer measures (N/s), the events and the peak force."""
    plant = PlanePlant(cfg=cfg, stiffness=10000.0, amplitude=0.005, noise=0.1, lag=0.001)
    plant.damping = 40.0
    start_above(plant, 0.01)
    plant.t = -0.05  # the skin's phase: first touch at t ~0.54 s, skin rising at ~5 mm/s
    s = SafetyConfig()
    layer = ForceRate(s.force_rate_limit, s.force_rate_window, plant.dt)
    signals = SimpleNamespace(force_filtered=plant.inp.wrench[:3])
    peak = [0.0, 0.0]

    def check(p, o):
        layer.check(signals, o.qd)  # what the supervisor computes on the same signal
        peak[0] = max(peak[0], layer.rate)
        peak[1] = max(peak[1], p.force)

    plant.ctl.approach()
    events = run(plant, 2.0, on=check)
    return peak[0], [e for _, e in events], peak[1]


def test_rising_stiff_skin_at_first_touch_stays_under_the_safety_force_rate():
    """The matrix's one fault before the first-touch slowdown (ideal profile, 10000 N/m,
    breathing: FORCE_RATE 155 N/s at first touch): the skin rising into the probe at the
    approach speed. With the slowdown the force rises well below the safety layer's limit
    (150 N/s); without it (touch speed = approach speed) the same approach exceeds it."""
    cfg = ForceControlConfig()
    limit = SafetyConfig().force_rate_limit
    rate, events, peak = _approach_onto_rising_stiff_skin(cfg)
    assert events[:2] == [Event.CONTACT_MADE, Event.SETTLED]
    assert rate < 0.9 * limit
    assert peak - 5.0 < 1.0
    no_slowdown = dataclasses.replace(
        cfg, contact=dataclasses.replace(cfg.contact, touch_speed=cfg.contact.approach_speed)
    )
    rate_old, _, _ = _approach_onto_rising_stiff_skin(no_slowdown)
    assert rate_old > limit


def test_touch_force_must_be_below_the_detect_force():
    with pytest.raises(ConfigError, match=r"force_control\.contact\.touch_force.*detect_force"):
        load_config(overrides={"force_control.contact.touch_force": 1.0})
    load_config(overrides={"force_control.contact.touch_force": 0.9})  # below: fine
    cfg = ForceControlConfig()
    bad = dataclasses.replace(cfg, contact=dataclasses.replace(cfg.contact, touch_force=2.0))
    plant_limits = PlanePlant().kin.limits
    with pytest.raises(ValueError, match=r"touch force 2\.0 N must be below"):
        make_controller(bad, plant_limits, 1e-3)
    # a touch speed above the approach speed: the approach speed (never faster on touch)
    slow = dataclasses.replace(cfg, contact=dataclasses.replace(cfg.contact, approach_speed=0.002))
    assert make_controller(slow, plant_limits, 1e-3).touch_speed == 0.002
