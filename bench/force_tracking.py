"""Force-tracking benchmark (lockstep pybullet simulation, seeded): a matrix of plants.

One scenario: approach the phantom from a 10 mm stand-off, settle at 5 N, sweep 100 mm
along a curved line on the skin at 10 mm/s, retract; the probe follows skin normals
measured with the cell's simulated depth camera (a plane fit within ``NORMAL_RADIUS``
of each path point, ``camera_normals``). The matrix runs it for every plant profile
{ideal, realistic, harsh} x tissue stiffness {700, 2000, 6000, 10000 N/m at 5 N} x
{static, breathing +-5 mm at 0.3 Hz} on the torso phantom. Everything is measured against
the simulator's ground truth (contact force, probe pose, the exact phantom geometry and
its true normal), never against the controller's own estimates.

    python bench/force_tracking.py [--out bench-results] [--robot panda|lbr] [--seed 0]
        [--quick] [--jobs 2] [--profile P ...] [--stiffness K ...] [--shape torso]
        [--alignment config|both] [--plan-tilt DEG]

Writes ``force_tracking.json``: per-cell figures (``cells``), the worst case over the
matrix (``worst_*``, ``faults``, ``settle_time_s_p95``) and, as the top-level figures of
earlier versions (``force_rms_N``, ``breathing_force_rms_N``, ``contact_overshoot_N``,
``orientation_rms_deg``, ``lateral_rms_mm``, ``controller_us_p99``), those of the
realistic profile on medium tissue (2000 N/m). ``--quick`` runs realistic/2000 and
harsh/10000 only. A scenario that faults is reported with the figures of what it ran
(NaN for a sweep it never reached), not raised. ``--alignment both`` runs every cell also
with ``force_control.alignment.enabled`` flipped (``alignment_compare``); ``--plan-tilt``
turns the planned orientations about the probe's y axis (a plan off the normal).

The reference path: a helix-like line over the curved top, u -0.2 -> +0.2 (the angle
around the body) while y goes -30 -> +30 mm, probe x along the path; a constant-speed
time law with cosine velocity ramps. The real planner (``trajectory/``) replaces this in
the product.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from force_control import Event, Mode  # noqa: E402
from force_control.pose_error import rotation_log  # noqa: E402
from perception.camera_model import CameraModel  # noqa: E402
from perception.deprojection import transform_points  # noqa: E402
from robot_us.config import Config, load_config  # noqa: E402
from robot_us.control_cycle import ControlCycle, RequestResult  # noqa: E402
from robot_us.core.arms import simulated_arms  # noqa: E402
from robot_us.core.backends import CELLS  # noqa: E402
from robot_us.core.types import RgbdFrame  # noqa: E402
from robot_us.loop import LoopRunner  # noqa: E402
from robot_us.reference_provider import (  # noqa: E402
    CycleInputs,
    CycleOutcome,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.safety.force_rate import ForceRate  # noqa: E402
from robot_us.safety.signals import SafetySignals  # noqa: E402
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
NORMAL_RADIUS = 0.03  # m, depth points around a path point for its normal
#: Controller modes in which the force-rate peak is measured (``peak_force_rate``): not
#: the free-space ones, where a tare switching in moves the sensed force in one step.
_RATE_MODES = (Mode.APPROACH, Mode.CONTACT, Mode.RESEEK, Mode.RETRACT)
#: A force-rate limit (N/s) the replay never trips (``peak_force_rate`` only reads rates).
_NEVER = 1e12
MIN_NORMAL_POINTS = 30  # fewer depth points than this around the path: the camera failed
NORMAL_SMOOTHING = 101  # path samples (of PATH_SAMPLES over 100 mm) averaged per normal
SETTLE_BAND = 0.25  # N, the force counts as settled within this of the setpoint ...
SETTLE_HOLD = 0.2  # s, ... for this long

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


def reference(geometry, dt: float, normals=None) -> dict:
    """The sweep reference sampled every ``dt``: poses (N x 4 x 4), twists (N x 6, base
    frame [v; w]), skin points and outward normals (N x 3), on any phantom shape.
    ``normals``: a function of skin points (N x 3) giving the outward normals the probe
    is to follow (e.g. measured with the depth camera, ``camera_normals``); default the
    exact ones."""
    grid = np.linspace(0.0, 1.0, PATH_SAMPLES)
    curve = _path_curve(geometry, grid)
    chord = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(chord)])
    length = float(arc[-1])
    s, v = time_law(length, SWEEP_SPEED, RAMP_TIME, dt)
    lam = np.interp(s, arc, grid)
    u = THETA0 + lam * (THETA1 - THETA0)
    p, n = geometry.surface_point(u, geometry.center_y + Y0 + lam * (Y1 - Y0))
    if normals is not None:  # measured on the path grid, then sampled like the path
        n_grid = normals(curve)
        n = np.stack([np.interp(lam, grid, n_grid[:, i]) for i in range(3)], axis=1)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
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


def camera_normals(frame: RgbdFrame, radius: float = NORMAL_RADIUS):
    """Outward skin normals from one depth frame: at each query point (base frame, m) the
    normal of the plane fitted (PCA) to the depth points within ``radius``, smoothed
    along the path over ``NORMAL_SMOOTHING`` samples, oriented towards the camera."""
    cam = CameraModel(frame.intrinsics)
    depth = np.asarray(frame.depth, float)
    valid = np.isfinite(depth) & (depth > 0.0)
    if frame.mask is not None:
        valid &= frame.mask
    xy, z = cam.ray_map()[valid], depth[valid]
    P = np.stack([xy[:, 0] * z, xy[:, 1] * z, z], axis=1)
    P = transform_points(frame.T_base_camera, P)
    tree = cKDTree(P)
    eye = frame.T_base_camera[:3, 3]

    def normals(points: np.ndarray) -> np.ndarray:
        out = np.zeros_like(points)
        for i, nb in enumerate(tree.query_ball_point(points, radius)):
            Q = P[nb]
            if len(Q) < MIN_NORMAL_POINTS:
                raise RuntimeError(f"too few depth points ({len(Q)}) around the path")
            Q = Q - Q.mean(axis=0)
            n = np.linalg.svd(Q, full_matrices=False)[2][2]
            out[i] = n if n @ (eye - points[i]) > 0 else -n
        k = NORMAL_SMOOTHING
        pad = np.pad(out, ((k // 2, k // 2), (0, 0)), mode="edge")
        kernel = np.ones(k) / k
        out = np.stack([np.convolve(pad[:, j], kernel, mode="valid") for j in range(3)], 1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    return normals


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


def tilt_plan(ref: dict, angle: float) -> None:
    """Rotate every planned probe orientation by ``angle`` (rad) about its own y axis (in
    the array plane), in place: a plan that is off the skin's normal by that much."""
    c, s = math.cos(angle), math.sin(angle)
    R_y = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    ref["T"][:, :3, :3] = ref["T"][:, :3, :3] @ R_y


def run_scenario(
    cfg: Config, name: str, camera_normal: bool = False, plan_tilt: float = 0.0
) -> dict:
    """Tare, approach, settle, sweep, retract on a fresh simulated cell; returns the
    ground-truth traces and timing. ``camera_normal``: the probe follows normals measured
    with the cell's depth camera (``camera_normals``) instead of the exact ones."""
    cell = CELLS.create(cfg.cell.backend, cfg)
    world = cell.sim
    try:
        n_max = round(MAX_SIM_TIME / (1.0 / cfg.loop.rate_hz))
        log = StateLog(n_max, cell.arm.n_joints)
        cycle = ControlCycle(cfg, cell, state_log=log)
        dt = cycle.dt
        normals = None
        if camera_normal and cell.camera is not None:
            normals = camera_normals(cell.camera.capture())
        ref = reference(world.geometry, dt, normals)
        if plan_tilt:
            tilt_plan(ref, plan_tilt)
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
        out["force_filtered"] = log.column("wrench")[:, :3]
        out["mode"] = log.column("mode")
        out["force_rate_window_s"] = cfg.safety.force_rate_window
        out["dt"] = dt
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


def peak_force_rate(r: dict) -> float:
    """Highest force rise rate (N/s) the safety layer (``ForceRate``, the same window as
    ``safety.force_rate_window``) saw over the run, replayed on the logged filtered wrench,
    counting windows that lie in ``_RATE_MODES`` (a cell that faulted reports the peak
    after the fault's retract began, above the value that tripped it); NaN if none."""
    layer = ForceRate(_NEVER, r["force_rate_window_s"], r["dt"])
    sig, cmd = SafetySignals(0), np.zeros(0)
    guarded = np.isin(r["mode"], [int(m) for m in _RATE_MODES])
    peak, since = -math.inf, 0  # cycles in _RATE_MODES in a row
    for f, g in zip(r["force_filtered"], guarded, strict=True):
        sig.force_filtered = f
        layer.check(sig, cmd)
        since = since + 1 if g else 0
        if since > layer.n:  # the whole window (both ends) in _RATE_MODES
            peak = max(peak, layer.rate)
    return peak if peak > -math.inf else float("nan")


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


#: The matrix: plant profiles, tissue stiffness (N/m at 5 N), motions.
PROFILES = ("ideal", "realistic", "harsh")
STIFFNESSES = (700.0, 2000.0, 6000.0, 10000.0)
MOTIONS = ("static", "breathing")
#: The cell whose figures are the top-level (headline) ones.
HEADLINE = ("realistic", 2000.0)
#: ``--quick``: the headline cell and the hardest one.
QUICK = (("realistic", 2000.0), ("harsh", 10000.0))
WORST_TARGETS = {
    "worst_force_rms_N": 0.3,
    "worst_breathing_force_rms_N": 0.5,
    "worst_overshoot_N": 1.0,
    "worst_orientation_rms_deg": 2.0,
    "worst_lateral_rms_mm": 1.0,
}


def settle_time_s(r: dict) -> float:
    """Time (s) from contact (true force above 1 N in the approach) until the true force
    stays within ``SETTLE_BAND`` of the setpoint for ``SETTLE_HOLD``; NaN if never."""
    appr = np.flatnonzero((r["phase"] == APPROACH) & (r["force"] > 1.0))
    if not len(appr):
        return float("nan")
    i0 = appr[0]
    inside = np.abs(r["force"][i0:] - FORCE) < SETTLE_BAND
    hold = round(SETTLE_HOLD / 1e-3)
    run = np.convolve(inside.astype(int), np.ones(hold, int), mode="valid")
    ok = np.flatnonzero(run == hold)
    return float(r["t"][i0 + ok[0]] - r["t"][i0]) if len(ok) else float("nan")


def cell_config(
    base: Config, profile: str, stiffness: float, motion: str, alignment: bool | None = None
) -> Config:
    """``base`` with the plant of one matrix cell; ``alignment``: force
    ``force_control.alignment.enabled`` (None: as configured)."""
    cfg = load_config(
        overrides={
            "robot.model": base.robot.model,
            "sim.ft.seed": base.sim.ft.seed,
            "sim.profile": profile,
            "sim.phantom.shape": base.sim.phantom.shape,
            "sim.phantom.stiffness": stiffness,
        }
    )
    fc = base.force_control
    if alignment is not None:
        fc = replace(fc, alignment=replace(fc.alignment, enabled=alignment))
    cfg = replace(cfg, force_control=fc)
    if motion == "breathing":
        ph = replace(
            cfg.sim.phantom, breathing_amplitude=BREATHING_AMPLITUDE, breathing_hz=BREATHING_HZ
        )
        cfg = replace(cfg, sim=replace(cfg.sim, phantom=ph))
    return cfg


def run_cell(job: tuple) -> dict:
    """One matrix cell (a worker process): its figures, fault and timing."""
    base, profile, stiffness, motion, alignment, plan_tilt = job
    cfg = cell_config(base, profile, stiffness, motion, alignment)
    r = run_scenario(
        cfg, f"{profile}/{stiffness:g}/{motion}", camera_normal=True, plan_tilt=plan_tilt
    )
    fig = sweep_figures(r)
    fig.update(
        profile=profile,
        stiffness_N_per_m=stiffness,
        motion=motion,
        alignment=cfg.force_control.alignment.enabled,
        ft_rate_hz=cfg.sim.ft.rate_hz,
        ft_latency_s=cfg.sim.ft.latency,
        fault=r["fault"],
        settle_time_s=settle_time_s(r),
        peak_force_rate_N_per_s=peak_force_rate(r),
        wall_s=r["wall_s"],
        control_us=r["control_us"],
        control_cpu_us=r["control_cpu_us"],
        plant_us_p50=r["loop"].plant_us_p50,
    )
    if motion == "breathing":
        fig["breathing_phase_lag_deg"] = phase_lag_deg(r, BREATHING_HZ)
    return fig


def _nanmax(values: list[float]) -> float:
    v = [x for x in values if np.isfinite(x)]
    return float(max(v)) if v else float("nan")


def _cell_name(c: dict) -> str:
    return f"{c['profile']}/{c['stiffness_N_per_m']:g}/{c['motion']}"


def summarise(cells: list[dict]) -> dict:
    """The worst case over the matrix (each ``worst_*`` with its cell, ``worst_*_cell``),
    faults and settle time."""
    static = [c for c in cells if c["motion"] == "static"]
    breathing = [c for c in cells if c["motion"] == "breathing"]
    settle = [c["settle_time_s"] for c in cells if np.isfinite(c["settle_time_s"])]
    out = {
        "faults": sum(1 for c in cells if c["fault"]),
        "settle_time_s_p95": float(np.percentile(settle, 95)) if settle else float("nan"),
        "unsettled_cells": len(cells) - len(settle),
    }
    worst_of = {
        "worst_force_rms_N": (static, "force_rms_N"),
        "worst_breathing_force_rms_N": (breathing, "force_rms_N"),
        "worst_overshoot_N": (cells, "contact_overshoot_N"),
        "worst_orientation_rms_deg": (cells, "orientation_rms_deg"),
        "worst_lateral_rms_mm": (cells, "lateral_rms_mm"),
        "worst_force_rate_N_per_s": (cells, "peak_force_rate_N_per_s"),
    }
    for key, (pool, fig) in worst_of.items():
        out[key] = _nanmax([c[fig] for c in pool])
        if pool:
            worst = max(pool, key=lambda c, f=fig: c[f] if np.isfinite(c[f]) else -1.0)
            out[key + "_cell"] = _cell_name(worst)
    return out


def alignment_compare(cells: list[dict], other: list[dict]) -> dict:
    """The same matrix with ``force_control.alignment`` off and on (``cells`` as
    configured, ``other`` flipped, same order): orientation per cell and the worst case
    and faults of each."""
    by_state = {}
    keys = (
        "worst_orientation_rms_deg",
        "worst_orientation_rms_deg_cell",
        "worst_force_rms_N",
        "worst_breathing_force_rms_N",
        "faults",
    )
    for group in (cells, other):
        summary = summarise(group)
        by_state["on" if group[0]["alignment"] else "off"] = {k: summary[k] for k in keys}
    on = other if other[0]["alignment"] else cells
    off = cells if on is other else other
    rows = [
        {
            "cell": _cell_name(a),
            "orientation_rms_deg_off": a["orientation_rms_deg"],
            "orientation_rms_deg_on": b["orientation_rms_deg"],
            "fault_off": a["fault"],
            "fault_on": b["fault"],
        }
        for a, b in zip(off, on, strict=True)
    ]
    return {**by_state, "cells": rows}


def headline(cells: list[dict]) -> dict:
    """The figures of earlier versions, from the realistic profile on medium tissue."""
    pick = {c["motion"]: c for c in cells if (c["profile"], c["stiffness_N_per_m"]) == HEADLINE}
    st, br = pick.get("static"), pick.get("breathing")
    if st is None or br is None:
        return {}
    ctrl = np.concatenate([st["control_us"], br["control_us"]])
    cpu = np.concatenate([st["control_cpu_us"], br["control_cpu_us"]])
    return {
        "force_rms_N": st["force_rms_N"],
        "force_max_abs_err_N": st["force_max_abs_err_N"],
        "contact_overshoot_N": st["contact_overshoot_N"],
        "orientation_rms_deg": st["orientation_rms_deg"],
        "orientation_max_deg": st["orientation_max_deg"],
        "lateral_rms_mm": st["lateral_rms_mm"],
        "breathing_force_rms_N": br["force_rms_N"],
        "breathing_phase_lag_deg": br["breathing_phase_lag_deg"],
        "controller_us_p99": float(np.percentile(ctrl, 99)),
        # the realistic profile's F/T is the FT 300 at 100 Hz: the same run
        "force_rms_N_ft100hz": st["force_rms_N"],
        "controller_us_p50": float(np.percentile(ctrl, 50)),
        "controller_us_max": float(ctrl.max()),
        "controller_cpu_us_p50": float(np.percentile(cpu, 50)),
        "controller_cpu_us_p99": float(np.percentile(cpu, 99)),
        "lateral_max_mm": st["lateral_max_mm"],
        "breathing_force_max_abs_err_N": br["force_max_abs_err_N"],
        "breathing_contact_overshoot_N": br["contact_overshoot_N"],
        "breathing_orientation_rms_deg": br["orientation_rms_deg"],
        "sweep_s": st["sweep_s"],
        "plant_us_p50": st["plant_us_p50"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and write ``force_tracking.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--robot", default="panda", choices=simulated_arms())
    ap.add_argument("--seed", type=int, default=0, help="seed (F/T noise)")
    ap.add_argument("--quick", action="store_true", help="realistic/2000 and harsh/10000 only")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--profile", nargs="+", choices=PROFILES, help="profiles of the matrix")
    ap.add_argument("--stiffness", nargs="+", type=float, help="tissue stiffness (N/m at 5 N)")
    ap.add_argument("--shape", default="torso", choices=("cylinder", "torso"))
    ap.add_argument(
        "--plan-tilt",
        type=float,
        default=0.0,
        metavar="DEG",
        help="tilt the planned orientation this much about the probe's y axis (a plan off "
        "the normal: what the alignment from the F/T moments is for)",
    )
    ap.add_argument(
        "--alignment",
        default="config",
        choices=("config", "both"),
        help="both: run every cell also with force_control.alignment.enabled flipped and "
        "report its orientation, force and faults under 'alignment_compare'",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="force_control settings to try, e.g. force_control.schedule.force_rate=30",
    )
    args = ap.parse_args(argv)
    overrides = {
        "robot.model": args.robot,
        "sim.ft.seed": args.seed,
        "sim.phantom.shape": args.shape,
    }
    for item in args.set:
        key, _, value = item.partition("=")
        if not key.startswith("force_control."):
            ap.error(f"--set {item}: only force_control.* keys (the plant is the matrix's)")
        overrides[key] = json.loads(value)
    base = load_config(overrides=overrides)
    if args.quick:
        plants = list(QUICK)
    else:
        plants = [
            (p, k) for p in (args.profile or PROFILES) for k in (args.stiffness or STIFFNESSES)
        ]
    tilt = math.radians(args.plan_tilt)
    jobs = [(base, p, k, m, None, tilt) for p, k in plants for m in MOTIONS]
    flipped = not base.force_control.alignment.enabled
    if args.alignment == "both":
        jobs += [(base, p, k, m, flipped, tilt) for p, k in plants for m in MOTIONS]
    load_before = os.getloadavg()
    wall0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            cells = list(pool.map(run_cell, jobs))
    else:
        cells = [run_cell(j) for j in jobs]
    wall = time.perf_counter() - wall0
    load_after = os.getloadavg()
    compare = None
    if args.alignment == "both":
        cells, other = cells[: len(cells) // 2], cells[len(cells) // 2 :]
        compare = alignment_compare(cells, other)

    result = headline(cells)
    result.update(summarise(cells))
    result.update(
        {
            "cells": [
                {k: v for k, v in c.items() if k not in ("control_us", "control_cpu_us")}
                for c in cells
            ],
            "load_average_1min": [load_before[0], load_after[0]],
            "cpu_count": os.cpu_count(),
            "wall_s": wall,
            "jobs": args.jobs,
            "robot": args.robot,
            "seed": args.seed,
            "shape": args.shape,
            "headline_cell": f"{HEADLINE[0]}/{HEADLINE[1]:g}",
            "normals": f"simulated depth camera, plane fit within {NORMAL_RADIUS * 1e3:g} mm",
            "alignment_enabled": base.force_control.alignment.enabled,
            "plan_tilt_deg": args.plan_tilt,
        }
    )
    if compare is not None:
        result["alignment_compare"] = compare
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "force_tracking.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"force_tracking ({args.robot}, seed {args.seed}, {args.shape}, {len(cells)} cells, "
        f"{wall:.0f} s wall, load {load_before[0]:.2f} -> {load_after[0]:.2f} on "
        f"{os.cpu_count()} CPUs) -> {out_dir / 'force_tracking.json'}"
    )
    print(
        f"{'profile':10s} {'N/m':>6s} {'motion':10s} {'F rms':>6s} {'F max':>6s} "
        f"{'overs':>6s} {'ori':>5s} {'lat mm':>6s} {'settle':>6s} {'dF/dt':>6s} fault"
    )
    for c in cells:
        print(
            f"{c['profile']:10s} {c['stiffness_N_per_m']:6.0f} {c['motion']:10s} "
            f"{c['force_rms_N']:6.3f} {c['force_max_abs_err_N']:6.3f} "
            f"{c['contact_overshoot_N']:6.3f} {c['orientation_rms_deg']:5.2f} "
            f"{c['lateral_rms_mm']:6.3f} {c['settle_time_s']:6.2f} "
            f"{c['peak_force_rate_N_per_s']:6.1f} {c['fault'] or ''}"
        )
    for key, target in WORST_TARGETS.items():
        mark = "ok" if result[key] <= target else "MISS"
        print(f"{key:30s} {result[key]:8.3f}  <= {target:g} {mark}")
    print(f"{'faults':30s} {result['faults']:8d}")
    print(f"{'settle_time_s_p95':30s} {result['settle_time_s_p95']:8.3f}")
    print(
        f"{'worst_force_rate_N_per_s':30s} {result['worst_force_rate_N_per_s']:8.1f}  "
        f"(safety limit {base.safety.force_rate_limit:g}, "
        f"{result.get('worst_force_rate_N_per_s_cell', '-')})"
    )
    if compare is not None:
        for state in ("off", "on"):
            c = compare[state]
            print(
                f"alignment {state:3s}: worst orientation RMS {c['worst_orientation_rms_deg']:.3f} "
                f"deg ({c['worst_orientation_rms_deg_cell']}), worst force RMS "
                f"{c['worst_force_rms_N']:.3f} N, faults {c['faults']}"
            )
        for row in compare["cells"]:
            print(
                f"  {row['cell']:26s} orientation RMS off {row['orientation_rms_deg_off']:.3f} "
                f"on {row['orientation_rms_deg_on']:.3f} deg"
            )
    for key in FIGURES:
        if key in result:
            print(f"headline {key:28s} {result[key]:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
