"""One control cycle of the scanning cell: read the arm and the F/T sensor, compute the
probe kinematics once, run the wrench pipeline, the probe controller and the safety
supervisor, and command the arm. ``ControlCycle`` is the callable ``LoopRunner`` runs.

Real-time contract: every array is preallocated here and shared (the controller input
and the safety signals view the same joint state, pose and Jacobian); configuration was
consumed by the constructor; the safety reaction and control time go into a preallocated
``ControlRing`` (the state row, with force and setpoint, is the scan's ``StateLog``);
faults latch with their cause in ``supervisor.latch``. The time of
the control work (kinematics + wrench pipeline + controller + safety, without the
backend reads/writes) is measured every cycle as ``control_us`` (wall clock) and
``control_cpu_us`` (this thread's CPU time, which excludes preemption by other processes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from force_control import Event, WrenchPipeline, make_controller
from robot_us.config import Config
from robot_us.core.backends import Cell
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.core.types import ArmState, WrenchSample
from robot_us.loop import LoopClock
from robot_us.ring import ColumnRing
from robot_us.safety import Fault, Reaction, SafetySignals, make_supervisor

#: Per-cycle enum member as a module constant (reading one off the class costs ~0.2 us).
_EVENT_NONE = Event.NONE


class CycleError(RuntimeError):
    """A request the control cycle cannot accept now (e.g. motion while faulted)."""


class ControlRing(ColumnRing):
    """Per-cycle record of what only the control cycle knows (newest overwrite oldest):
    the safety reaction and the time of the control work, wall clock and thread CPU (us).
    Force, setpoint and state go to the state stream (``robot_us.state_log``); loop
    compute and lateness to the loop runner's ``CycleRing``."""

    COLUMNS: ClassVar[dict[str, type]] = {
        "reaction": np.int8,
        "control_us": np.float64,
        "control_cpu_us": np.float64,
    }
    reaction: np.ndarray
    control_us: np.ndarray
    control_cpu_us: np.ndarray

    def push(self, reaction: Reaction, control_us: float, control_cpu_us: float) -> None:
        """Record one cycle (overwrites the oldest record when full)."""
        i = self.count % self.capacity
        self.reaction[i] = reaction
        self.control_us[i] = control_us
        self.control_cpu_us[i] = control_cpu_us
        self.count += 1


class ControlCycle:
    """Wrench pipeline + probe controller + safety supervisor driving ``cell``."""

    def __init__(self, cfg: Config, cell: Cell, kin: ArmKinematics | None = None) -> None:
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
        # no copies per cycle: the arm reads straight into the controller input, whose
        # wrench is the pipeline's output; the safety signals view the same arrays
        self.state = ArmState(n, q=self.inp.q, qd=self.inp.qd)
        self.sample = WrenchSample()
        self.inp.wrench = self.pipeline.wrench
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
        self.ring = ControlRing(cfg.loop.ring_capacity)
        #: called every cycle after the kinematics and before the controller (set the
        #: reference there: ``set_reference``); must follow the loop's real-time contract
        self.on_cycle: Callable[[ControlCycle, LoopClock], None] | None = None
        self.last_event = Event.NONE
        self.keep_running = True
        self._perf = time.perf_counter_ns
        self._cpu = time.thread_time_ns

    # -- requests (between or inside cycles) -------------------------------------------
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

    def set_force(self, force: float) -> None:
        """Pressing force setpoint along the probe axis (N), ramped in contact."""
        if not 0.0 <= force < self._force_limit:
            raise ValueError(
                f"force setpoint {force} N must be in [0, safety.force_soft_limit = "
                f"{self._force_limit} N)"
            )
        self.inp.force_setpoint = float(force)

    def _require_ok(self, what: str) -> None:
        if self.supervisor.faulted:
            cause = self.supervisor.latch.cause
            raise CycleError(f"cannot {what}: safety fault latched ({cause.describe()})")

    def track(self) -> None:
        """Track the reference pose (free space)."""
        self._require_ok("track")
        self.controller.track()

    def track_joints(self) -> None:
        """Track the joint reference (free-space joint moves, e.g. the transfer)."""
        self._require_ok("track joints")
        self.controller.track_joints()

    def approach(self) -> None:
        """Guarded approach along the probe axis, then hybrid tracking in contact."""
        self._require_ok("approach")
        self.controller.approach()

    def retract(self) -> None:
        """Controlled retract (allowed while faulted, unless stopped)."""
        if self.supervisor.latch.reaction is Reaction.STOP:
            raise CycleError("cannot retract: the arm is stopped by a safety fault")
        self.controller.retract()

    def hold(self) -> None:
        """Hold the current pose."""
        self.controller.hold()

    def start_tare(self) -> None:
        """Estimate the F/T bias now (keep the probe still and out of contact)."""
        self.pipeline.start_tare()

    def reset_faults(self) -> None:
        """Clear latched faults (refused while an E-stop is engaged); the controller
        holds the pose it is in."""
        self.supervisor.reset()
        self.controller.hold()

    # -- the cycle -----------------------------------------------------------------------
    def __call__(self, clock: LoopClock) -> bool:
        cell, inp = self.cell, self.inp
        cell.arm.read(self.state)
        new = cell.wrench.read(self.sample)
        c0 = self._cpu()
        t0 = self._perf()
        self.kin.fk(inp.q, out=inp.T_base_probe)
        self.kin.jacobian(inp.q, out=inp.J)
        self.pipeline.update(self.sample.wrench, self._R_base_probe, new)  # -> inp.wrench
        if self.on_cycle is not None:
            self.on_cycle(self, clock)
        out = self.controller.update()
        sig = self.signals
        sig.cycle = clock.k
        sig.t = clock.t
        sig.wrench_new = new
        sig.wrench_age = self.sample.age
        sig.arm_stop = self.state.stop
        sig.consecutive_overruns = clock.consecutive_overruns
        cmd = self.cmd
        cmd[:] = out.qd
        res = self.supervisor.check(sig, cmd)
        if res.new_fault is not None:
            self._on_fault(res.new_fault)
            if res.retract_requested and self.supervisor.latch.reaction is Reaction.RETRACT:
                # retract in this very cycle: recompute the command and check it again
                out = self.controller.update()
                cmd[:] = out.qd
                res = self.supervisor.check(sig, cmd)
                if res.new_fault is not None:
                    self._on_fault(res.new_fault)
        self.controller.sync_command(cmd)
        t1 = self._perf()
        c1 = self._cpu()
        cell.arm.command_velocity(cmd)
        if out.event is not _EVENT_NONE:
            self.last_event = out.event
        self.ring.push(res.reaction, (t1 - t0) * 1e-3, (c1 - c0) * 1e-3)
        return self.keep_running

    def _on_fault(self, fault: Fault) -> None:
        if self.supervisor.latch.reaction is Reaction.STOP:
            self.controller.idle()
        elif fault.reaction is Reaction.RETRACT:
            self.controller.retract()
