"""Teleoperation as a reference provider, in lockstep on the simulated cell: tare and
approach to the skin, sliding at the commanded (clamped) speed while the force holds the
set-point, twists that expire, stop with hold or retract, a fault ends teleoperation."""

import math

import numpy as np
import pytest

from force_control import Mode
from robot_us.config import load_config
from robot_us.control_cycle import ControlCycle
from robot_us.core.backends import CELLS
from robot_us.loop import LoopRunner
from robot_us.state_log import StateLog
from robot_us.teleop_reference import TeleopLimits, TeleopPhase, TeleopReference
from tests.server_harness import home_above_skin

LIMITS = TeleopLimits(linear_max=0.02, angular_max=0.3, hold_max=0.1, max_lag=0.005)


class Teleop:
    """A simulated cell with the probe just above the skin and teleoperation as the
    provider, stepped in lockstep; ``each_cycle`` runs between cycles."""

    def __init__(self, **overrides) -> None:
        cfg = load_config(overrides={"robot.q_home": list(home_above_skin()), **overrides})
        self.cell = CELLS.create("sim", cfg)
        self.log = StateLog(30_000)
        self.cycle = ControlCycle(cfg, self.cell, state_log=self.log)
        self.events = []
        self.tel = TeleopReference(self.cycle, LIMITS, 5.0, events=self)
        self.cycle.reference = self.tel
        self.runner = LoopRunner(cfg.loop.rate_hz, "lockstep")
        self.each_cycle = None

    def post_event(self, t, kind, cause, s=None, state=None, detail=None):
        self.events.append((kind, cause))

    def run(self, seconds: float) -> None:
        def between() -> None:
            self.cell.step_plant()
            if self.each_cycle is not None:
                self.each_cycle()

        self.runner.run(self.cycle, plant_step=between, duration_s=seconds)

    def to_skin(self) -> None:
        self.run(3.0)
        assert self.tel.phase is TeleopPhase.SLIDE, self.events

    def hold_twist(self, **v) -> None:
        """Send the twist every 20 ms (valid 100 ms)."""
        k = [0]
        args = [v.get(n, 0.0) for n in ("vx", "vy", "wx", "wy", "wz")]

        def send() -> None:
            k[0] += 1
            if k[0] % 20 == 1:
                self.tel.twist(*args, until=self.tel.t + 0.1)

        self.each_cycle = send

    def position(self) -> np.ndarray:
        return self.cycle.inp.T_base_probe[:3, 3].copy()

    def close(self) -> None:
        self.cell.close()


@pytest.fixture
def teleop():
    t = Teleop()
    yield t
    t.close()


def test_tare_approach_then_slide_at_the_commanded_speed_holding_the_force(teleop):
    teleop.to_skin()
    assert teleop.cycle.tares == 1  # tared out of contact before the approach began
    kinds = [k for k, _ in teleop.events]
    assert kinds and all(k == "teleop" for k in kinds)
    assert teleop.cycle.controller.mode is Mode.CONTACT
    p0 = teleop.position()
    teleop.hold_twist(vy=0.01)  # along the probe's y = the body's axis (base -y)
    teleop.run(2.0)
    moved = teleop.position() - p0
    assert moved[1] == pytest.approx(-0.02, abs=0.003)  # 10 mm/s for 2 s
    assert abs(moved[0]) < 0.002
    f = teleop.log.column("f_n")[-1500:]
    assert np.sqrt(np.mean((f - 5.0) ** 2)) < 0.3
    assert abs(teleop.cell.sim.contact_force() - 5.0) < 0.5  # the simulator's truth


def test_twists_are_clamped_to_the_limits_and_expire(teleop):
    teleop.to_skin()
    clamped = teleop.tel.twist(0.3, 0.4, 0.0, 0.0, 2.0, until=teleop.tel.t + 10.0)
    assert math.hypot(clamped[0], clamped[1]) == pytest.approx(LIMITS.linear_max)
    assert clamped[0] / clamped[1] == pytest.approx(0.75)  # the direction is kept
    assert abs(clamped[4]) == pytest.approx(LIMITS.angular_max)
    p0 = teleop.position()
    teleop.run(0.5)  # the twist applies for hold_max (0.1 s) whatever ``until`` says
    p1 = teleop.position()
    teleop.run(0.5)
    assert 0.001 < np.linalg.norm(p1 - p0) < 0.004
    assert np.linalg.norm(teleop.position() - p1) < 0.0005  # expired: stands still


def test_rotation_about_the_probe_axis(teleop):
    teleop.to_skin()
    R0 = teleop.cycle.inp.T_base_probe[:3, :3].copy()
    teleop.hold_twist(wz=0.2)
    teleop.run(1.0)
    R1 = teleop.cycle.inp.T_base_probe[:3, :3]
    dR = R0.T @ R1
    angle = math.atan2(dR[1, 0], dR[0, 0])
    assert angle == pytest.approx(0.2, abs=0.04)
    assert np.degrees(math.acos(min(1.0, R0[:, 2] @ R1[:, 2]))) < 1.0  # the axis stays


@pytest.mark.parametrize("action", ["hold", "retract"])
def test_stop_holds_contact_or_retracts(teleop, action):
    teleop.to_skin()
    teleop.hold_twist(vx=0.01)
    teleop.run(0.5)
    teleop.each_cycle = None
    teleop.tel.stop(action, "test")
    teleop.run(0.05)
    qd = teleop.log.column("qd")[-10:]
    J = teleop.cycle.inp.J
    v = J[:3] @ qd[-1]
    z = teleop.cycle.inp.T_base_probe[:3, 2]
    tangential = np.linalg.norm(v - z * (z @ v))
    assert tangential < 0.002  # stopped sliding within 50 ms
    teleop.run(1.5)
    if action == "hold":
        assert teleop.cycle.controller.mode is Mode.CONTACT
        assert abs(teleop.cell.sim.contact_force() - 5.0) < 0.5
    else:
        assert teleop.cell.sim.contact_force() == 0.0
    assert teleop.tel.phase is TeleopPhase.STOPPED
    p = teleop.position()
    teleop.hold_twist(vx=0.01)  # twists after a stop move nothing (across the probe axis)
    teleop.run(0.3)
    d = teleop.position() - p
    assert np.linalg.norm(d - z * (z @ d)) < 0.0005


def test_a_safety_fault_stops_teleoperation(teleop):
    teleop.to_skin()
    teleop.cell.estop.press()
    teleop.run(0.1)
    assert teleop.tel.phase is TeleopPhase.STOPPED
    assert "ESTOP" in teleop.tel.cause
