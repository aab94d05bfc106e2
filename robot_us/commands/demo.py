"""``robot-us demo``: a headless lockstep simulation driven by the hybrid force/position
controller and the safety supervisor (``robot_us.control_cycle.ControlCycle``). The arm
tares the F/T sensor at home, moves above the phantom's top (pose tracking), makes a
guarded approach along the skin normal, holds the set force in contact for a few
seconds, retracts along the probe axis, and prints figures measured against the
simulator's ground truth.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from robot_us.cli import CommandError

HELP = "run a headless simulated scan (press and hold the set force) and print figures"

#: Stand-off above the skin where the approach starts (m).
STANDOFF = 0.03
#: Part of the hold excluded from the steady-state force figures (s).
HOLD_SETTLE_S = 1.0
#: The transfer ends when the tool is this close to its target (m, rad) and slow.
POSE_TOLERANCE = (0.0005, 0.005)
#: Longest time a phase may take before the demo fails (s).
PHASE_TIMEOUT_S = 15.0


class Phase(StrEnum):
    """Demo phases, in order."""

    TARE = "tare"
    TRANSFER = "transfer"
    APPROACH = "approach"
    HOLD = "hold"
    RETRACT = "retract"
    DONE = "done"


class DemoError(CommandError):
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
    force_ft: np.ndarray = field(init=False)  # compensated, filtered F/T axial force (N)
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
            self.t[i] = t
            self.force_ft[i] = f_ft
            self.force_true[i] = f_true
            self.indentation[i] = d
            self.n += 1


class PressDemo:
    """The demo's sequence on top of a ``ControlCycle``: ``on_cycle`` decides the phase
    (before the controller runs), ``after_step`` records ground truth (after physics)."""

    def __init__(self, cell, cfg, settings: DemoSettings) -> None:
        from robot_us.control_cycle import ControlCycle

        if cell.sim is None:
            raise DemoError("robot-us demo needs the simulated cell (cell.backend = 'sim')")
        self.cell, self.world, self.settings = cell, cell.sim, settings
        self.cycle = ControlCycle(cfg, cell)
        self.cycle.on_cycle = self.on_cycle
        self.dt = self.cycle.dt
        self.phase = Phase.TARE
        self.phase_t0 = 0.0
        self.phase_times: dict[str, float] = {}
        self.t_contact: float | None = None
        # target: the top of the skin, probe z along the inward normal, array as at home
        g = self.world.geometry
        top, normal = g.surface_point(0.0, g.center_y)
        T_home = self.cycle.kin.fk(self.world.q_home)
        z = -normal
        x = T_home[:3, 0] - (T_home[:3, 0] @ z) * z
        x /= np.linalg.norm(x)
        self.T_skin = np.eye(4)
        self.T_skin[:3, :3] = np.column_stack([x, np.cross(z, x), z])
        self.T_skin[:3, 3] = top
        self.T_standoff = self.T_skin.copy()
        self.T_standoff[:3, 3] = top + STANDOFF * normal
        self.record = DemoRecord(round(settings.hold / self.dt) + 2)
        self.approach_peak = 0.0

    def _enter(self, phase: Phase, t: float) -> None:
        self.phase_times[self.phase.value] = t - self.phase_t0
        self.phase, self.phase_t0 = phase, t

    def _at(self, T_target: np.ndarray) -> bool:
        T = self.cycle.inp.T_base_probe
        dp = np.linalg.norm(T_target[:3, 3] - T[:3, 3])
        cos = (np.trace(T_target[:3, :3].T @ T[:3, :3]) - 1.0) / 2.0
        ang = np.arccos(np.clip(cos, -1.0, 1.0))
        slow = np.linalg.norm(self.cycle.inp.J @ self.cycle.state.qd) < 0.002  # tool twist
        return dp < POSE_TOLERANCE[0] and ang < POSE_TOLERANCE[1] and slow

    def on_cycle(self, c, clock) -> None:
        """Phase logic, run inside the control cycle before the controller."""
        from force_control import Event

        t, ph = clock.t, self.phase
        ev = c.controller.out.event  # the previous cycle's event
        if c.supervisor.faulted:
            raise DemoError(f"safety fault in phase '{ph}': {c.supervisor.latch.describe()}")
        if t - self.phase_t0 > PHASE_TIMEOUT_S + self.settings.hold:
            raise DemoError(f"phase '{ph}' did not finish in {PHASE_TIMEOUT_S} s")
        if ph is Phase.TARE:
            if clock.k == 0:
                c.hold()
                c.start_tare()
            elif c.pipeline.tare.progress >= 1.0:
                c.set_reference(self.T_standoff)
                c.track()
                self._enter(Phase.TRANSFER, t)
        elif ph is Phase.TRANSFER:
            if self._at(self.T_standoff):
                c.set_reference(self.T_skin)
                c.set_force(self.settings.force)
                c.approach()
                self._enter(Phase.APPROACH, t)
        elif ph is Phase.APPROACH:
            if ev is Event.CONTACT_MADE:
                self._enter(Phase.HOLD, t)
            elif ev is Event.APPROACH_FAILED:
                raise DemoError(
                    "approach found no contact within force_control.contact.approach_max_distance"
                )
        elif ph is Phase.HOLD:
            if t - self.phase_t0 >= self.settings.hold:
                c.retract()
                self._enter(Phase.RETRACT, t)
        elif ph is Phase.RETRACT and ev is Event.RETRACT_DONE:
            self._enter(Phase.DONE, t)
            c.keep_running = False

    def after_step(self) -> None:
        """Physics stepped: record ground truth of the hold."""
        self.cell.step_plant()
        if self.phase is Phase.HOLD:
            self.record.push(
                self.world.t - self.phase_t0,
                float(self.cycle.pipeline.wrench[2]),
                self.world.contact_force(),
                self.world.indentation(),
            )

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
    """Run the demo in lockstep; returns the report (figures, phases, events, timing)."""
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
        stats = runner.run(demo.cycle, plant_step=demo.after_step, duration_s=limit_s)
        if demo.phase is not Phase.DONE:
            raise DemoError(f"demo stopped in phase '{demo.phase}' after {limit_s:.0f} s")
        ring = demo.cycle.ring
        control = ring.ordered("control_us")
        report = {
            "robot": cfg.robot.model,
            "probe": cfg.probe.geometry,
            "controller": cfg.force_control.controller,
            "figures": demo.figures(),
            "phases_s": demo.phase_times,
            "events": [
                {"t": round(e.t, 4), "kind": e.kind, "name": e.name, "detail": e.detail}
                for e in demo.cycle.events
            ],
            "faults": demo.cycle.supervisor.latch.describe(),
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
            "control_us_p50": float(np.percentile(control, 50)),
            "control_us_p99": float(np.percentile(control, 99)),
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
        ("controller", f"{rep['controller']} (force_control) + safety supervisor"),
        ("force setpoint", f"{f['force_setpoint_N']:.2f} N"),
        ("force mean (contact)", f"{fmt(f['force_mean_N'])} N"),
        ("force RMS error (contact)", f"{fmt(f['force_rms_err_N'])} N"),
        ("force mean (F/T, compensated)", f"{fmt(f['force_ft_mean_N'])} N"),
        ("force RMS error (F/T)", f"{fmt(f['force_ft_rms_err_N'])} N"),
        ("contact overshoot", f"{fmt(f['contact_overshoot_N'])} N"),
        ("settle time (10 %)", f"{fmt(f['settle_time_s'])} s"),
        ("indentation / law", f"{fmt(f['indentation_mm'])} / {f['indentation_law_mm']:.3f} mm"),
        ("safety", rep["faults"]),
        ("sim time / wall time", f"{lp['sim_time_s']:.2f} s / {rep['wall_time_s']:.2f} s"),
        ("real-time factor", f"{lp['realtime_factor']:.1f}x"),
        ("control p50 / p99", f"{rep['control_us_p50']:.0f} / {rep['control_us_p99']:.0f} us"),
        ("cycle p50 / p99", f"{lp['compute_us_p50']:.0f} / {lp['compute_us_p99']:.0f} us"),
        ("physics p50 / p99", f"{lp['plant_us_p50']:.0f} / {lp['plant_us_p99']:.0f} us"),
    ]
    width = max(len(r[0]) for r in rows)
    print("robot-us demo (press and hold)")
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
    if args.force >= cfg.safety.force_soft_limit:
        raise ValueError(
            f"--force {args.force} N must be below safety.force_soft_limit "
            f"({cfg.safety.force_soft_limit} N)"
        )
    report = run_demo(cfg, DemoSettings(force=args.force, hold=args.hold))
    _print_report(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"  report: {args.out / 'report.json'}")
    return 0
