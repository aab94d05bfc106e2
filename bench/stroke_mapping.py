"""Benchmark: strokes on the simulated camera image -> skin paths, against the exact phantom.

Seeded random strokes (smooth curves of 4-8 mouse samples, 40-250 mm long) over the
visible skin of the simulated phantom (the sim's own RGB-D camera, pybullet), with the
depth noise, dropout, edge dropout and holes of the plant profile (default realistic on the
torso: robot_us/plant_choice.py; ``--profile ideal --shape cylinder`` adds the former 1 mm
white noise and 2 % dropout so the figures stay comparable with earlier runs). For every
mapped point: the distance to the exact skin (closest point) and the angle between its
normal and the exact normal there. Mapping is timed per stroke, wall clock
(``map_ms_p50``) and process CPU time (``map_cpu_ms_p50``, less sensitive to other
processes on a shared machine), with the sim's body mask; without the mask (geometric
segmentation) as extras.

Scaling (``scaling``): one 40-250 mm stroke of the same set sampled with 100, 1 000,
10 000 and 100 000 mouse samples along its polyline (a pen at up to 1 kHz): map time
(median of a few runs, CPU) and the peak of Python-tracked memory (numpy arrays included)
during the map. Mapping is O(N) in the samples and linear in the stroke's length, so the
time grows at most linearly with N.

    python bench/stroke_mapping.py --out bench-results [--profile P] [--shape S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perception.camera_model import CameraModel
from perception.stroke import StrokeError, densify
from perception.stroke_mapping import StrokeMapper
from robot_us.config import load_config
from robot_us.plant_choice import add_plant_arguments, plant_figures, plant_overrides

NAME = "stroke_mapping"
N_STROKES = 60
STROKES_PER_FRAME = 10  # a fresh capture (fresh noise) every this many strokes
#: Depth noise (m) and dropout added on the ideal profile, whose camera is noiseless.
IDEAL_DEPTH_NOISE = 0.001
IDEAL_DROPOUT = 0.02
SEED = 1234
#: Stroke ends: surface parameter u as a fraction of the skin's |u| range at that y
#: (negative away from the camera, positive towards it), axial y (m). Shape-agnostic:
#: on the cylinder u is the angle from the top (rad), on the torso a normalised u.
U_FRACTION_RANGE = (-0.35, 0.55)
Y_MARGIN = 0.025  # stay this far from the body's ends (m)
#: Mouse samples of the scaling series, and timed runs per size.
SCALING_SIZES = (100, 1_000, 10_000, 100_000)
SCALING_RUNS = 3


def random_stroke(rng, geom, cam, T_cam_base, frame):
    """Mouse samples (pixels) of a smooth random curve on the visible skin, or None.
    Ends drawn in the skin's (u, y) parameters, so it works on any phantom shape."""
    half = geom.length / 2 - Y_MARGIN
    for _ in range(100):
        y = rng.uniform(geom.center_y - half, geom.center_y + half, 2)
        u = rng.uniform(*U_FRACTION_RANGE, 2) * geom.u_max(y)
        p_ends, _ = geom.surface_point(u, y)
        chord = float(np.linalg.norm(p_ends[1] - p_ends[0]))
        if not 0.04 <= chord <= 0.25:
            continue
        n = int(rng.integers(4, 9))
        s = np.linspace(0.0, 1.0, n)
        m_u = geom.arc_per_u(float(u.mean()), float(y.mean()))
        bulge = rng.uniform(-0.3, 0.3) * np.sin(np.pi * s)  # sideways, as a fraction
        u_s = u[0] + s * (u[1] - u[0]) + bulge * (y[1] - y[0]) / m_u
        y_s = y[0] + s * (y[1] - y[0]) - bulge * m_u * (u[1] - u[0])
        frac = u_s / geom.u_max(y_s)
        if np.any(frac < U_FRACTION_RANGE[0]) or np.any(frac > U_FRACTION_RANGE[1]):
            continue
        if np.any(np.abs(y_s - geom.center_y) > half):
            continue
        p, _ = geom.surface_point(u_s, y_s)
        pc = p @ T_cam_base[:3, :3].T + T_cam_base[:3, 3]
        px = cam.project(pc)
        if not np.all(cam.in_image(px)):
            continue
        r, c = np.rint(px[:, 1]).astype(int), np.rint(px[:, 0]).astype(int)
        if not np.all(frame.mask[r, c]):  # hidden behind something
            continue
        return px
    raise RuntimeError("could not draw a visible stroke")


def resampled(px: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples evenly along the polyline through ``px`` (its vertices included as
    far as the spacing allows)."""
    dense, t = densify(px, 0.01)
    u = np.linspace(0.0, t[-1], n)
    return np.column_stack([np.interp(u, t, dense[:, 0]), np.interp(u, t, dense[:, 1])])


def scaling(mapper: StrokeMapper, frame, px: np.ndarray) -> dict:
    """Map time (CPU ms, median) and peak traced memory (MB) per number of samples."""
    out = {}
    for n in SCALING_SIZES:
        stroke = resampled(px, n)
        cpu = []
        for _ in range(SCALING_RUNS):
            c0 = time.process_time()
            res = mapper.map(frame, stroke)
            cpu.append(1000 * (time.process_time() - c0))
        tracemalloc.start()
        mapper.map(frame, stroke)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[str(n)] = {
            "map_cpu_ms": float(np.median(cpu)),
            "peak_mb": peak / 2**20,
            "points": len(res.path),
            "length_mm": 1000 * res.length,
        }
    return out


def run(out_dir: Path, overrides: dict[str, object] | None = None) -> dict:
    from sim.cell import make_sim_cell

    overrides = {**(overrides or {}), "sim.camera.seed": SEED}
    if load_config(overrides=overrides).sim.profile == "ideal":
        overrides["sim.camera.depth_noise_std"] = IDEAL_DEPTH_NOISE
        overrides["sim.camera.dropout"] = IDEAL_DROPOUT
    cfg = load_config(overrides=overrides)
    cell = make_sim_cell(cfg)
    geom = cell.sim.geometry
    mapper = StrokeMapper(cfg.perception)
    mapper_nomask = StrokeMapper(cfg.perception)
    rng = np.random.default_rng(SEED)
    perr, nerr, ms, cpu_ms, lengths, gaps, failures = [], [], [], [], [], [], []
    ms_nomask, perr_nomask = [], []
    scale = None
    try:
        frame = None
        for k in range(N_STROKES):
            if k % STROKES_PER_FRAME == 0:
                frame = cell.camera.capture()
                cam = CameraModel(frame.intrinsics)
                T_cam_base = np.linalg.inv(frame.T_base_camera)
            px = random_stroke(rng, geom, cam, T_cam_base, frame)
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                res = mapper.map(frame, px)
                ms.append(1000 * (time.perf_counter() - t0))
                cpu_ms.append(1000 * (time.process_time() - c0))
            except StrokeError as exc:
                failures.append(f"stroke {k}: {exc.code}: {exc}")
                continue
            cp, cn = geom.closest_point(res.path.points)
            perr.append(1000 * np.linalg.norm(res.path.points - cp, axis=1))
            cosang = np.clip(np.sum(res.path.normals * cn, axis=1), -1, 1)
            nerr.append(np.degrees(np.arccos(cosang)))
            lengths.append(1000 * res.length)
            gaps.append(1000 * np.linalg.norm(np.diff(res.path.points, axis=0), axis=1).max())
            nomask = type(frame)(**{**frame.__dict__, "mask": None})
            try:
                t0 = time.perf_counter()
                res2 = mapper_nomask.map(nomask, px)
                ms_nomask.append(1000 * (time.perf_counter() - t0))
                cp2, _ = geom.closest_point(res2.path.points)
                perr_nomask.append(1000 * np.linalg.norm(res2.path.points - cp2, axis=1))
            except StrokeError as exc:
                failures.append(f"stroke {k} (no mask): {exc.code}: {exc}")
            if scale is None and res.length > 0.2:  # the first long stroke
                scale = scaling(mapper, frame, px)
    finally:
        cell.close()
    pe, ne = np.concatenate(perr), np.concatenate(nerr)
    pe2 = np.concatenate(perr_nomask) if perr_nomask else np.array([np.nan])
    result = {
        "point_err_mm_mean": float(pe.mean()),
        "point_err_mm_p95": float(np.percentile(pe, 95)),
        "normal_err_deg_mean": float(ne.mean()),
        "normal_err_deg_p95": float(np.percentile(ne, 95)),
        "map_ms_p50": float(np.median(ms)),
        # extras
        "point_err_mm_max": float(pe.max()),
        "normal_err_deg_max": float(ne.max()),
        "map_ms_p95": float(np.percentile(ms, 95)),
        "map_cpu_ms_p50": float(np.median(cpu_ms)),
        "n_strokes": N_STROKES,
        "n_mapped": len(ms),
        "n_points": len(pe),
        "stroke_length_mm_mean": float(np.mean(lengths)),
        "max_gap_mm": float(np.max(gaps)),
        "no_mask_point_err_mm_mean": float(np.mean(pe2)),
        "no_mask_point_err_mm_p95": float(np.percentile(pe2, 95)),
        "no_mask_map_ms_p50": float(np.median(ms_nomask)) if ms_nomask else None,
        "depth_noise_m": cfg.sim.camera.depth_noise_std,
        "depth_noise_quadratic_per_m": cfg.sim.camera.depth_noise_quadratic,
        "dropout": cfg.sim.camera.dropout,
        "edge_dropout": cfg.sim.camera.edge_dropout,
        "holes": cfg.sim.camera.holes,
        **plant_figures(cfg),
        "normal_radius_m": cfg.perception.normal_radius,
        "scaling": scale,
        "failures": failures,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{NAME}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench-results", help="output directory")
    add_plant_arguments(ap)
    args = ap.parse_args()
    r = run(Path(args.out), plant_overrides(args))
    print(f"plant: {r['sim_profile']} profile, {r['phantom_shape']} phantom")
    targets = {
        "point_err_mm_mean": 1.0,
        "point_err_mm_p95": 2.0,
        "normal_err_deg_mean": 2.0,
        "normal_err_deg_p95": None,
        "map_ms_p50": 50.0,
    }
    print(f"{'figure':<28}{'value':>10}{'target':>10}")
    for key, target in targets.items():
        t = f"<= {target:g}" if target is not None else "-"
        print(f"{key:<28}{r[key]:>10.3f}{t:>10}")
    extras = ("map_cpu_ms_p50", "no_mask_point_err_mm_mean", "no_mask_map_ms_p50", "max_gap_mm")
    for key in extras:
        v = r[key]
        print(f"{key:<28}{(v if v is not None else float('nan')):>10.3f}{'-':>10}")
    print(f"{r['n_mapped']} of {r['n_strokes']} strokes mapped, {r['n_points']} points")
    print(f"{'samples':>10}{'map cpu ms':>12}{'peak MB':>10}{'points':>8}{'mm':>8}")
    for n, v in (r["scaling"] or {}).items():
        print(
            f"{n:>10}{v['map_cpu_ms']:>12.1f}{v['peak_mb']:>10.1f}{v['points']:>8}"
            f"{v['length_mm']:>8.1f}"
        )
    for f in r["failures"]:
        print("  failed:", f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
