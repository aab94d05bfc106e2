"""Force-tracking benchmark (lockstep pybullet simulation, seeded).

Approach the phantom from a 10 mm stand-off, settle at 5 N, sweep 100 mm along a curved
line on the phantom's skin at 10 mm/s, retract. Then the same while the phantom breathes
(+-5 mm vertically at 0.3 Hz), and the static sweep again with the F/T sensor sampled at
100 Hz. Everything is measured against the simulator's ground truth (contact force,
probe pose, exact phantom geometry), never against the controller's own estimates.

    python bench/force_tracking.py [--out bench-results] [--robot panda|lbr] [--seed 0]
        [--profile ideal|realistic|harsh] [--shape cylinder|torso] [--stiffness N_PER_M]

Writes ``force_tracking.json`` (figures listed in ``FIGURES``, the plant profile, F/T rate
and tissue they come from, and the safety faults of each scenario) and prints a table. A
scenario that faults is reported with the figures of what it ran (NaN for a sweep it
never reached), not raised.

The reference path is generated here from the exact geometry (``sim.phantom_geometry``):
a helix-like line over the curved top, u -0.2 -> +0.2 (the angle around the cylinder)
while y goes -30 -> +30 mm (on the cylinder 80 mm around the body, 60 mm along it: 100 mm
long), probe z on the inward normal, probe x along the path; a constant-speed time law
with cosine velocity ramps. The real planner (``trajectory/``) replaces this in the product.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from force_control import Event  # noqa: E402
from force_control.pose_error import rotation_log  # noqa: E402
from robot_us.config import Config, load_config  # noqa: E402
from robot_us.control_cycle import ControlCycle, RequestResult  # noqa: E402
from robot_us.core.arms import simulated_arms  # noqa: E402
from robot_us.core.backends import CELLS  # noqa: E402
from robot_us.loop import LoopRunner  # noqa: E402
from robot_us.reference_provider import (  # noqa: E402
    CycleInputs,
    CycleOutcome,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.scan.ground_truth import probe_axis_angles_deg  # noqa: E402
from robot_us.state_log import StateLog  # noqa: E402

#: Sweep: from (theta, y) = (THETA0, Y0) to (THETA1, Y1) over the phantom's top.
THETA0, THETA1 = -0.2, 0.2
Y0, Y1 = -0.03, 0.03
SWEEP_SPEED = 0.01  # m/s
RAMP_TIME = 0.5  # s, cosine velocity ramp at both ends
STANDOFF = 0.01  # m, approach start above the skin along the normal
FORCE = 5.0  # N
SETTLE_TIME = 1.0  # s in contact before the sweep starts
END_HOLD = 0.3  # s at the end of the path before the retract
BREATHING_AMPLITUDE = 0.005  # m
BREATHING_HZ = 0.3
MAX_SIM_TIME = 40.0  # s, a scenario that has not finished by then is a failure

FIGURES = (
    "force_rms_N",
    "force_max_abs_err_N",
    "contact_overshoot_N",
    "orientation_rms_deg",
    "orientation_max_deg",
    "lateral_rms_mm",
    "breathing_force_rms_N",
    "breathing_phase_lag_deg",
    "controller_us_p99",
    "force_rms_N_ft100hz",
)
TARGETS = {
    "force_rms_N": 0.3,
    "contact_overshoot_N": 1.0,
    "orientation_rms_deg": 2.0,
    "lateral_rms_mm": 1.0,
    "breathing_force_rms_N": 0.5,
    "controller_us_p99": 300.0,
}

# phases of a scenario
TARE, APPROACH, SWEEP, END, RETRACT = range(5)


# -- reference path ----------------------------------------------------------------------
def time_law(length: float, speed: float, ramp: float, dt: float) -> tuple[np.ndarray, ...]:
    """Arc length s (m) and speed (m/s) sampled every ``dt``: cosine ramps of ``ramp``
    seconds at both ends, constant ``speed`` between."""
    cruise = (length - speed * ramp) / speed
    if cruise < 0:
        raise ValueError(f"path of {length} m too short for a {ramp} s ramp at {speed} m/s")
    total = 2 * ramp + cruise
    t = np.arange(0.0, total + dt, dt)
    v = np.full_like(t, speed)
    up = t < ramp
    v[up] = speed * 0.5 * (1 - np.cos(math.pi * t[up] / ramp))
    down = t > ramp + cruise
    td = np.clip(t[down] - ramp - cruise, 0.0, ramp)
    v[down] = speed * 0.5 * (1 + np.cos(math.pi * td / ramp))
    s = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)])
    s = np.minimum(s, length)
    return s, v


def probe_frames(points: np.ndarray, normals: np.ndarray, tangents: np.ndarray) -> np.ndarray:
    """T_base_probe (N x 4 x 4): z on the inward normal, x along the path."""
    z = -normals
    x = tangents - np.sum(tangents * z, axis=1, keepdims=True) * z
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    T = np.zeros((len(points), 4, 4))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2], T[:, :3, 3] = x, y, z, points
    T[:, 3, 3] = 1.0
    return T


#: Samples of the path curve from which its arc length is tabulated.
PATH_SAMPLES = 4001
#: Step (in the curve's parameter, 0..1) of the central difference for its tangent.
TANGENT_STEP = 1e-6


def _path_curve(geometry, lam: np.ndarray) -> np.ndarray:
    """Skin points (N x 3) of the path at curve parameter ``lam`` (0..1)."""
    u = THETA0 + lam * (THETA1 - THETA0)
    y = geometry.center_y + Y0 + lam * (Y1 - Y0)
    return geometry.surface_point(u, y)[0]


def reference(geometry, dt: float) -> dict:
    """The sweep reference sampled every ``dt``: poses (N x 4 x 4), twists (N x 6, base
    frame [v; w]), skin points and outward normals (N x 3), on any phantom shape."""
    grid = np.linspace(0.0, 1.0, PATH_SAMPLES)
    chord = np.linalg.norm(np.diff(_path_curve(geometry, grid), axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(chord)])
    length = float(arc[-1])
    s, v = time_law(length, SWEEP_SPEED, RAMP_TIME, dt)
    lam = np.interp(s, arc, grid)
    u = THETA0 + lam * (THETA1 - THETA0)
    p, n = geometry.surface_point(u, geometry.center_y + Y0 + lam * (Y1 - Y0))
    h = TANGENT_STEP
    dp = _path_curve(geometry, lam + h) - _path_curve(geometry, lam - h)
    tangent = dp / np.linalg.norm(dp, axis=1, keepdims=True)
    T = probe_frames(p, n, tangent)
    twist = np.zeros((len(s), 6))
    twist[:, :3] = tangent * v[:, None]
    w = np.zeros(3)
    for k in range(len(s) - 1):  # angular velocity from consecutive frames (base frame)
        Rk = T[k, :3, :3]
        rotation_log(Rk.T @ T[k + 1, :3, :3], w)
        twist[k, 3:] = Rk @ w / dt
    return {"T": T, "twist": twist, "points": p, "normals": n, "length": length}


def pose_offset(T: np.ndarray, distance: float) -> np.ndarray:
    """``T`` moved ``distance`` back along its own -z axis (out of the skin)."""
    out = T.copy()
    out[:3, 3] -= distance * T[:3, 2]
    return out


def solve_ik(kin, T_base_probe: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Joint positions putting the probe at ``T_base_probe``."""
    q, ok, reason = kin.ik(T_base_probe, q0, iterations=200, tol=1e-6)
    if not ok:
        raise RuntimeError(f"no IK solution for the approach pose: {reason}")
    return q


# -- one scenario --------------------------------------------------------------------
class ScriptedSweep:
    """The scenario as the control cycle's reference provider: tare, guarded approach,
    settle for ``SETTLE_TIME``, the sweep reference sample by sample, hold ``END_HOLD``
    at the path end, retract; finished when the retract is done."""

    def __init__(self, cycle: ControlCycle, ref: dict) -> None:
        self.cycle = cycle
        self.ref = ref
        self.status = ReferenceStatus()
        self.phase = TARE
        self.k0 = 0
        self.idx = 0
        self.t_contact: float | None = None
        self.settled = False
        self.end_cycles = round(END_HOLD / cycle.dt)

    def _ok(self, result: RequestResult) -> None:
        if result is not RequestResult.OK:
            raise RuntimeError(f"control cycle refused a request: {result.name}")

    def update(self, inputs: CycleInputs) -> ReferenceResult:
        c, ref, k = self.cycle, self.ref, inputs.k
        if self.phase == TARE:
            if k == 0:
                c.hold()
                c.start_tare()
            elif inputs.tare_progress >= 1.0:
                c.set_reference(ref["T"][0])
                self._ok(c.set_force(FORCE))
                self._ok(c.approach())
                self.phase = APPROACH
        elif self.phase == APPROACH:
            if (
                self.settled
                and self.t_contact is not None
                and inputs.t - self.t_contact >= SETTLE_TIME
            ):
                self.phase, self.k0 = SWEEP, k
        elif self.phase == SWEEP:
            i = k - self.k0
            if i < len(ref["T"]):
                self.idx = i
                c.set_reference(ref["T"][i], ref["twist"][i])
            else:
                c.set_reference(ref["T"][-1])
                self.phase, self.k0 = END, k
        elif self.phase == END and k - self.k0 >= self.end_cycles:
            self._ok(c.retract())
            self.phase = RETRACT
        return ReferenceResult.WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        ev = outcome.control.event
        if ev is Event.CONTACT_MADE:
            self.t_contact = outcome.t
        elif ev is Event.SETTLED:
            self.settled = True
        elif ev is Event.RETRACT_DONE and self.phase == RETRACT:
            return ReferenceResult.FINISHED
        if outcome.safety.new_fault is not None:  # a fault ends the scenario (reported)
            return ReferenceResult.FINISHED
        return ReferenceResult.WORKING


def run_scenario(cfg: Config, name: str) -> dict:
    """Tare, approach, settle, sweep, retract on a fresh simulated cell; returns the
    ground-truth traces and timing."""
    cell = CELLS.create(cfg.cell.backend, cfg)
    world = cell.sim
    try:
        n_max = round(MAX_SIM_TIME / (1.0 / cfg.loop.rate_hz))
        log = StateLog(n_max, cell.arm.n_joints)
        cycle = ControlCycle(cfg, cell, state_log=log)
        dt = cycle.dt
        ref = reference(world.geometry, dt)
        q0 = solve_ik(cycle.kin, pose_offset(ref["T"][0], STANDOFF), world.q_home)
        world.reset_joints(q0)
        rec = {
            "t": np.zeros(n_max),
            "force": np.zeros(n_max),
            "tip": np.zeros((n_max, 3)),
            "zaxis": np.zeros((n_max, 3)),
            "dz": np.zeros(n_max),
            "phase": np.full(n_max, -1, dtype=np.int8),
            "idx": np.zeros(n_max, dtype=np.int64),
        }
        script = ScriptedSweep(cycle, ref)
        cycle.reference = script
        st = {"n": 0}

        def plant_step() -> None:
            cell.step_plant()
            i = st["n"]
            if i >= n_max:
                return
            T = world.probe_pose()
            rec["t"][i] = world.t
            rec["force"][i] = world.contact_force()
            rec["tip"][i] = T[:3, 3]
            rec["zaxis"][i] = T[:3, 2]
            rec["dz"][i] = world.breathing_offset()
            rec["phase"][i] = script.phase
            rec["idx"][i] = script.idx
            st["n"] = i + 1

        runner = LoopRunner(cfg.loop.rate_hz, "lockstep")
        wall0 = time.perf_counter()
        stats = runner.run(cycle, plant_step=plant_step, max_cycles=n_max)
        wall = time.perf_counter() - wall0
        n = st["n"]
        fault = cycle.supervisor.latch.describe() if cycle.supervisor.faulted else None
        if fault is None and (script.phase != RETRACT or stats.cycles >= n_max):
            raise RuntimeError(f"{name}: did not finish within {MAX_SIM_TIME} s")
        out = {k: v[:n] for k, v in rec.items()}
        out["fault"] = fault
        out["control_us"] = log.column("control_us")
        out["control_cpu_us"] = log.column("control_cpu_us")
        out["ref"] = ref
        out["geometry"] = world.geometry
        out["loop"] = stats
        out["wall_s"] = wall
        return out
    finally:
        if cell.close is not None:
            cell.close()


# -- figures -----------------------------------------------------------------------------
def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")


def _max(x: np.ndarray) -> float:
    return float(x.max()) if len(x) else float("nan")


def sweep_figures(r: dict) -> dict:
    """Force, orientation and lateral errors during the sweep; overshoot at contact."""
    sweep = r["phase"] == SWEEP
    err = r["force"][sweep] - FORCE
    approach = r["phase"] == APPROACH
    overshoot = max(0.0, float(r["force"][approach].max()) - FORCE) if approach.any() else 0.0
    tip, z, dz = r["tip"][sweep], r["zaxis"][sweep], r["dz"][sweep]
    angles = probe_axis_angles_deg(r["geometry"], tip, z, dz)
    idx = r["idx"][sweep]
    e = tip - r["ref"]["points"][idx]
    n_ref = r["ref"]["normals"][idx]
    e_t = e - np.sum(e * n_ref, axis=1, keepdims=True) * n_ref
    lateral = np.linalg.norm(e_t, axis=1)
    return {
        "force_rms_N": _rms(err),
        "force_max_abs_err_N": _max(np.abs(err)),
        "contact_overshoot_N": overshoot,
        "orientation_rms_deg": _rms(angles),
        "orientation_max_deg": _max(angles),
        "lateral_rms_mm": 1e3 * _rms(lateral),
        "lateral_max_mm": 1e3 * _max(lateral),
        "sweep_s": float(sweep.sum()) * 1e-3,
    }


def phase_lag_deg(r: dict, freq_hz: float) -> float:
    """Lag (deg) of the probe's vertical motion behind the phantom's breathing during the
    sweep: both fitted with a sinusoid at ``freq_hz`` (plus offset and trend); the
    probe's height is taken relative to the still skin under it, which removes the path's
    own rise and fall over the curved body."""
    sweep = r["phase"] == SWEEP
    if sweep.sum() < 100:
        return float("nan")
    t = r["t"][sweep]
    tip = r["tip"][sweep]
    h = tip[:, 2] - r["geometry"].height_at(tip[:, 0], tip[:, 1])
    w = 2 * math.pi * freq_hz
    A = np.stack([np.sin(w * t), np.cos(w * t), np.ones_like(t), t - t.mean()], axis=1)
    ph = []
    for y in (r["dz"][sweep], h):
        c = np.linalg.lstsq(A, y, rcond=None)[0]
        ph.append(math.atan2(c[1], c[0]))
    lag = math.degrees(ph[0] - ph[1])
    return (lag + 180.0) % 360.0 - 180.0


def main(argv: list[str] | None = None) -> int:
    """Run the three scenarios and write ``force_tracking.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--robot", default="panda", choices=simulated_arms())
    ap.add_argument("--seed", type=int, default=0, help="seed (F/T noise)")
    ap.add_argument("--config", nargs="*", default=[], help="extra TOML config files")
    ap.add_argument("--profile", choices=("ideal", "realistic", "harsh"), help="sim.profile")
    ap.add_argument("--shape", choices=("cylinder", "torso"), help="sim.phantom.shape")
    ap.add_argument("--stiffness", type=float, help="sim.phantom.stiffness (N/m at 5 N)")
    args = ap.parse_args(argv)
    overrides = {"robot.model": args.robot, "sim.ft.seed": args.seed}
    if args.profile:
        overrides["sim.profile"] = args.profile
    if args.shape:
        overrides["sim.phantom.shape"] = args.shape
    if args.stiffness:
        overrides["sim.phantom.stiffness"] = args.stiffness
    base = load_config(*args.config, overrides=overrides)
    ph = base.sim.phantom
    breathing_cfg = replace(
        base,
        sim=replace(
            base.sim,
            phantom=replace(ph, breathing_amplitude=BREATHING_AMPLITUDE, breathing_hz=BREATHING_HZ),
        ),
    )
    ft100_cfg = replace(base, sim=replace(base.sim, ft=replace(base.sim.ft, rate_hz=100.0)))

    load_before = os.getloadavg()
    static = run_scenario(base, "static")
    fig = sweep_figures(static)
    breathing = run_scenario(breathing_cfg, "breathing")
    bfig = sweep_figures(breathing)
    ft100 = run_scenario(ft100_cfg, "ft100hz")
    ffig = sweep_figures(ft100)
    load_after = os.getloadavg()

    ctrl = np.concatenate([static["control_us"], breathing["control_us"]])
    cpu = np.concatenate([static["control_cpu_us"], breathing["control_cpu_us"]])
    result = {
        "force_rms_N": fig["force_rms_N"],
        "force_max_abs_err_N": fig["force_max_abs_err_N"],
        "contact_overshoot_N": fig["contact_overshoot_N"],
        "orientation_rms_deg": fig["orientation_rms_deg"],
        "orientation_max_deg": fig["orientation_max_deg"],
        "lateral_rms_mm": fig["lateral_rms_mm"],
        "breathing_force_rms_N": bfig["force_rms_N"],
        "breathing_phase_lag_deg": phase_lag_deg(breathing, BREATHING_HZ),
        "controller_us_p99": float(np.percentile(ctrl, 99)),
        "force_rms_N_ft100hz": ffig["force_rms_N"],
        # extras
        "controller_us_p50": float(np.percentile(ctrl, 50)),
        "controller_us_max": float(ctrl.max()),
        "controller_cpu_us_p50": float(np.percentile(cpu, 50)),
        "controller_cpu_us_p99": float(np.percentile(cpu, 99)),
        # the machine's 1-minute load average before and after the runs, and its CPUs:
        # a load near or above the CPU count means the wall-clock p99 includes waiting
        # for the CPU (preemption), which the CPU-time figures exclude
        "load_average_1min": [load_before[0], load_after[0]],
        "cpu_count": os.cpu_count(),
        "lateral_max_mm": fig["lateral_max_mm"],
        "breathing_force_max_abs_err_N": bfig["force_max_abs_err_N"],
        "breathing_contact_overshoot_N": bfig["contact_overshoot_N"],
        "breathing_orientation_rms_deg": bfig["orientation_rms_deg"],
        "ft100hz_contact_overshoot_N": ffig["contact_overshoot_N"],
        "ft100hz_force_max_abs_err_N": ffig["force_max_abs_err_N"],
        "path_length_mm": 1e3 * static["ref"]["length"],
        "sweep_s": fig["sweep_s"],
        "plant_us_p50": static["loop"].plant_us_p50,
        "wall_s": static["wall_s"] + breathing["wall_s"] + ft100["wall_s"],
        "robot": args.robot,
        "seed": args.seed,
        # the plant the figures come from
        "profile": base.sim.profile,
        "shape": base.sim.phantom.shape,
        "ft_rate_hz": base.sim.ft.rate_hz,
        "ft_latency_s": base.sim.ft.latency,
        "tissue_stiffness_N_per_m": base.sim.phantom.stiffness,
        "faults": {
            name: r["fault"]
            for name, r in (("static", static), ("breathing", breathing), ("ft100hz", ft100))
            if r["fault"]
        },
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "force_tracking.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"force_tracking ({args.robot}, seed {args.seed}, profile {result['profile']}, "
        f"{result['shape']}, F/T {result['ft_rate_hz']:g} Hz, tissue "
        f"{result['tissue_stiffness_N_per_m']:g} N/m) -> {out_dir / 'force_tracking.json'}"
    )
    print(f"{'figure':28s} {'value':>10s} {'target':>8s}")
    for key in FIGURES:
        target = TARGETS.get(key)
        mark = "" if target is None else ("ok" if result[key] <= target else "MISS")
        tgt = "" if target is None else f"<= {target:g}"
        print(f"{key:28s} {result[key]:10.3f} {tgt:>8s} {mark}")
    print(
        f"controller CPU time p50/p99: {result['controller_cpu_us_p50']:.1f} / "
        f"{result['controller_cpu_us_p99']:.1f} us; load average {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f} on {os.cpu_count()} CPUs"
    )
    for name, cause in result["faults"].items():
        print(f"FAULT in {name}: {cause}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
