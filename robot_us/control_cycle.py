"""One control cycle of the scanning cell, in named stages. ``ControlCycle`` is the
callable ``LoopRunner`` runs; what the probe should do comes from the reference provider
passed in (``robot_us.reference_provider``: the scan, later teleoperation).

Stages, in order, every cycle (``__call__`` reads as this list):

===========  ============================================================================
sense        ``arm.read`` and ``wrench.read`` (device I/O)
estimate     probe pose and Jacobian (ETS kinematics, once; shared by controller and
             safety), wrench pipeline (tare, gravity compensation, low-pass)
reference    ``reference.update(inputs)``: the provider sets the reference pose, twist,
             joint reference, force and controller mode through the requests below
control      ``controller.update()``: the probe controller's joint velocity command
supervise    the safety supervisor checks (and clips or zeroes) the command; a new
             RETRACT fault switches the controller to its retract and the command is
             computed and checked again in this same cycle
actuate      ``arm.command_velocity`` (device I/O)
observe      ``reference.observe(outcome)``: the provider reacts to this cycle's
             controller event and faults (its requests act in the next cycle)
record       one row into the state stream (``StateLog``), if the cycle has one
===========  ============================================================================

Ownership: the controller (``force_control``) owns the motion laws, the guarded approach
and the controlled retract included; the provider only sequences them (``approach()``,
``retract()``) and learns their end from the controller's events in ``observe``.

Real-time contract: every array is preallocated here and shared (the controller input
and the safety signals view the same joint state, pose and Jacobian); configuration was
consumed by the constructor. Requests (``set_reference``, ``set_joint_reference``,
``set_force``, ``track``, ``track_joints``, ``approach``, ``retract``, ``hold``,
``start_tare``) are cheap, take effect at the next control stage, and report a refusal
as a ``RequestResult`` code (motion while a fault is latched, a force setpoint out of
range); the cycle catches no exception: an exception in a stage is a bug and propagates.
Faults latch with their cause in ``supervisor.latch``. The control work (estimate ->
supervise, without the device reads and writes) is timed between the stages, never
inside one, as ``control_us`` (wall clock) and ``control_cpu_us`` (this thread's CPU
time, which excludes preemption by other processes); both go into the state row.
"""

from __future__ import annotations

import time
from enum import IntEnum

import numpy as np

from force_control import Mode, WrenchPipeline, make_controller
from force_control.bias import TareStatus
from robot_us.config import Config
from robot_us.core.backends import Cell
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.core.types import ArmState, WrenchSample
from robot_us.loop import LoopClock
from robot_us.reference_provider import (
    CycleInputs,
    CycleOutcome,
    HoldReference,
    ReferenceProvider,
    ReferenceResult,
)
from robot_us.safety import Fault, Reaction, SafetySignals, make_supervisor
from robot_us.state_log import StateLog

_STOP = Reaction.STOP
_RETRACT = Reaction.RETRACT
_FINISHED = ReferenceResult.FINISHED


class RequestResult(IntEnum):
    """What became of a request to the control cycle (``OK`` or why it was refused)."""

    OK = 0
    FAULT_LATCHED = 1  # motion refused: a safety fault is latched (reset it first)
    ARM_STOPPED = 2  # retract refused: a fault stopped the arm
    FORCE_OUT_OF_RANGE = 3  # force setpoint outside [0, safety.force_soft_limit)
    IN_CONTACT = 4  # re-tare refused: the probe is (or may be) touching something


_OK = RequestResult.OK
#: Controller modes in which the probe may touch the skin: no tare runs in them.
CONTACT_MODES = frozenset((Mode.APPROACH, Mode.CONTACT, Mode.RESEEK))
_TARE_RUNNING = TareStatus.RUNNING


class ControlCycle:
    """Sense -> estimate -> reference -> control -> supervise -> actuate -> observe ->
    record on ``cell`` (see the module doc). ``reference``: the provider (default: hold
    whatever was last requested); ``state_log``: the state stream written each cycle."""

    def __init__(
        self,
        cfg: Config,
        cell: Cell,
        reference: ReferenceProvider | None = None,
        state_log: StateLog | None = None,
        kin: ArmKinematics | None = None,
    ) -> None:
        self.cfg = cfg
        self.cell = cell
        self.dt = 1.0 / cfg.loop.rate_hz
        self.kin = kin or ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))
        n = self.kin.n
        self.n = n
        self.pipeline = WrenchPipeline(
            cfg.force_control.wrench,
            cfg.loop.rate_hz,
            cfg.probe.mass,
            np.array(cfg.probe.com),
            cfg.probe.sensor_to_tip,
        )
        self.controller = make_controller(cfg.force_control, self.kin.limits, self.dt)
        estops = [cell.estop] if cell.estop is not None else []
        self.supervisor = make_supervisor(cfg.safety, self.kin.limits, self.dt, estops)
        self.inp = self.controller.inp
        self.inp.force_setpoint = cfg.force_control.force_setpoint
        self._force_limit = cfg.safety.force_soft_limit
        # a re-tare is refused while the sensed force says the probe touches something
        self._free_force = cfg.force_control.contact.detect_force
        # no copies per cycle: the arm reads straight into the controller input, whose
        # wrench is the pipeline's output; the safety signals view the same arrays
        self.state = ArmState(n, q=self.inp.q, qd=self.inp.qd)
        self.sample = WrenchSample()
        self.inp.wrench = self.pipeline.wrench
        self.inp.wrench_raw = self.pipeline.wrench_unfiltered
        # the transport time a sample's age leaves out (the simulated sensor stamps arrival)
        self._wrench_latency = float(cell.wrench.latency)
        self._R_base_probe = self.inp.T_base_probe[:3, :3]
        self.signals = SafetySignals(
            n,
            q=self.inp.q,
            qd=self.inp.qd,
            T_base_probe=self.inp.T_base_probe,
            J=self.inp.J,
            force=self.pipeline.wrench_unfiltered[:3],
            force_filtered=self.pipeline.wrench[:3],
        )
        self.cmd = np.zeros(n)
        #: the reference provider (swap between cycles; takes effect at the next one)
        self.reference: ReferenceProvider = reference or HoldReference()
        self.log = state_log
        self.inputs = CycleInputs(arm=self.inp, wrench=self.pipeline.wrench)
        self.outcome = CycleOutcome(
            control=self.controller.out,
            safety=self.supervisor.result,
            latch=self.supervisor.latch,
        )
        self._wrench_new = False
        self._control_us = 0.0
        self._control_cpu_us = 0.0
        self._perf = time.perf_counter_ns
        self._cpu = time.thread_time_ns

    # -- requests (between cycles, or from the provider inside one) ----------------------
    def set_reference(self, T_base_ref: np.ndarray, twist_ref: np.ndarray | None = None) -> None:
        """Reference probe pose (4x4, base) and twist ([v; w], base, m/s and rad/s)."""
        self.inp.T_base_ref[:] = T_base_ref
        if twist_ref is None:
            self.inp.twist_ref[:] = 0.0
        else:
            self.inp.twist_ref[:] = twist_ref

    def set_joint_reference(self, q_ref: np.ndarray, qd_ref: np.ndarray | None = None) -> None:
        """Joint reference (rad) and its velocity (rad/s) for ``track_joints``."""
        self.inp.q_ref[:] = q_ref
        if qd_ref is None:
            self.inp.qd_ref[:] = 0.0
        else:
            self.inp.qd_ref[:] = qd_ref

    def set_force(self, force: float) -> RequestResult:
        """Pressing force setpoint along the probe axis (N), ramped in contact; refused
        outside [0, ``safety.force_soft_limit``)."""
        if not 0.0 <= force < self._force_limit:
            return RequestResult.FORCE_OUT_OF_RANGE
        self.inp.force_setpoint = float(force)
        return _OK

    def _motion_allowed(self) -> RequestResult:
        return RequestResult.FAULT_LATCHED if self.supervisor.faulted else _OK

    def track(self) -> RequestResult:
        """Track the reference pose (free space); refused while a fault is latched."""
        res = self._motion_allowed()
        if res is _OK:
            self.controller.track()
        return res

    def track_joints(self) -> RequestResult:
        """Track the joint reference (free-space joint moves, e.g. the transfer); refused
        while a fault is latched."""
        res = self._motion_allowed()
        if res is _OK:
            self.controller.track_joints()
        return res

    def approach(self) -> RequestResult:
        """Guarded approach along the probe axis, then hybrid tracking in contact;
        refused while a fault is latched."""
        res = self._motion_allowed()
        if res is _OK:
            self.controller.approach()
        return res

    def retract(self) -> RequestResult:
        """Controlled retract; allowed while faulted, refused once a fault stopped the arm."""
        if self.supervisor.latch.reaction is _STOP:
            return RequestResult.ARM_STOPPED
        self.controller.retract()
        return _OK

    def hold(self) -> RequestResult:
        """Hold the current pose (always allowed)."""
        self.controller.hold()
        return _OK

    def start_tare(self) -> None:
        """Estimate the F/T bias now (keep the probe still and out of contact). The
        provider's ``inputs.tare_progress`` says so at once, also to a provider that
        asked for the tare in this cycle's reference stage."""
        self.pipeline.start_tare()
        self.inputs.tare_progress = self.pipeline.tare.progress

    def retare(self) -> RequestResult:
        """Re-estimate the F/T bias (sensor drift) while the probe is known to be out of
        contact (after a retract, during a transfer); refused (``IN_CONTACT``) in the
        approach, contact and re-seek modes, while the contact detector holds contact or
        while the sensed axial force reaches ``contact.detect_force``. A running tare is
        dropped if the controller enters one of those modes. What the tare corrected is
        ``bias_correction`` once ``tares`` has counted it."""
        ctl = self.controller
        if (
            ctl.mode in CONTACT_MODES
            or ctl.contact.in_contact
            or abs(self.pipeline.wrench.item(2)) >= self._free_force
        ):
            return RequestResult.IN_CONTACT
        self.start_tare()
        return _OK

    @property
    def tares(self) -> int:
        """Completed F/T tares."""
        return self.pipeline.tare.tares

    @property
    def bias_correction(self) -> np.ndarray:
        """What the last completed tare changed in the F/T bias (sensor frame, N and
        N·m): the drift since the tare before it."""
        return self.pipeline.tare.correction

    def reset_faults(self) -> None:
        """Clear latched faults (outside the cycle; raises ``SafetyResetError`` while an
        E-stop is engaged); the controller holds the pose it is in."""
        self.supervisor.reset()
        self.controller.hold()

    # -- the cycle -----------------------------------------------------------------------
    def __call__(self, clock: LoopClock) -> bool:
        """One cycle; returns False once the reference provider has finished."""
        self._sense()
        t0, c0 = self._perf(), self._cpu()
        self._estimate()
        result = self._reference(clock)
        self._control()
        self._supervise(clock)
        t1, c1 = self._perf(), self._cpu()
        self._actuate()
        if self._observe(clock) is _FINISHED:
            result = _FINISHED
        self._control_us = (t1 - t0) * 1e-3
        self._control_cpu_us = (c1 - c0) * 1e-3
        self._record(clock)
        return result is not _FINISHED

    def _sense(self) -> None:
        """Read the arm (into the controller input) and the F/T sensor."""
        self.cell.arm.read(self.state)
        self._wrench_new = self.cell.wrench.read(self.sample)

    def _estimate(self) -> None:
        """Probe pose and Jacobian, then the wrench pipeline (-> ``inp.wrench``)."""
        inp = self.inp
        self.kin.fk(inp.q, out=inp.T_base_probe)
        self.kin.jacobian(inp.q, out=inp.J)
        pipe = self.pipeline
        if pipe.tare.status is _TARE_RUNNING and self.controller.mode in CONTACT_MODES:
            pipe.tare.cancel()  # never average a reading that may include contact
        pipe.update(self.sample.wrench, self._R_base_probe, self._wrench_new)
        inp.wrench_new = self._wrench_new
        inp.wrench_delay = self.sample.age + self._wrench_latency

    def _reference(self, clock: LoopClock) -> ReferenceResult:
        """The provider sets this cycle's reference."""
        inputs = self.inputs
        inputs.t = clock.t
        inputs.k = clock.k
        inputs.wrench_new = self._wrench_new
        inputs.tare_progress = self.pipeline.tare.progress
        inputs.mode = self.controller.mode
        return self.reference.update(inputs)

    def _control(self) -> None:
        """The probe controller's joint velocity command (-> ``cmd``)."""
        self.cmd[:] = self.controller.update().qd

    def _supervise(self, clock: LoopClock) -> None:
        """Safety check of ``cmd`` (clipped or zeroed in place); a new fault switches the
        controller (stop -> idle, retract -> retract, recomputed and rechecked now)."""
        sig, cmd, sup = self.signals, self.cmd, self.supervisor
        sig.cycle = clock.k
        sig.t = clock.t
        sig.wrench_new = self._wrench_new
        sig.wrench_age = self.sample.age
        sig.arm_stop = self.state.stop
        sig.missed_in_row = clock.missed_in_row
        res = sup.check(sig, cmd)
        if res.new_fault is not None:
            self._on_fault(res.new_fault)
            if res.retract_requested and sup.latch.reaction is _RETRACT:
                self._control()
                res = sup.check(sig, cmd)
                if res.new_fault is not None:
                    self._on_fault(res.new_fault)
        self.controller.sync_command(cmd)

    def _on_fault(self, fault: Fault) -> None:
        if self.supervisor.latch.reaction is _STOP:
            self.controller.idle()
        elif fault.reaction is _RETRACT:
            self.controller.retract()

    def _actuate(self) -> None:
        """Send the checked command."""
        self.cell.arm.command_velocity(self.cmd)

    def _observe(self, clock: LoopClock) -> ReferenceResult:
        """The provider reacts to this cycle's controller event and faults."""
        outcome = self.outcome
        outcome.t = clock.t
        outcome.k = clock.k
        return self.reference.observe(outcome)

    def _record(self, clock: LoopClock) -> None:
        """This cycle's row of the state stream."""
        log = self.log
        if log is None:
            return
        inp, out, st = self.inp, self.controller.out, self.reference.status
        log.push_fields(
            clock.t,
            clock.k,
            inp.q,
            inp.qd,
            self.cmd,
            self.sample.wrench,
            inp.wrench,
            inp.T_base_probe,
            out.force_command,
            out.axial_force,
            st.s,
            st.s_dot,
            st.speed_override,
            st.state,
            st.fault,
            clock.last_compute_us,
            clock.last_lateness_us,
            reaction=self.supervisor.result.reaction,
            control_us=self._control_us,
            control_cpu_us=self._control_cpu_us,
            mode=out.mode,
        )
