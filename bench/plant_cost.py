"""Per-step cost of the simulated plant: the physics step and what the plant models add to
it (tissue contact, joint servo, F/T sensor read), per plant profile and phantom shape,
with the probe pressed into the skin (about 5 N) and in free space.

    python bench/plant_cost.py [--out bench-results] [--steps 3000]

Writes ``plant_cost.json`` and prints a table. Times are the thread's CPU time
(``time.thread_time_ns``) per call, median and 99th percentile over ``--steps`` steps,
less sensitive to other processes than wall time; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from force_control import make_controller  # noqa: E402
from robot_us.config import load_config  # noqa: E402
from robot_us.core.types import ArmState, WrenchSample  # noqa: E402
from sim.cell import make_sim_cell  # noqa: E402

PROFILES = ("ideal", "realistic", "harsh")
SHAPES = ("cylinder", "torso")
#: Indentation of the pressed probe (m): about 5 N on the realistic tissue.
PRESS_DEPTH = 0.004
#: Height of the free-space pose above the skin (m).
FREE_HEIGHT = 0.05


class _Timed:
    """Wraps a bound method and collects its CPU time per call (ns)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.ns: list[int] = []

    def __call__(self, *args):
        t0 = time.thread_time_ns()
        out = self.fn(*args)
        self.ns.append(time.thread_time_ns() - t0)
        return out


def _stats(ns: list[int]) -> dict[str, float]:
    a = np.array(ns, dtype=float) / 1e3
    if not len(a):
        return {"p50_us": 0.0, "p99_us": 0.0}
    return {"p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99))}


def measure(profile: str, shape: str, steps: int, height: float) -> dict:
    """Hold the probe ``height`` above (negative: pressed into) the skin's top for
    ``steps`` steps with the pose controller; the cost per step of each part."""
    cfg = load_config(overrides={"sim.profile": profile, "sim.phantom.shape": shape})
    cell = make_sim_cell(cfg)
    try:
        w = cell.sim
        g = w.geometry
        T = w.kin.fk(w.q_home)
        T[:3, 3] = (g.center_x, g.center_y + 0.05, g.height_at(g.center_x, g.center_y + 0.05))
        T[2, 3] += height
        q, ok, reason = w.kin.ik(T, w.q_home)
        if not ok:
            raise RuntimeError(f"no IK solution for the hold pose: {reason}")
        w.reset_joints(q)
        ctl = make_controller(cfg.force_control, w.kin.limits, w.dt)
        inp = ctl.inp
        state = ArmState(w.kin.n, q=inp.q, qd=inp.qd)
        ctl.track()
        contact, joints = _Timed(w.contact.step), _Timed(w.joints.step)
        w.contact.step, w.joints.step = contact, joints
        read = _Timed(cell.wrench.read)
        step = _Timed(cell.step_plant)
        ws = WrenchSample()
        forces = []
        for _ in range(steps):
            cell.arm.read(state)
            w.kin.fk(inp.q, out=inp.T_base_probe)
            w.kin.jacobian(inp.q, out=inp.J)
            inp.T_base_ref[:] = T
            cell.arm.command_velocity(ctl.update().qd)
            read(ws)
            step()
            forces.append(w.contact_force())
        physics = [s - c - j for s, c, j in zip(step.ns, contact.ns, joints.ns, strict=True)]
        return {
            "step": _stats(step.ns),
            "physics": _stats(physics),
            "contact": _stats(contact.ns),
            "joints": _stats(joints.ns),
            "ft_read": _stats(read.ns),
            "force_N": float(np.mean(forces[steps // 2 :])),
        }
    finally:
        cell.close()


def main(argv: list[str] | None = None) -> int:
    """Measure every profile x shape, pressed and free; write ``plant_cost.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--steps", type=int, default=3000, help="steps per case")
    args = ap.parse_args(argv)
    load = [os.getloadavg()[0]]
    result: dict = {"cases": {}}
    for profile in PROFILES:
        for shape in SHAPES:
            for where, h in (("pressed", -PRESS_DEPTH), ("free", FREE_HEIGHT)):
                key = f"{profile}/{shape}/{where}"
                result["cases"][key] = measure(profile, shape, args.steps, h)
    load.append(os.getloadavg()[0])
    result["load_average_1min"] = load
    result["cpu_count"] = os.cpu_count()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plant_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"plant cost per step, CPU time p50 / p99 (us) -> {out / 'plant_cost.json'}")
    print(
        f"{'case':28s} {'step':>13s} {'physics':>13s} {'contact':>13s} {'joints':>13s} {'F/T':>11s}"
    )
    for key, c in result["cases"].items():
        cols = [
            f"{c[k]['p50_us']:5.1f} /{c[k]['p99_us']:6.1f}"
            for k in ("step", "physics", "contact", "joints", "ft_read")
        ]
        print(f"{key:28s} " + " ".join(f"{x:>13s}" for x in cols) + f"   {c['force_N']:.2f} N")
    print(f"load average {load[0]:.2f} -> {load[1]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
