"""Loop timing of the simulated cell: the real-time 1 kHz loop for N seconds, the physics
step timed separately, then the same number of cycles in lockstep for the real-time
factor. Two cycles are timed, each both ways:

- the loop's own cost (the figures issue #2 names): read arm state + wrench, ETS forward
  kinematics + Jacobian, write the joint velocity command;
- the full control cycle (``ControlCycle`` holding the home pose: the above plus wrench
  pipeline, probe controller and safety supervisor), as ``control_cycle_*``, with the
  safety faults its real-time run latched (e.g. OVERRUN on a busy machine).

Writes DIR/loop_timing.json with rate_hz, compute_us_p50, compute_us_p99,
compute_us_max, lateness_us_p99, overruns, realtime_factor (+ plant_us_p50/p99,
skipped_cycles, late_wakeups, lockstep compute figures, control_cycle_* figures).

The plant is the realistic profile on the torso unless ``--profile`` / ``--shape`` say
otherwise (robot_us/plant_choice.py); the JSON records which (``sim_profile``,
``phantom_shape``, ``ft_rate_hz``).

    python bench/loop_timing.py [--seconds N] [--out DIR] [--profile P] [--shape S]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_us.config import load_config
from robot_us.control_cycle import ControlCycle
from robot_us.core.backends import CELLS
from robot_us.core.types import ArmState, WrenchSample
from robot_us.loop import LoopRunner, LoopStats
from robot_us.plant_choice import add_plant_arguments, plant_figures, plant_overrides

#: Cycles run before measuring (warms up every code path and completes the F/T tare).
WARMUP_CYCLES = 500


class IoKinematicsCycle:
    """The loop's own per-cycle work: read arm state and wrench, forward kinematics and
    Jacobian of the probe, write a (holding, zero) joint velocity command."""

    def __init__(self, cell, kin) -> None:
        self.cell, self.kin = cell, kin
        self.state = ArmState(kin.n)
        self.sample = WrenchSample()
        self.T = np.eye(4)
        self.J = np.zeros((6, kin.n))
        self.qd = np.zeros(kin.n)

    def __call__(self, clock) -> bool:
        self.cell.arm.read(self.state)
        self.cell.wrench.read(self.sample)
        self.kin.fk(self.state.q, out=self.T)
        self.kin.jacobian(self.state.q, out=self.J)
        self.cell.arm.command_velocity(self.qd)
        return True


def _time(cycle, cell, rate_hz: float, seconds: float, priority: int):
    """(real-time stats, lockstep stats) of ``cycle`` after a lockstep warm-up."""
    LoopRunner(rate_hz, "lockstep").run(cycle, cell.step_plant, max_cycles=WARMUP_CYCLES)
    rt = LoopRunner(rate_hz, "realtime", realtime_priority=priority).run(
        cycle, cell.step_plant, duration_s=seconds
    )
    if isinstance(cycle, ControlCycle) and cycle.supervisor.faulted:
        cycle.reset_faults()  # time the lockstep run on the normal path
    ls = LoopRunner(rate_hz, "lockstep").run(cycle, cell.step_plant, max_cycles=rt.cycles)
    return rt, ls


def _control_figures(rt: LoopStats, ls: LoopStats, faults: list) -> dict:
    return {
        "control_cycle_compute_us_p50": rt.compute_us_p50,
        "control_cycle_compute_us_p99": rt.compute_us_p99,
        "control_cycle_compute_us_max": rt.compute_us_max,
        "control_cycle_overruns": rt.overruns,
        "control_cycle_realtime_factor": ls.realtime_factor,
        "control_cycle_lockstep_compute_us_p50": ls.compute_us_p50,
        "control_cycle_lockstep_compute_us_p99": ls.compute_us_p99,
        "control_cycle_safety_faults": [f.describe() for f in faults],
        "control_cycle_safety_fault_codes": ", ".join(f.code.name for f in faults) or "none",
    }


def run(seconds: float, out_dir: Path, overrides: dict[str, object] | None = None) -> dict:
    """Time both cycles in both modes and write ``out_dir/loop_timing.json``."""
    cfg = load_config(overrides=overrides or {})
    rate, prio = cfg.loop.rate_hz, cfg.loop.realtime_priority
    cell = CELLS.create("sim", cfg)
    try:
        rt, ls = _time(IoKinematicsCycle(cell, cell.sim.kin), cell, rate, seconds, prio)
        cycle = ControlCycle(cfg, cell)
        cycle.hold()  # the home pose, in air
        cycle.start_tare()
        crt, cls_ = _time(cycle, cell, rate, seconds, prio)
        faults = list(cycle.supervisor.latch.faults)
    finally:
        cell.close()
    figures = {
        "rate_hz": rt.rate_hz,
        "compute_us_p50": rt.compute_us_p50,
        "compute_us_p99": rt.compute_us_p99,
        "compute_us_max": rt.compute_us_max,
        "lateness_us_p99": rt.lateness_us_p99,
        "overruns": rt.overruns,
        "realtime_factor": ls.realtime_factor,
        "plant_us_p50": rt.plant_us_p50,
        "plant_us_p99": rt.plant_us_p99,
        "skipped_cycles": rt.skipped_cycles,
        "late_wakeups": rt.late_wakeups,
        "lateness_us_p50": rt.lateness_us_p50,
        "lateness_us_max": rt.lateness_us_max,
        "realtime_cycles": rt.cycles,
        "realtime_seconds": rt.wall_time_s,
        "achieved_rate_hz": rt.achieved_rate_hz,
        "lockstep_cycles": ls.cycles,
        "lockstep_compute_us_p50": ls.compute_us_p50,
        "lockstep_compute_us_p99": ls.compute_us_p99,
        "lockstep_plant_us_p50": ls.plant_us_p50,
        "lockstep_plant_us_p99": ls.plant_us_p99,
        **_control_figures(crt, cls_, faults),
        **plant_figures(cfg),
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loop_timing.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="real-time run length (s)")
    ap.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder")
    add_plant_arguments(ap)
    args = ap.parse_args(argv)
    if not 0.1 <= args.seconds <= 3600:
        ap.error(f"--seconds {args.seconds} outside [0.1, 3600]")
    f = run(args.seconds, args.out, plant_overrides(args))
    rows = [
        ("rate", f"{f['rate_hz']:.0f} Hz"),
        ("compute p50 / p99 / max", "{:.0f} / {:.0f} / {:.0f} us".format(
            f["compute_us_p50"], f["compute_us_p99"], f["compute_us_max"])),
        ("physics step p50 / p99", f"{f['plant_us_p50']:.0f} / {f['plant_us_p99']:.0f} us"),
        ("lateness p99", f"{f['lateness_us_p99']:.0f} us"),
        ("overruns / skipped / late", "{} / {} / {}".format(
            f["overruns"], f["skipped_cycles"], f["late_wakeups"])),
        ("lockstep real-time factor", f"{f['realtime_factor']:.1f}x"),
        ("control cycle p50 / p99", "{:.0f} / {:.0f} us".format(
            f["control_cycle_compute_us_p50"], f["control_cycle_compute_us_p99"])),
        ("control cycle overruns", str(f["control_cycle_overruns"])),
        ("control cycle lockstep", f"{f['control_cycle_realtime_factor']:.1f}x"),
        ("control cycle faults", f["control_cycle_safety_fault_codes"]),
        ("load average (1 min)", f"{f['load_average_1min']:.2f} on {f['cpu_count']} cores"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(
        f"loop_timing ({args.seconds:g} s real time, sim cell: {f['sim_profile']} plant, "
        f"{f['phantom_shape']}, F/T {f['ft_rate_hz']:.0f} Hz)"
    )
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"  -> {args.out / 'loop_timing.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
