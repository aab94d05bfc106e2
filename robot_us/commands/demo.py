"""``robot-us demo``: a headless lockstep simulation. The arm moves from home to above the
phantom's top, approaches along the skin normal until contact, holds the set force for a
few seconds, retracts, and prints figures (first form: one contact point, no sweep yet).

The control is the small first-form controller of ``robot_us.demo_control`` (pose servo
+ probe-axis admittance); ``force_control/`` replaces it.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

HELP = "run a headless simulated scan (first form: press and hold the set force) and print figures"

#: Stand-off above the skin where the approach starts (m).
STANDOFF = 0.03
#: Approach speed along the skin normal (m/s).
APPROACH_SPEED = 0.02
#: Contact is declared when the filtered compensated force stays above this (N) ...
CONTACT_THRESHOLD = 1.0
#: ... for this many consecutive cycles.
CONTACT_CYCLES = 5
#: Time to ramp the approach speed up (s); keeps the probe's inertial force small.
APPROACH_RAMP_S = 0.1
#: Time at home to tare the F/T sensor (s).
TARE_S = 0.2
#: Part of the hold excluded from the steady-state force figures (s).
HOLD_SETTLE_S = 1.0
#: Transfer/retract end when the tool is this close to its target (m, rad).
POSE_TOLERANCE = (0.0005, 0.005)
#: Longest time a move phase may take before the demo fails (s).
PHASE_TIMEOUT_S = 15.0


class Phase(StrEnum):
    """Demo phases, in order."""

    TARE = "tare"
    TRANSFER = "transfer"
    APPROACH = "approach"
    HOLD = "hold"
    RETRACT = "retract"
    DONE = "done"


class DemoError(RuntimeError):
    """The demo could not complete a phase (names the phase and the cause)."""


@dataclass
class DemoSettings:
    """What the demo does: force setpoint (N), hold time (s)."""

    force: float = 5.0
    hold: float = 3.0


@dataclass
class DemoRecord:
    """Preallocated per-cycle record of the hold phase."""

    capacity: int
    t: np.ndarray = field(init=False)
    force_ft: np.ndarray = field(init=False)  # compensated F/T contact force (N)
    force_true: np.ndarray = field(init=False)  # summed contact normal force (N)
    indentation: np.ndarray = field(init=False)  # m
    n: int = 0

    def __post_init__(self) -> None:
        self.t = np.zeros(self.capacity)
        self.force_ft = np.zeros(self.capacity)
        self.force_true = np.zeros(self.capacity)
        self.indentation = np.zeros(self.capacity)

    def push(self, t: float, f_ft: float, f_true: float, d: float) -> None:
        """Append one cycle (ignored when full)."""
        i = self.n
        if i < self.capacity:
            self.t[i], self.force_ft[i], self.force_true[i], self.indentation[i] = (
                t,
                f_ft,
                f_true,
                d,
            )
            self.n += 1


class PressDemo:
    """The demo's state machine, one ``cycle`` per control period (LoopRunner callback)."""

    def __init__(self, cell, cfg, settings: DemoSettings) -> None:
        from robot_us.demo_control import (
            AdmittanceGains,
            AxisAdmittance,
            PoseServo,
            WrenchCompensator,
        )
        from robot_us.types import ArmState, WrenchSample

        if cell.sim is None:
            raise DemoError("robot-us demo needs the simulated cell (cell.backend = 'sim')")
        self.cell, self.world, self.settings = cell, cell.sim, settings
        self.dt = 1.0 / cfg.loop.rate_hz
        self.kin = self.world.kin
        self.servo = PoseServo(self.kin)
        self.adm = AxisAdmittance(AdmittanceGains(), self.dt)
        self.comp = WrenchCompensator(cfg.probe.mass, np.array(cfg.probe.com))
        self.state = ArmState(self.kin.n)
        self.wrench = WrenchSample()
        self.phase = Phase.TARE
        self.phase_t0 = 0.0
        self.phase_times: dict[str, float] = {}
        self._tare_sum = np.zeros(6)
        self._tare_n = 0
        # target: the top of the skin, probe z along the inward normal, array as at home
        g = self.world.geometry
        top, normal = g.surface_point(0.0, g.center_y)
        self.normal = normal
        self.T_home = self.kin.fk(self.world.q_home)
        self.T_standoff = self.T_home.copy()
        self.T_standoff[:3, 3] = top + STANDOFF * normal
        z = -normal
        x = self.T_home[:3, 0] - (self.T_home[:3, 0] @ z) * z
        x /= np.linalg.norm(x)
        self.T_standoff[:3, :3] = np.column_stack([x, np.cross(z, x), z])
        self.T_ref = self.T_standoff.copy()
        self._twist = np.zeros(6)
        self.force_ft = 0.0
        self.contact_overshoot = 0.0
        self.record = DemoRecord(int(settings.hold / self.dt) + 2)
        self._above = 0

    # -- helpers ----------------------------------------------------------------------
    def _enter(self, phase: Phase, t: float) -> None:
        self.phase_times[self.phase.value] = t - self.phase_t0
        self.phase, self.phase_t0 = phase, t

    def _at(self, T: np.ndarray, T_target: np.ndarray) -> bool:
        dp = np.linalg.norm(T_target[:3, 3] - T[:3, 3])
        cos = (np.trace(T_target[:3, :3].T @ T[:3, :3]) - 1.0) / 2.0
        ang = np.arccos(np.clip(cos, -1.0, 1.0))
        slow = np.linalg.norm(self.state.qd) < 0.01
        return dp < POSE_TOLERANCE[0] and ang < POSE_TOLERANCE[1] and slow

    def _contact_force(self, T: np.ndarray) -> float:
        # sensor axes are parallel to the probe's: R from the ETS tool pose
        w = self.comp.update(self.wrench.wrench, T[:3, :3])
        return -float(w[2])  # pushing the probe into the body reads -z

    # -- the cycle --------------------------------------------------------------------
    def cycle(self, clock) -> bool:
        """One control period: read, decide, command. Returns False when done."""
        cell, t = self.cell, clock.t
        cell.arm.read(self.state)
        cell.wrench.read(self.wrench)
        q = self.state.q
        T = self.servo.tool_pose(q)
        if t - self.phase_t0 > PHASE_TIMEOUT_S + self.settings.hold:
            raise DemoError(f"phase '{self.phase}' did not finish in {PHASE_TIMEOUT_S} s")
        ph = self.phase
        if ph is Phase.TARE:
            self._tare_sum += self.wrench.wrench
            self._tare_n += 1
            qd = self.servo.update(q, self.T_home, T=T)
            if t >= TARE_S:
                self.comp.tare(self._tare_sum / self._tare_n, T[:3, :3])
                self._enter(Phase.TRANSFER, t)
        elif ph is Phase.TRANSFER:
            qd = self.servo.update(q, self.T_standoff, T=T)
            if self._at(T, self.T_standoff):
                self.T_ref[:] = self.T_standoff
                self.adm.reset(self._contact_force(T))
                self._above = 0
                self._enter(Phase.APPROACH, t)
        elif ph is Phase.APPROACH:
            self.adm.update(self._contact_force(T), 0.0)  # filter only
            speed = APPROACH_SPEED * min(1.0, (t - self.phase_t0) / APPROACH_RAMP_S)
            self.T_ref[:3, 3] -= speed * self.dt * self.normal
            self._twist[:3] = -speed * self.normal
            qd = self.servo.update(q, self.T_ref, self._twist, T=T)
            self._above = self._above + 1 if self.adm.force > CONTACT_THRESHOLD else 0
            if self._above >= CONTACT_CYCLES:
                self._enter(Phase.HOLD, t)
            elif np.linalg.norm(self.T_ref[:3, 3] - self.T_standoff[:3, 3]) > 3 * STANDOFF:
                raise DemoError("approach found no contact within 3 stand-offs of the skin")
        elif ph is Phase.HOLD:
            f = self._contact_force(T)
            v = self.adm.update(f, self.settings.force)
            self.T_ref[:3, 3] -= v * self.dt * self.normal
            self._twist[:3] = -v * self.normal
            qd = self.servo.update(q, self.T_ref, self._twist, T=T)
            self.contact_overshoot = max(self.contact_overshoot, f - self.settings.force)
            self.record.push(
                t - self.phase_t0, f, self.world.contact_force(), self.world.indentation()
            )
            if t - self.phase_t0 >= self.settings.hold:
                self._enter(Phase.RETRACT, t)
        elif ph is Phase.RETRACT:
            qd = self.servo.update(q, self.T_standoff, T=T)
            if self._at(T, self.T_standoff):
                self._enter(Phase.DONE, t)
                cell.arm.stop()
                return False
        else:
            return False
        cell.arm.command_velocity(qd)
        return True

    # -- figures ----------------------------------------------------------------------
    def figures(self) -> dict:
        """Force and indentation figures of the hold (after ``HOLD_SETTLE_S``)."""
        r, sp = self.record, self.settings.force
        n = r.n
        steady = r.t[:n] >= min(HOLD_SETTLE_S, 0.5 * self.settings.hold)
        f = r.force_ft[:n][steady]
        ft = r.force_true[:n][steady]
        d = r.indentation[:n][steady]
        within = np.flatnonzero(np.abs(r.force_true[:n] - sp) <= 0.1 * sp)
        k = self.world.contact_law.stiffness
        return {
            "force_setpoint_N": sp,
            "force_mean_N": float(ft.mean()) if len(ft) else float("nan"),
            "force_rms_err_N": float(np.sqrt(np.mean((ft - sp) ** 2))) if len(ft) else None,
            "force_ft_mean_N": float(f.mean()) if len(f) else float("nan"),
            "force_ft_rms_err_N": float(np.sqrt(np.mean((f - sp) ** 2))) if len(f) else None,
            "contact_overshoot_N": float(max(0.0, r.force_true[:n].max() - sp)) if n else None,
            "settle_time_s": float(r.t[within[0]]) if len(within) else None,
            "indentation_mm": float(d.mean() * 1e3) if len(d) else None,
            "indentation_law_mm": sp / k * 1e3,
        }


def run_demo(cfg, settings: DemoSettings) -> dict:
    """Run the demo in lockstep; returns the report (figures, phases, loop timing)."""
    from robot_us.backends import CELLS
    from robot_us.loop import LoopRunner

    wall0 = time.perf_counter()
    cell = CELLS.create(cfg.cell.backend, cfg)
    try:
        demo = PressDemo(cell, cfg, settings)
        runner = LoopRunner(
            rate_hz=cfg.loop.rate_hz, mode="lockstep", ring_capacity=cfg.loop.ring_capacity
        )
        limit_s = 4 * PHASE_TIMEOUT_S + settings.hold
        stats = runner.run(demo.cycle, plant_step=cell.step_plant, duration_s=limit_s)
        if demo.phase is not Phase.DONE:
            raise DemoError(f"demo stopped in phase '{demo.phase}' after {limit_s:.0f} s")
        report = {
            "robot": cfg.robot.model,
            "probe": cfg.probe.geometry,
            "figures": demo.figures(),
            "phases_s": demo.phase_times,
            "loop": {
                k: getattr(stats, k)
                for k in (
                    "cycles",
                    "sim_time_s",
                    "wall_time_s",
                    "realtime_factor",
                    "compute_us_p50",
                    "compute_us_p99",
                    "compute_us_max",
                    "plant_us_p50",
                    "plant_us_p99",
                )
            },
        }
    finally:
        if cell.close is not None:
            cell.close()
    report["wall_time_s"] = time.perf_counter() - wall0
    return report


def _print_report(rep: dict) -> None:
    f, lp = rep["figures"], rep["loop"]

    def fmt(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)

    rows = [
        ("robot / probe", f"{rep['robot']} / {rep['probe']}"),
        ("force setpoint", f"{f['force_setpoint_N']:.2f} N"),
        ("force mean (contact)", f"{fmt(f['force_mean_N'])} N"),
        ("force RMS error (contact)", f"{fmt(f['force_rms_err_N'])} N"),
        ("force mean (F/T, compensated)", f"{fmt(f['force_ft_mean_N'])} N"),
        ("force RMS error (F/T)", f"{fmt(f['force_ft_rms_err_N'])} N"),
        ("contact overshoot", f"{fmt(f['contact_overshoot_N'])} N"),
        ("settle time (10 %)", f"{fmt(f['settle_time_s'])} s"),
        ("indentation / law", f"{fmt(f['indentation_mm'])} / {f['indentation_law_mm']:.3f} mm"),
        ("sim time / wall time", f"{lp['sim_time_s']:.2f} s / {rep['wall_time_s']:.2f} s"),
        ("real-time factor", f"{lp['realtime_factor']:.1f}x"),
        ("compute p50 / p99", f"{lp['compute_us_p50']:.0f} / {lp['compute_us_p99']:.0f} us"),
        ("physics p50 / p99", f"{lp['plant_us_p50']:.0f} / {lp['plant_us_p99']:.0f} us"),
    ]
    width = max(len(r[0]) for r in rows)
    print("robot-us demo (first form: press and hold)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us demo``."""
    p.add_argument("--config", nargs="*", default=[], help="TOML files over the defaults")
    p.add_argument("--robot", choices=("panda", "lbr"), help="arm model (overrides config)")
    p.add_argument("--force", type=float, default=5.0, help="force setpoint (N, default 5)")
    p.add_argument("--hold", type=float, default=3.0, help="hold time in contact (s, default 3)")
    p.add_argument("--out", type=Path, help="write DIR/report.json")


#: Allowed demo force setpoints (N) and hold times (s).
FORCE_RANGE = (1.0, 20.0)
HOLD_RANGE = (0.2, 60.0)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print (and optionally save) its figures."""
    from robot_us.config import load_config

    if not FORCE_RANGE[0] <= args.force <= FORCE_RANGE[1]:
        raise ValueError(
            f"--force {args.force} N is outside [{FORCE_RANGE[0]}, {FORCE_RANGE[1]}] N"
        )
    if not HOLD_RANGE[0] <= args.hold <= HOLD_RANGE[1]:
        raise ValueError(f"--hold {args.hold} s is outside [{HOLD_RANGE[0]}, {HOLD_RANGE[1]}] s")
    overrides = {"loop.mode": "lockstep"}
    if args.robot:
        overrides["robot.model"] = args.robot
    cfg = load_config(*args.config, overrides=overrides)
    report = run_demo(cfg, DemoSettings(force=args.force, hold=args.hold))
    _print_report(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"  report: {args.out / 'report.json'}")
    return 0
