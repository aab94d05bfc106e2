"""The control cycle without a simulator: its stages run in the documented order (sense,
estimate, reference, control, supervise, actuate, observe, record), the reference
provider sees this cycle's sensing before control and this cycle's outcome after the
command went out, requests answer with result codes, and exceptions are not swallowed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from force_control import Mode
from robot_us.config import load_config
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.core.backends import ArmBackend, Cell, WrenchSensor
from robot_us.core.kinematics import ArmKinematics
from robot_us.loop import LoopClock, LoopRunner
from robot_us.reference_provider import (
    CycleInputs,
    CycleOutcome,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.safety import FaultCode, Reaction
from robot_us.state_log import StateLog


class JournalArm(ArmBackend):
    """An arm at rest at ``q`` that writes what happens into ``journal``."""

    def __init__(self, journal: list[str], q: np.ndarray) -> None:
        self.journal = journal
        self.n_joints = len(q)
        self.q = q
        self.sent = np.zeros(len(q))

    def read(self, out) -> None:
        self.journal.append("arm.read")
        out.q[:] = self.q
        out.qd[:] = 0.0

    def command_velocity(self, qd) -> None:
        self.journal.append("arm.command_velocity")
        self.sent[:] = qd

    def stop(self) -> None:
        self.journal.append("arm.stop")


class JournalWrench(WrenchSensor):
    """A fresh zero reading every cycle."""

    rate_hz = 1000.0

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    def read(self, out) -> bool:
        self.journal.append("wrench.read")
        out.wrench[:] = 0.0
        return True


class JournalProvider:
    """A reference provider that checks what it sees and writes into the journal."""

    def __init__(self, cycle: ControlCycle, journal: list[str], kin: ArmKinematics) -> None:
        self.cycle, self.journal, self.kin = cycle, journal, kin
        self.status = ReferenceStatus()
        self.target: np.ndarray | None = None
        self.finish_at: int | None = None
        self.seen_cmd: list[np.ndarray] = []
        self.seen_reaction: list[Reaction] = []

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        self.journal.append("reference.update")
        # estimate ran before: the pose is that of the joints just read
        assert np.allclose(inputs.arm.T_base_probe, self.kin.fk(inputs.arm.q))
        if inputs.k == 0:
            self.target = inputs.arm.T_base_probe.copy()
            self.target[0, 3] += 0.01
            self.cycle.set_reference(self.target)
            assert self.cycle.track() is RequestResult.OK
        return ReferenceResult.WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        self.journal.append("reference.observe")
        self.seen_cmd.append(self.cycle.cell.arm.sent.copy())  # already sent
        self.seen_reaction.append(outcome.safety.reaction)
        self.status.state = 100 + outcome.k  # lands in this cycle's state row
        self.status.s = 0.001 * outcome.k
        if outcome.k == self.finish_at:
            return ReferenceResult.FINISHED
        return ReferenceResult.WORKING


@pytest.fixture
def rig():
    cfg = load_config()
    journal: list[str] = []
    kin = ArmKinematics(cfg.robot.model)  # only to take q_ready
    arm = JournalArm(journal, kin.q_ready.copy())
    cell = Cell("journal", arm, JournalWrench(journal))
    log = StateLog(64, arm.n_joints)
    cycle = ControlCycle(cfg, cell, state_log=log)
    provider = JournalProvider(cycle, journal, cycle.kin)
    cycle.reference = provider
    return cycle, provider, journal, log


def test_stages_run_in_order_and_the_provider_acts_within_the_cycle(rig):
    cycle, provider, journal, log = rig
    clock = LoopClock(cycle.dt)
    assert cycle(clock) is True
    assert journal == [
        "arm.read",
        "wrench.read",
        "reference.update",
        "arm.command_velocity",
        "reference.observe",
    ]
    # the reference set in this cycle's reference stage moved the arm in this cycle
    assert cycle.controller.mode is Mode.TRACK
    assert np.abs(provider.seen_cmd[0]).max() > 0.0
    # the record stage comes last: the row holds what observe published
    row = log.latest()
    assert log.count == 1 and row["state"] == 100 and row["cycle"] == 0
    assert np.array_equal(row["qd_cmd"], provider.seen_cmd[0])
    assert row["control_us"] > 0.0 and row["control_cpu_us"] >= 0.0


def test_the_provider_finishing_stops_the_loop(rig):
    cycle, provider, _, log = rig
    provider.finish_at = 7
    stats = LoopRunner(mode="lockstep").run(cycle, max_cycles=100)
    assert stats.cycles == 8 and log.count == 8
    assert log.column("s")[-1] == pytest.approx(0.007)


def test_observe_sees_this_cycles_fault_and_motion_is_refused_after_it(rig):
    cycle, provider, _, log = rig
    clock = LoopClock(cycle.dt)
    cycle(clock)
    clock.k, clock.missed_in_row = 1, 20  # the missed-deadline layer stops the arm
    cycle(clock)
    assert provider.seen_reaction == [Reaction.NONE, Reaction.STOP]
    assert cycle.supervisor.latch.cause.code is FaultCode.OVERRUN
    assert np.all(cycle.cell.arm.sent == 0.0)
    assert log.column("reaction").tolist() == [Reaction.NONE, Reaction.STOP]
    assert cycle.track() is RequestResult.FAULT_LATCHED
    assert cycle.track_joints() is RequestResult.FAULT_LATCHED
    assert cycle.approach() is RequestResult.FAULT_LATCHED
    assert cycle.retract() is RequestResult.ARM_STOPPED
    assert cycle.hold() is RequestResult.OK


def test_force_setpoint_out_of_range_is_refused_and_not_applied(rig):
    cycle, *_ = rig
    limit = cycle.cfg.safety.force_soft_limit
    before = cycle.inp.force_setpoint
    for bad in (-0.1, limit, math.nan, math.inf):
        assert cycle.set_force(bad) is RequestResult.FORCE_OUT_OF_RANGE
        assert cycle.inp.force_setpoint == before
    assert cycle.set_force(3.0) is RequestResult.OK and cycle.inp.force_setpoint == 3.0


def test_an_exception_in_a_stage_propagates(rig):
    """A bug (here a shape error in the provider's reference) is not turned into a
    fault or swallowed: it stops the loop with its traceback."""
    cycle, provider, *_ = rig

    def bad_update(inputs):
        cycle.set_reference(np.eye(3))  # a bug: wrong shape
        return ReferenceResult.WORKING

    provider.update = bad_update
    with pytest.raises(ValueError, match="broadcast"):
        cycle(LoopClock(cycle.dt))


class OffsetWrench(WrenchSensor):
    """A fresh reading every cycle: a settable offset on the bias-free sensor (no probe
    weight: the test config carries none)."""

    rate_hz = 1000.0

    def __init__(self) -> None:
        self.offset = np.zeros(6)

    def read(self, out) -> bool:
        out.wrench[:] = self.offset
        return True


def test_retare_runs_only_out_of_contact_and_reports_the_drift():
    cfg = load_config(overrides={"force_control.wrench.gravity_compensation": False})
    kin = ArmKinematics(cfg.robot.model)
    sensor = OffsetWrench()
    cell = Cell("offset", JournalArm([], kin.q_ready.copy()), sensor)
    cycle = ControlCycle(cfg, cell)
    clock = LoopClock(cycle.dt)

    def run(n):
        for _ in range(n):
            cycle(clock)
            clock.k += 1

    n_tare = cfg.force_control.wrench.tare_samples
    cycle.start_tare()
    run(n_tare + 1)
    assert cycle.tares == 1
    # the sensor drifts by 0.2 N along z: the pressing force reads -0.2 N
    sensor.offset[2] = 0.2
    run(20)
    assert cycle.pipeline.wrench[2] == pytest.approx(-0.2, abs=0.01)
    assert cycle.retare() is RequestResult.OK
    run(n_tare + 1)
    assert cycle.tares == 2
    assert cycle.bias_correction[2] == pytest.approx(0.2)
    run(20)
    assert cycle.pipeline.wrench[2] == pytest.approx(0.0, abs=1e-3)
    # a force the size of a contact: refused
    for x in np.linspace(0.0, 2.0 * cfg.force_control.contact.detect_force, 100):
        sensor.offset[2] = -x  # slower than the safety's force-rate limit
        run(1)
    run(50)
    assert cycle.retare() is RequestResult.IN_CONTACT
    sensor.offset[2] = 0.0
    run(50)
    assert not cycle.supervisor.faulted
    # in a mode that may touch the skin: refused, and a running tare is dropped
    cycle.start_tare()
    assert cycle.approach() is RequestResult.OK
    run(n_tare + 1)
    assert cycle.controller.mode is Mode.APPROACH
    assert cycle.retare() is RequestResult.IN_CONTACT
    assert cycle.tares == 2 and cycle.pipeline.tare.progress == 1.0
