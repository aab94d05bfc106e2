"""Fault injection in the simulated cell (lockstep): every safety layer's reaction and its
latency in cycles, counted from the cycle in which the faulty input first reaches the
controller."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from force_control import Event, Mode
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.core.backends import ArmBackend
from robot_us.loop import LoopClock
from robot_us.safety import FaultCode, Reaction, SafetyResetError
from robot_us.state_log import StateLog
from sim.cell import make_sim_cell
from tests.fake_clock import MS, FakeClock, realtime
from tests.scan_helpers import InjectingWrench
from tests.sim_helpers import sim_config

STANDOFF = 0.005  # m above the skin where the contact tests start
MISSED_LIMIT = 20  # safety.max_missed_deadlines, as docs/safety.md states it


class InjectingArm(ArmBackend):
    """Wraps an arm: adds ``qd_offset`` to the measured joint velocities."""

    def __init__(self, inner: ArmBackend) -> None:
        self.inner = inner
        self.n_joints = inner.n_joints
        self.qd_offset = np.zeros(inner.n_joints)

    def read(self, out) -> None:
        self.inner.read(out)
        out.qd += self.qd_offset

    def command_velocity(self, qd) -> None:
        self.inner.command_velocity(qd)

    def stop(self) -> None:
        self.inner.stop()


@pytest.fixture(scope="module")
def sim_cell():
    cfg = sim_config()
    cell = make_sim_cell(cfg)
    yield cell
    cell.close()


class Rig:
    """A fresh control cycle on the shared simulated cell, stepped by hand."""

    def __init__(self, cell, **overrides) -> None:
        self.cfg = sim_config(overrides)
        self.world = cell.sim
        self.wrench = InjectingWrench(cell.wrench)
        self.arm = InjectingArm(cell.arm)
        self.cell = dataclasses.replace(cell, wrench=self.wrench, arm=self.arm)
        self.world.reset_joints(self.world.q_home)
        self.log = StateLog(20_000, self.arm.n_joints)
        self.cycle = ControlCycle(self.cfg, self.cell, state_log=self.log)
        self.clock = LoopClock(self.cycle.dt)
        self.k0 = 0

    def step(self, n: int = 1, until=None) -> int:
        """Run ``n`` cycles (or until ``until(rig)``); returns the cycles run."""
        for i in range(n):
            self.cycle(self.clock)
            self.cell.step_plant()
            self.clock.k += 1
            self.clock.t = self.clock.k * self.cycle.dt
            if until is not None and until(self):
                return i + 1
        return n

    def qd(self) -> np.ndarray:
        return self.cycle.state.qd

    def tare(self) -> None:
        self.cycle.hold()
        self.cycle.start_tare()
        self.step(2000, until=lambda r: r.cycle.pipeline.tare.progress >= 1.0)

    def into_contact(self) -> None:
        """Tare, move over the phantom top, approach and settle at 5 N."""
        g = self.world.geometry
        p, n = g.surface_point(0.0, 0.0)
        T = np.eye(4)
        T[:3, :3] = np.diag([1.0, -1.0, -1.0])
        T[:3, 3] = p + STANDOFF * n
        kin = self.cycle.kin
        q, ok, _ = kin.ik(T, self.world.q_home, iterations=30, searches=100, tol=1e-6)
        assert ok
        self.world.reset_joints(q)
        self.tare()
        T[:3, 3] = p
        self.cycle.set_reference(T)
        self.cycle.approach()
        self.step(4000, until=lambda r: r.event() is Event.SETTLED)
        assert self.cycle.controller.mode is Mode.CONTACT
        assert self.world.contact_force() == pytest.approx(5.0, abs=0.5)

    def fault(self):
        return self.cycle.supervisor.latch.cause

    def event(self) -> Event:
        """The controller's event of the last cycle."""
        return self.cycle.outcome.control.event

    def reactions(self) -> np.ndarray:
        """The safety reaction of every cycle run (from the state stream)."""
        return self.log.column("reaction")


def test_force_spike_stops_within_two_cycles(sim_cell):
    rig = Rig(sim_cell)
    rig.into_contact()
    k_inj = rig.clock.k
    rig.wrench.offset[2] = -25.0  # pressing reads along -z: 5 N + 25 N = 30 N
    rig.step(1)
    f = rig.fault()
    assert f is not None and f.code is FaultCode.FORCE_HARD
    assert f.cycle - k_inj <= 2  # the requirement
    assert f.cycle == k_inj  # what it does: stopped in the cycle the spike arrives
    assert f.value == pytest.approx(30.0, abs=1.0)
    assert np.all(rig.cycle.cmd == 0.0)
    rig.step(5)
    assert np.abs(rig.qd()).max() < 1e-3  # the arm has stopped
    assert rig.cycle.supervisor.latch.reaction is Reaction.STOP
    assert rig.cycle.retract() is RequestResult.ARM_STOPPED  # stopped: not even a retract
    assert rig.reactions()[-1] == Reaction.STOP  # recorded in the state stream


def test_soft_force_limit_retracts(sim_cell):
    rig = Rig(sim_cell)
    rig.into_contact()
    ramp = 50.0 * rig.cycle.dt  # 50 N/s: below the force-rate limit

    def ramp_until_fault(r) -> bool:
        r.wrench.offset[2] -= ramp
        return r.cycle.supervisor.faulted

    rig.step(1000, until=ramp_until_fault)
    f = rig.fault()
    assert f.code is FaultCode.FORCE_SOFT and f.reaction is Reaction.RETRACT
    z0 = rig.world.probe_pose()[:3, 3].copy()
    rig.step(3000, until=lambda r: r.event() is Event.RETRACT_DONE)
    assert rig.event() is Event.RETRACT_DONE
    assert rig.world.contact_force() < 1.0
    moved = rig.world.probe_pose()[:3, 3] - z0
    assert moved[2] > 0.04  # backed off along the probe axis (up)
    assert not rig.cycle.supervisor.latch.has(FaultCode.FORCE_HARD)
    assert rig.cycle.approach() is RequestResult.FAULT_LATCHED  # no new motion while faulted
    assert rig.cycle.track() is RequestResult.FAULT_LATCHED
    assert rig.cycle.retract() is RequestResult.OK  # retracting is still allowed


def test_force_rate_retracts(sim_cell):
    rig = Rig(sim_cell)
    rig.into_contact()
    k_inj = rig.clock.k
    rate = 400.0 * rig.cycle.dt

    def ramp(r) -> bool:
        r.wrench.offset[2] -= rate
        return r.cycle.supervisor.faulted

    rig.step(100, until=ramp)
    f = rig.fault()
    assert f.code is FaultCode.FORCE_RATE and f.reaction is Reaction.RETRACT
    assert f.cycle - k_inj <= 12  # 10 ms window, the filter's lag, one cycle
    rig.wrench.offset[:] = 0.0
    rig.step(20)
    assert rig.cycle.controller.mode is Mode.RETRACT


def test_stale_wrench_stops(sim_cell):
    rig = Rig(sim_cell)
    rig.tare()
    k_inj = rig.clock.k
    rig.wrench.freeze = True
    rig.step(40, until=lambda r: r.cycle.supervisor.faulted)
    f = rig.fault()
    assert f.code is FaultCode.WRENCH_STALE and f.reaction is Reaction.STOP
    assert 20 <= f.cycle - k_inj <= 21  # 20 ms timeout at 1 kHz
    assert np.all(rig.cycle.cmd == 0.0)


def run_realtime(rig: Rig, work_ns, max_cycles: int) -> list[int]:
    """Run the rig's control cycle in the real-time loop on a fake clock, the cycle at
    index k costing ``work_ns(k)`` (ns; the plant step is free), until the first fault or
    ``max_cycles`` periods; the index of every cycle run."""
    fake = FakeClock()
    runner = realtime(fake, 1.0 / rig.cycle.dt)
    ks: list[int] = []

    def cycle(clock: LoopClock) -> bool:
        ks.append(clock.k)
        rig.cycle(clock)
        fake.work(work_ns(clock.k))
        return not rig.cycle.supervisor.faulted

    runner.run(cycle, plant_step=rig.cell.step_plant, max_cycles=max_cycles)
    return ks


def test_default_missed_deadline_limit_is_the_documented_one(sim_cell):
    assert Rig(sim_cell).cfg.safety.max_missed_deadlines == MISSED_LIMIT


@pytest.mark.parametrize("stall", [MISSED_LIMIT - 1, MISSED_LIMIT, 3 * MISSED_LIMIT])
def test_a_stall_of_the_limit_in_periods_stops_in_the_next_cycle(sim_cell, stall):
    """docs/safety.md: a cycle that stalls ``max_missed_deadlines`` periods or more stops
    the arm in the next cycle; one period less does not."""
    rig = Rig(sim_cell)
    rig.tare()
    k_stall = 50

    def work(k: int) -> int:
        return stall * MS + MS // 2 if k == k_stall else MS // 4

    ks = run_realtime(rig, work, 300)
    i = ks.index(k_stall)
    assert ks[i + 1] == k_stall + stall + 1  # the stall skipped `stall` deadlines
    if stall < MISSED_LIMIT:
        assert not rig.cycle.supervisor.faulted and ks[-1] == 299
        return
    f = rig.fault()
    assert f.code is FaultCode.OVERRUN and f.reaction is Reaction.STOP
    assert f.cycle == ks[i + 1] == ks[-1]  # the first cycle after the stall
    assert (f.value, f.limit) == (stall, MISSED_LIMIT)
    assert np.all(rig.cycle.cmd == 0.0)


@pytest.mark.parametrize("late_cycles", [MISSED_LIMIT - 1, MISSED_LIMIT])
def test_an_always_late_loop_stops_within_twice_the_limit_in_periods(sim_cell, late_cycles):
    """docs/safety.md: cycles that each end just after their deadline (one missed each)
    stop the arm 2 x ``max_missed_deadlines`` periods after the first late one starts;
    one on-time cycle before that clears the count."""
    rig = Rig(sim_cell)
    rig.tare()
    k_first = 10
    late_until = k_first + 2 * late_cycles  # late cycles run every other period

    def work(k: int) -> int:
        return MS + MS // 2 if k_first <= k < late_until else MS // 4

    ks = run_realtime(rig, work, 300)
    if late_cycles < MISSED_LIMIT:
        assert not rig.cycle.supervisor.faulted and ks[-1] == 299
        return
    f = rig.fault()
    assert f.code is FaultCode.OVERRUN and f.reaction is Reaction.STOP
    assert f.cycle - k_first == 2 * MISSED_LIMIT == ks[-1] - k_first
    assert f.value == MISSED_LIMIT


def test_stalls_and_late_cycles_in_a_row_add_up(sim_cell):
    """A stall of 10 periods, 5 late cycles and a stall of 5 periods: 20 deadlines missed
    in a row -> stop in the cycle after the second stall."""
    rig = Rig(sim_cell)
    rig.tare()
    costs = {20: 10 * MS + 1, 31: MS + 1, 33: MS + 1, 35: MS + 1, 37: MS + 1, 39: MS + 1}
    costs[41] = 5 * MS + 1

    def work(k: int) -> int:
        return costs.get(k, MS // 4)

    ks = run_realtime(rig, work, 300)
    assert ks[ks.index(20) :] == [20, 31, 33, 35, 37, 39, 41, 47]
    f = rig.fault()
    assert f.code is FaultCode.OVERRUN and f.cycle == 47 and f.value == MISSED_LIMIT


def test_estop_latches_until_reset(sim_cell):
    rig = Rig(sim_cell)
    rig.tare()
    T = rig.cycle.inp.T_base_probe.copy()
    T[0, 3] += 0.05
    rig.cycle.set_reference(T)
    rig.cycle.track()
    rig.step(200)
    assert np.abs(rig.qd()).max() > 0.01  # moving
    k_inj = rig.clock.k
    rig.cell.estop.press()
    rig.step(1)
    f = rig.fault()
    assert f.code is FaultCode.ESTOP and f.cycle == k_inj
    assert np.all(rig.cycle.cmd == 0.0)
    rig.step(5)
    assert np.abs(rig.qd()).max() < 1e-3
    with pytest.raises(SafetyResetError):
        rig.cycle.reset_faults()
    rig.cell.estop.release()
    rig.step(5)
    assert rig.cycle.supervisor.faulted and np.all(rig.cycle.cmd == 0.0)  # still latched
    rig.cycle.reset_faults()
    rig.step(5)
    assert not rig.cycle.supervisor.faulted


def test_workspace_clips_at_the_wall_and_stops_outside(sim_cell):
    home_z = 0.40  # the sim's home puts the probe tip at z = 0.40 m
    rig = Rig(sim_cell, **{"safety.workspace_min": [0.2, -0.5, home_z - 0.03]})
    rig.tare()
    T = rig.cycle.inp.T_base_probe.copy()
    T[2, 3] -= 0.08  # 5 cm beyond the floor of the box
    rig.cycle.set_reference(T)
    rig.cycle.track()
    rig.step(1500)
    z = rig.world.probe_pose()[2, 3]
    assert home_z - 0.03 < z < home_z - 0.025  # stopped at the wall, inside the box
    assert not rig.cycle.supervisor.faulted
    assert (rig.reactions() == Reaction.CLIP).any()
    # teleported outside: stop in the first cycle
    q = rig.cycle.state.q.copy()
    rig2 = Rig(sim_cell, **{"safety.workspace_min": [0.2, -0.5, home_z + 0.01]})
    rig2.world.reset_joints(q)
    rig2.step(1)
    f = rig2.fault()
    assert f.code is FaultCode.WORKSPACE and f.cycle == 0 and f.index == 2


def test_joint_limit_clips_then_stops(sim_cell):
    rig = Rig(sim_cell, **{"force_control.ik.nullspace_gain": 0.0})
    lim = rig.cycle.kin.limits
    q = rig.world.q_home.copy()
    q[6] = lim.upper[6] - 0.06  # the wrist: turning it spins the probe about its axis
    rig.world.reset_joints(q)
    rig.tare()
    # the reference turns the probe 0.3 rad about its own axis: joint 7 must go up
    c, s = np.cos(0.3), np.sin(0.3)
    Rz = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    rig.cycle.set_reference(rig.cycle.inp.T_base_probe @ Rz)
    rig.cycle.track()
    rig.step(1500)
    q7 = rig.cycle.state.q[6]
    assert q7 < lim.upper[6] - rig.cfg.safety.joint_hard_margin
    assert q7 > lim.upper[6] - 0.03  # it went as far as the clip allows
    assert not rig.cycle.supervisor.faulted
    assert (rig.reactions() == Reaction.CLIP).any()
    # inside the hard margin: stop in the first cycle
    q[6] = lim.upper[6] - 0.01
    rig2 = Rig(sim_cell)
    rig2.world.reset_joints(q)
    rig2.step(1)
    f = rig2.fault()
    assert f.code is FaultCode.JOINT_POSITION and f.index == 6 and f.cycle == 0


def test_tool_speed_clipped(sim_cell):
    rig = Rig(sim_cell, **{"safety.tool_speed_limit": 0.03})
    rig.tare()
    T = rig.cycle.inp.T_base_probe.copy()
    T[1, 3] += 0.1
    rig.cycle.set_reference(T)
    rig.cycle.track()
    speeds = []
    for _ in range(400):
        rig.step(1)
        v = rig.cycle.inp.J[:3] @ rig.qd()
        speeds.append(np.linalg.norm(v))
    assert max(speeds) <= 0.03 * 1.05
    assert max(speeds) > 0.025
    assert not rig.cycle.supervisor.faulted


def test_measured_joint_velocity_above_limit_stops(sim_cell):
    rig = Rig(sim_cell)
    rig.tare()
    k_inj = rig.clock.k
    rig.arm.qd_offset[6] = 3.0  # the wrist (tip on its axis): above 2.61 rad/s x 1.1
    rig.step(1)
    f = rig.fault()
    assert f.code is FaultCode.JOINT_VELOCITY and f.index == 6 and f.cycle == k_inj
    assert np.all(rig.cycle.cmd == 0.0)
