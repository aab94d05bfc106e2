"""Planning benchmark: time to plan a 300 mm scan over the simulated phantom on the Panda
(``plan_ms``), and the per-cycle cost of the arc-length time law (``time_law_us_p50/p99``)
during a scan with speed override changes and a pause, plus the loop-side pose lookup.

    python bench/planning.py --out bench-results

Writes ``DIR/planning.json``. Deterministic inputs; timings on a shared machine are
noisy and pessimistic."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robot_us.config import Config  # noqa: E402
from robot_us.core.kinematics import ArmKinematics, probe_transform  # noqa: E402
from robot_us.core.types import SurfacePath  # noqa: E402
from sim.phantom_geometry import PhantomGeometry  # noqa: E402
from trajectory.frames import probe_frames  # noqa: E402
from trajectory.path_geometry import spline_resample  # noqa: E402
from trajectory.planner import ScanPlanner  # noqa: E402
from trajectory.probe_path import ProbePath  # noqa: E402
from trajectory.time_law import (  # noqa: E402
    ArcTimeLaw,
    TimeLawInput,
    TimeLawLimits,
    TimeLawOutput,
    TimeLawResult,
)

PATH_LENGTH = 0.3
PLAN_RUNS = 10


def scan_path(geo: PhantomGeometry, length: float = PATH_LENGTH) -> SurfacePath:
    """A curved path from the near side of the body over the top and along it, cut to
    ``length`` m of arc length (sampled every 0.5 mm)."""
    u = np.linspace(0.0, 1.0, 4000)
    theta = -0.55 + 0.75 * u
    y = -0.13 + 0.28 * u + 0.02 * np.sin(2 * np.pi * u)
    p, _ = geo.surface_point(theta, y)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    if s[-1] < length:
        raise RuntimeError(f"benchmark path is only {s[-1]:.3f} m long")
    keep = np.arange(0.0, length + 1e-9, 0.0005)
    theta_k, y_k = np.interp(keep, s, theta), np.interp(keep, s, y)
    return SurfacePath(*geo.surface_point(theta_k, y_k))


def bench_plan(cfg: Config, geo: PhantomGeometry) -> tuple[dict[str, float], object]:
    kin = ArmKinematics("panda", probe_transform(cfg.probe.tip_offset))
    planner = ScanPlanner(kin, cfg.trajectory)
    path = scan_path(geo)
    plan = planner.plan(path, kin.q_ready)  # warm-up (imports, caches)
    ms, geo_ms = [], []
    for _ in range(PLAN_RUNS):
        t0 = time.perf_counter()
        plan = planner.plan(path, kin.q_ready)
        t1 = time.perf_counter()
        smooth = spline_resample(path, cfg.trajectory)
        probe_frames(smooth, cfg.trajectory.plane, False, cfg.trajectory.max_orientation_rate)
        t2 = time.perf_counter()
        ms.append((t1 - t0) * 1e3)
        geo_ms.append((t2 - t1) * 1e3)
    ms_arr = np.array(ms)
    return {
        "plan_ms": float(np.median(ms_arr)),
        "plan_ms_min": float(ms_arr.min()),
        "plan_ms_max": float(ms_arr.max()),
        "geometry_ms": float(np.median(geo_ms)),
        "path_length_mm": float(plan.arc_length.max() * 1e3),
        "plan_poses": float(len(plan.poses)),
        "plan_duration_s": plan.duration_s,
    }, plan


def _percentiles(us: np.ndarray, name: str) -> dict[str, float]:
    return {
        f"{name}_us_p50": float(np.percentile(us, 50)),
        f"{name}_us_p99": float(np.percentile(us, 99)),
        f"{name}_us_max": float(us.max()),
    }


def bench_time_law(cfg: Config, plan) -> dict[str, float]:
    """One update per simulated 1 ms cycle over a whole scan: override 1 -> 0.4 -> 1,
    a 2 s pause, to the end. The garbage collector is off, as in the real-time loop."""
    tc = cfg.trajectory
    length = float(plan.arc_length.max())
    law = ArcTimeLaw(TimeLawLimits(length, tc.speed, tc.max_acceleration, tc.max_jerk, 0.001))
    path = ProbePath.from_plan(plan)
    inp, out = TimeLawInput(), TimeLawOutput()
    pose = np.empty((4, 4))
    n_max = 200_000
    law_ns = np.zeros(n_max, dtype=np.int64)
    pose_ns = np.zeros(n_max, dtype=np.int64)
    s = np.zeros(n_max)
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        n = 0
        for k in range(n_max):
            t = k * 1e-3
            inp.override = 0.4 if 5.0 <= t < 12.0 else 1.0
            inp.pause = 15.0 <= t < 17.0
            t0 = clock()
            result = law.update(inp, out)
            t1 = clock()
            path.pose_at(out.s, pose)
            t2 = clock()
            law_ns[k], pose_ns[k], s[k] = t1 - t0, t2 - t1, out.s
            n = k + 1
            if result is TimeLawResult.FINISHED:
                break
    finally:
        gc.enable()
    s = s[:n]
    jerk = np.diff(s, 3) / 1e-9
    return {
        **_percentiles(law_ns[:n] / 1e3, "time_law"),
        **_percentiles(pose_ns[:n] / 1e3, "pose_at"),
        "time_law_cycles": float(n),
        "time_law_max_jerk_ratio": float(np.abs(jerk).max() / tc.max_jerk),
    }


def bench_time_law_allocations(cfg: Config) -> dict[str, float]:
    """Net Python memory blocks left allocated after 10000 updates (0 = nothing kept or
    grown per call; the binding's transient 1-element lists are freed at once)."""
    tc = cfg.trajectory
    law = ArcTimeLaw(TimeLawLimits(0.3, tc.speed, tc.max_acceleration, tc.max_jerk, 0.001))
    inp, out = TimeLawInput(), TimeLawOutput()
    for _ in range(100):
        law.update(inp, out)
    gc.collect()
    gc.disable()
    try:
        before = sys.getallocatedblocks()
        for k in range(10_000):
            inp.override = 0.5 if (k // 1000) % 2 else 1.0
            law.update(inp, out)
        after = sys.getallocatedblocks()
    finally:
        gc.enable()
    return {"time_law_net_alloc_blocks": float(after - before)}


def bench_ruckig_raw() -> dict[str, float]:
    """The ruckig Python binding alone: one 1-DoF update per call (reference)."""
    from ruckig import InputParameter, OutputParameter, Ruckig

    otg, inp, out = Ruckig(1, 0.001), InputParameter(1), OutputParameter(1)
    inp.current_position, inp.target_position = [0.0], [0.3]
    inp.max_velocity, inp.max_acceleration, inp.max_jerk = [0.01], [0.05], [0.5]
    ns = np.zeros(20_000, dtype=np.int64)
    clock = time.perf_counter_ns
    for k in range(len(ns)):
        t0 = clock()
        otg.update(inp, out)
        ns[k] = clock() - t0
        out.pass_to_input(inp)
    return _percentiles(ns / 1e3, "ruckig_update")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="bench-results", help="output folder")
    args = p.parse_args()
    cfg = Config()
    geo = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    figures, plan = bench_plan(cfg, geo)
    figures.update(bench_time_law(cfg, plan))
    figures.update(bench_time_law_allocations(cfg))
    figures.update(bench_ruckig_raw())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "planning.json").write_text(json.dumps(figures, indent=2) + "\n")
    targets = {"plan_ms": 200.0, "time_law_us_p99": 10.0}
    print(f"{'figure':<28} {'value':>10}  target")
    for k, v in figures.items():
        target = f"<= {targets[k]:g}" if k in targets else ""
        print(f"{k:<28} {v:>10.4g}  {target}")
    print(f"wrote {out / 'planning.json'}")


if __name__ == "__main__":
    main()
