"""Per-stage timing of the 1 kHz control cycle on the simulated cell (lockstep, seeded).

Runs a short scenario on the phantom (hold + tare in air, idle, track, controlled
retract, guarded approach, contact with a slowly moving reference) twice:

1. plain: only the whole ``ControlCycle.__call__`` is timed (wall clock and this
   thread's CPU time), per controller mode; physics steps are excluded; then, as
   TIGHT, the contact cycle repeated back to back on a frozen plant (warm caches: the
   physics step between real cycles evicts much of the controller's working set);
2. instrumented: the cycle's own stages (``ControlCycle._sense`` ... ``_observe``:
   sense, estimate, reference, control, supervise, actuate, observe; the cycle has no
   state stream here, so record does nothing, as before the stages existed) and, inside
   them,
   the backend reads/writes, FK, Jacobian, wrench pipeline, controller and its parts and
   the safety supervisor are wrapped with timers at class level and summed per cycle
   (each wrapper adds ~0.3 us to its caller's figure).

    python bench/control_stages.py [--out bench-results] [--robot panda|lbr] [--cycles N]

Writes ``control_stages.json``: ``cycle_us_p50``/``p99`` and ``cycle_cpu_us_p50``/``p99``
in CONTACT (the headline), ``controller_safety_us_p50``/``p99`` in CONTACT, the same per
mode, and the stage table, plus the machine's load average. On a shared machine the
wall-clock p99 includes preemption by other processes; the CPU-time figures do not.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from force_control import Event, Mode  # noqa: E402
from robot_us.config import load_config  # noqa: E402
from robot_us.control_cycle import ControlCycle  # noqa: E402
from robot_us.core.arms import simulated_arms  # noqa: E402
from robot_us.core.backends import CELLS  # noqa: E402
from robot_us.loop import LoopClock  # noqa: E402
from robot_us.plant_choice import (  # noqa: E402
    add_plant_arguments,
    plant_figures,
    plant_overrides,
)

STANDOFF = 0.005  # m above the skin where the probe starts
SWEEP_SPEED = 0.01  # m/s, reference motion along base y in contact

#: Stages timed in the instrumented run: label -> (module, class, method); first the
#: control cycle's own stages in their order, then the work inside them.
CYCLE_STAGES = ("sense", "estimate", "reference", "control", "supervise", "actuate", "observe")
STAGES = {
    **{f"stage {n}": ("robot_us.control_cycle", "ControlCycle", f"_{n}") for n in CYCLE_STAGES},
    "arm.read": ("sim.arm", "SimArm", "read"),
    "ft.read": ("sim.ft_sensor", "SimFtSensor", "read"),
    "arm.command_velocity": ("sim.arm", "SimArm", "command_velocity"),
    "kin.fk": ("robot_us.core.kinematics", "ArmKinematics", "fk"),
    "kin.jacobian": ("robot_us.core.kinematics", "ArmKinematics", "jacobian"),
    "pipeline.update": ("force_control.wrench_pipeline", "WrenchPipeline", "update"),
    "controller.update": ("force_control.controller", "ProbeController", "update"),
    "  pose_error": ("force_control.pose_error", "PoseError", "update"),
    "  law.update": ("force_control.hybrid_law", "HybridLaw", "update"),
    "  dls.solve": ("force_control.damped_least_squares", "DampedLeastSquares", "solve"),
    "  rate_limiter": ("force_control.joint_rate_limiter", "JointRateLimiter", "limit"),
    "supervisor.check": ("robot_us.safety.supervisor", "SafetySupervisor", "check"),
}


class StageTimer:
    """Class-level timing wrappers; ``acc`` holds this cycle's ns per stage."""

    def __init__(self) -> None:
        self.acc: dict[str, int] = defaultdict(int)
        self._saved: list[tuple[type, str, object]] = []

    def install(self) -> None:
        import importlib

        perf = time.perf_counter_ns
        acc = self.acc
        for label, (mod, cls_name, meth) in STAGES.items():
            cls = getattr(importlib.import_module(mod), cls_name, None)
            fn = getattr(cls, meth, None) if cls is not None else None
            if fn is None:
                continue

            def wrapper(*a, _fn=fn, _label=label, **kw):
                t0 = perf()
                r = _fn(*a, **kw)
                acc[_label] += perf() - t0
                return r

            self._saved.append((cls, meth, fn))
            setattr(cls, meth, wrapper)

    def uninstall(self) -> None:
        for cls, meth, fn in reversed(self._saved):
            setattr(cls, meth, fn)
        self._saved.clear()


class FreshWrench:
    """Wraps the simulated F/T sensor: every read counts as a new sample."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.rate_hz = inner.rate_hz

    def read(self, out) -> bool:
        self.inner.read(out)
        return True


def _contact_pose(world, kin) -> tuple[np.ndarray, np.ndarray]:
    """Probe pose on the phantom top (z into the skin) and its unit outward normal."""
    p, n = world.geometry.surface_point(0.0, 0.0)
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = p
    return T, n


def run_scenario(cfg, cycles: int, timer: StageTimer | None) -> dict:
    """Run the scenario; returns per-mode lists of per-cycle timings (us)."""
    cell = CELLS.create("sim", cfg)
    world = cell.sim
    rec: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    try:
        cycle = ControlCycle(cfg, cell)
        kin = cycle.kin
        clock = LoopClock(cycle.dt)
        T_skin, n = _contact_pose(world, kin)
        T_start = T_skin.copy()
        T_start[:3, 3] += STANDOFF * n
        q, ok, _ = kin.ik(T_start, world.q_home, iterations=30, searches=100, tol=1e-6)
        if not ok:
            raise RuntimeError("no IK solution for the start pose")
        world.reset_joints(q)
        perf, cpu = time.perf_counter_ns, time.thread_time_ns

        def record(r: dict[str, list[float]], ns: int, cpu_ns: int) -> None:
            r["cycle"].append(ns * 1e-3)
            r["cycle_cpu"].append(cpu_ns * 1e-3)
            if timer is not None:
                for k, v in timer.acc.items():
                    r[k].append(v * 1e-3)
                r["controller+safety"].append(
                    (timer.acc["controller.update"] + timer.acc["supervisor.check"]) * 1e-3
                )

        def step(n_cycles: int, until=None, on=None) -> int:
            for i in range(n_cycles):
                if on is not None:
                    on(i)
                if timer is not None:
                    timer.acc.clear()
                c0, t0 = cpu(), perf()
                cycle(clock)
                t1, c1 = perf(), cpu()
                record(rec[cycle.controller.out.mode.name], t1 - t0, c1 - c0)
                cell.step_plant()
                clock.k += 1
                clock.t = clock.k * cycle.dt
                if cycle.supervisor.faulted:
                    raise RuntimeError(f"safety fault: {cycle.supervisor.latch.describe()}")
                if until is not None and until():
                    return i + 1
            return n_cycles

        if timer is not None:
            timer.install()
        # like LoopRunner: no garbage collection inside the loop
        gc.collect()
        gc.freeze()
        gc.disable()
        # hold in air (tare, then keep holding)
        cycle.hold()
        cycle.start_tare()
        step(cycles)
        # idle
        cycle.controller.idle()
        step(cycles // 5)
        # track a pose 5 mm to the side and back to the start pose
        T_side = T_start.copy()
        T_side[1, 3] += 0.005
        cycle.set_reference(T_side)
        cycle.track()
        step(cycles // 3)
        cycle.set_reference(T_start)
        step(cycles // 3)
        # controlled retract (in air), then track back to the start pose
        cycle.retract()
        step(6000, until=lambda: cycle.outcome.control.event is Event.RETRACT_DONE)
        cycle.track()
        step(cycles // 3)
        # guarded approach until settled
        cycle.set_reference(T_skin)
        cycle.set_force(5.0)
        cycle.approach()
        step(4000, until=lambda: cycle.outcome.control.event is Event.SETTLED)
        if cycle.controller.mode is not Mode.CONTACT:
            raise RuntimeError(f"not in contact after the approach: {cycle.controller.mode}")
        # contact with a reference moving along y
        T_ref = T_skin.copy()
        twist = np.zeros(6)
        twist[1] = SWEEP_SPEED

        def move(i: int) -> None:
            T_ref[1, 3] = T_skin[1, 3] + SWEEP_SPEED * i * cycle.dt
            cycle.set_reference(T_ref, twist)

        step(cycles, on=move)
        # tight loop: the same contact cycle again and again on a frozen plant (every
        # F/T reading counts as new so the staleness layer stays quiet)
        fresh = FreshWrench(cell.wrench)
        cycle.cell = dataclasses.replace(cell, wrench=fresh)
        for _ in range(cycles):
            if timer is not None:
                timer.acc.clear()
            c0, t0 = cpu(), perf()
            cycle(clock)
            t1, c1 = perf(), cpu()
            record(rec["TIGHT"], t1 - t0, c1 - c0)
        cycle.cell = cell
        if cycle.controller.mode is not Mode.CONTACT or cycle.supervisor.faulted:
            raise RuntimeError("the tight loop left the contact mode")
        # (the controller has wound up against the frozen plant: the scenario ends here)
    finally:
        gc.unfreeze()
        gc.enable()
        if timer is not None:
            timer.uninstall()
        if cell.close is not None:
            cell.close()
    return rec


def _pct(x: list[float], q: float) -> float:
    return float(np.percentile(x, q)) if x else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the plain and the instrumented scenario; write ``control_stages.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--robot", default="panda", choices=simulated_arms())
    ap.add_argument("--cycles", type=int, default=3000, help="cycles in HOLD and in CONTACT")
    add_plant_arguments(ap)
    args = ap.parse_args(argv)
    cfg = load_config(overrides={"robot.model": args.robot, **plant_overrides(args)})
    load_before = os.getloadavg()
    plain = run_scenario(cfg, args.cycles, None)
    staged = run_scenario(cfg, args.cycles, StageTimer())
    load_after = os.getloadavg()

    modes = [m.name for m in Mode if m.name in plain] + ["TIGHT"]
    per_mode = {
        m: {
            "cycles": len(plain[m]["cycle"]),
            "cycle_us_p50": _pct(plain[m]["cycle"], 50),
            "cycle_us_p99": _pct(plain[m]["cycle"], 99),
            "cycle_cpu_us_p50": _pct(plain[m]["cycle_cpu"], 50),
            "cycle_cpu_us_p99": _pct(plain[m]["cycle_cpu"], 99),
            "stages_us": {
                k: [_pct(v, 50), _pct(v, 99)]
                for k, v in staged[m].items()
                if k not in ("cycle", "cycle_cpu")
            },
        }
        for m in modes
    }
    c = per_mode["CONTACT"]
    result = {
        "cycle_us_p50": c["cycle_us_p50"],
        "cycle_us_p99": c["cycle_us_p99"],
        "cycle_cpu_us_p50": c["cycle_cpu_us_p50"],
        "cycle_cpu_us_p99": c["cycle_cpu_us_p99"],
        "controller_safety_us_p50": c["stages_us"]["controller+safety"][0],
        "controller_safety_us_p99": c["stages_us"]["controller+safety"][1],
        "tight_cycle_us_p50": per_mode["TIGHT"]["cycle_us_p50"],
        "tight_cycle_us_p99": per_mode["TIGHT"]["cycle_us_p99"],
        "modes": per_mode,
        "load_average_1min": [load_before[0], load_after[0]],
        "cpu_count": os.cpu_count(),
        "robot": args.robot,
        **plant_figures(cfg),
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "control_stages.json").write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"control_stages ({args.robot}, {cfg.sim.profile} plant, {cfg.sim.phantom.shape}, "
        f"F/T {cfg.sim.ft.rate_hz:.0f} Hz) -> {out_dir / 'control_stages.json'}  "
        f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    print("whole cycle (physics excluded), us:")
    print(f"{'mode':10s} {'n':>6s} {'p50':>8s} {'p99':>8s} {'cpu p50':>8s} {'cpu p99':>8s}")
    for m in modes:
        r = per_mode[m]
        print(
            f"{m:10s} {r['cycles']:6d} {r['cycle_us_p50']:8.1f} {r['cycle_us_p99']:8.1f} "
            f"{r['cycle_cpu_us_p50']:8.1f} {r['cycle_cpu_us_p99']:8.1f}"
        )
    labels = [*STAGES, "controller+safety"]
    print("stages (instrumented run), us p50 / p99:")
    print(f"{'stage':22s}" + "".join(f"{m:>16s}" for m in modes))
    for label in labels:
        cells = []
        for m in modes:
            v = per_mode[m]["stages_us"].get(label)
            cells.append(f"{v[0]:7.1f} /{v[1]:6.1f}" if v else f"{'-':>16s}")
        print(f"{label:22s}" + "".join(f"{x:>16s}" for x in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
