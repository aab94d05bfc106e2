"""Benchmark of tracked 3D ultrasound reconstruction from the robot's own recordings.

Two simulated sweeps (lockstep simulation, Panda arm, linear probe 256 x 256 at 30 Hz,
5 N set-point; the plant of ``--profile`` / ``--shape``, default the realistic profile on
the torso, robot_us/plant_choice.py):
- the demo sweep: `robot-us demo`'s default stroke, 130 mm along the body at 10 mm/s,
  transverse plane (the vessels in cross-section, the rib's shadow skipped);
- a second sweep: about 100 mm across the body (centred on the top at y = +20 mm),
  transverse plane (the image plane along the body axis), with a 40 ms image latency
  injected in the simulator (`ultrasound.sim.latency`).
Figures: reconstruction time of the demo sweep at 0.5 mm voxels (compounding + hole
filling, median of 3), vessel centre line error and Dice against the phantom's true
vessels on both sweeps (with the default compression correction, and without it), and the
error of the lag estimated on the second sweep.
Writes DIR/reconstruction.json and prints a table.

    python bench/reconstruction.py --out bench-results [--profile P] [--shape S]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_us.config import load_config
from robot_us.plant_choice import add_plant_arguments, plant_figures, plant_overrides
from robot_us.reconstruction.accuracy import accuracy, recorded_phantom
from robot_us.reconstruction.outputs import compression_summary
from robot_us.reconstruction.reconstruct import reconstruct
from robot_us.recording import read_recording
from robot_us.scan.runner import RunOptions, run_scan
from sim.phantom_geometry import PhantomGeometry
from tests.scan_helpers import stroke_on_skin

#: The lag injected in the second sweep (s).
INJECTED_LAG = 0.04
#: Reconstruction timing repeats.
REPEATS = 3
#: The second sweep: arc length across the body (m) at this axial position (m).
ACROSS_LENGTH = 0.09
ACROSS_Y = 0.02


def _across_u(cfg) -> tuple[float, float]:
    """Surface parameters u of a stroke of ``ACROSS_LENGTH`` centred on the top (any shape)."""
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    half = 0.5 * ACROSS_LENGTH / g.arc_per_u(0.0, ACROSS_Y)
    return (-half, half)


def _sweep(out: Path, stroke, latency: float, plant: dict[str, object]) -> Path:
    if (out / "scan.mcap").exists():  # --recordings: reuse
        return out / "scan.mcap"
    cfg = load_config(overrides={**plant, "ultrasound.sim.latency": latency})
    opts = RunOptions(out_dir=out, stroke=stroke, plane="transverse", pictures=False)
    run = run_scan(cfg, opts)
    if run.recording is None:
        raise RuntimeError("the sweep wrote no recording")
    return run.recording


def _figures(path: Path, estimate: bool) -> dict:
    rec = read_recording(path)
    cfg = load_config().reconstruction
    sr = reconstruct(rec, cfg, estimate=estimate)
    phantom = recorded_phantom(rec.config)
    acc = accuracy(sr, phantom)
    plain_cfg = dataclasses.replace(cfg, compression_correction=False)
    plain = accuracy(reconstruct(rec, plain_cfg, estimate=estimate), phantom)
    times, cpu = [sr.timings["compound"]], [sr.timings["compound_cpu"]]
    for _ in range(REPEATS - 1):
        again = reconstruct(rec, dataclasses.replace(cfg, time_lag=sr.lag)).timings
        times.append(again["compound"])
        cpu.append(again["compound_cpu"])
    g = sr.recon.grid
    est = sr.lag_estimate
    return {
        "frames_used": len(sr.frames),
        "frames_left_out": sr.frames.left_out,
        "grid_shape": list(g.shape),
        "voxel_mm": g.spacing * 1e3,
        "extent_mm": [round(float(n * g.spacing * 1e3), 1) for n in g.shape],
        "path_length_mm": round(float((rec.summary or {}).get("plan", {}).get("length_mm", 0)), 1),
        "reconstruct_s": float(np.median(times)),
        "reconstruct_s_all": times,
        "reconstruct_cpu_s": float(np.median(cpu)),
        "lag_ms": sr.lag * 1e3,
        "lag_correlation": None if est is None else est.correlation,
        "lag_ok": None if est is None else est.ok,
        "accuracy": acc.to_dict(),
        "accuracy_uncorrected": plain.to_dict(),
        "compression": compression_summary(sr),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument(
        "--recordings",
        type=Path,
        help="folder of the two recordings: made there if missing, reused if present",
    )
    add_plant_arguments(ap)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = args.recordings or Path(tempfile.mkdtemp(prefix="recon-bench-"))
    plant = plant_overrides(args)
    cfg = load_config(overrides=plant)
    t0 = time.perf_counter()
    demo = _sweep(work / "demo", None, 0.0, plant)
    across = stroke_on_skin(cfg, _across_u(cfg), (ACROSS_Y, ACROSS_Y))
    second = _sweep(work / "across", across, INJECTED_LAG, plant)
    sim_s = time.perf_counter() - t0
    load_before = os.getloadavg()[0]
    d = _figures(demo, estimate=True)
    s = _figures(second, estimate=True)
    result = {
        "conditions": {
            "simulation": "lockstep, Panda, linear probe 60 mm, 256 x 256 px at 30 Hz, 5 N "
            "set-point, default [ultrasound.sim] (near field compresses 1 %/N over 30 mm)",
            "phantom": f"{cfg.sim.phantom.shape} phantom, two vessels "
            "(r 4.0 mm at 22 mm, r 5.5 mm at 36 mm depth)",
            **plant_figures(cfg),
            "demo_sweep": "default stroke, 130 mm along the body, 10 mm/s, transverse plane",
            "second_sweep": f"{ACROSS_LENGTH * 1e3:.0f} mm across the body at y = "
            f"{ACROSS_Y * 1e3:+.0f} mm, transverse plane, "
            f"{INJECTED_LAG * 1e3:.0f} ms image latency injected",
            "voxel_mm": 0.5,
            "machine": f"{os.cpu_count()} cores, load average {load_before:.1f} before the "
            f"reconstructions, {os.getloadavg()[0]:.1f} at the end",
        },
        "reconstruct_s": d["reconstruct_s"],
        "reconstruct_cpu_s": d["reconstruct_cpu_s"],
        "vessel_centreline_err_mm": d["accuracy"]["centreline_err_mm"],
        "vessel_dice": d["accuracy"]["dice"],
        "second_vessel_centreline_err_mm": s["accuracy"]["centreline_err_mm"],
        "second_vessel_dice": s["accuracy"]["dice"],
        "vessel_centreline_err_mm_uncorrected": d["accuracy_uncorrected"]["centreline_err_mm"],
        "vessel_dice_uncorrected": d["accuracy_uncorrected"]["dice"],
        "second_vessel_centreline_err_mm_uncorrected": s["accuracy_uncorrected"][
            "centreline_err_mm"
        ],
        "second_vessel_dice_uncorrected": s["accuracy_uncorrected"]["dice"],
        "temporal_lag_err_ms": abs(s["lag_ms"] - INJECTED_LAG * 1e3),
        "demo_lag_estimate_ms": d["lag_ms"],
        "demo": d,
        "second": s,
        **plant_figures(cfg),
        "simulation_wall_s": sim_s,  # ~0 when --recordings held both sweeps already
    }
    (out / "reconstruction.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        (
            "reconstruct_s (demo, 130 mm, 0.5 mm voxels)",
            f"{d['reconstruct_s']:.2f} s wall, {d['reconstruct_cpu_s']:.2f} s CPU",
        ),
        (
            "vessel centre line error, demo / second",
            f"{d['accuracy']['centreline_err_mm']:.2f} / "
            f"{s['accuracy']['centreline_err_mm']:.2f} mm",
        ),
        (
            "vessel Dice, demo / second",
            f"{d['accuracy']['dice']:.3f} / {s['accuracy']['dice']:.3f}",
        ),
        (
            "  without the compression correction",
            f"{d['accuracy_uncorrected']['centreline_err_mm']:.2f} / "
            f"{s['accuracy_uncorrected']['centreline_err_mm']:.2f} mm, Dice "
            f"{d['accuracy_uncorrected']['dice']:.3f} / {s['accuracy_uncorrected']['dice']:.3f}",
        ),
        ("lag estimate (40 ms injected) error", f"{result['temporal_lag_err_ms']:.1f} ms"),
        ("lag estimate on the demo (none injected)", f"{d['lag_ms']:.1f} ms"),
    ]
    for name, value in rows:
        print(f"{name:<46s} {value}")
    for label, f in (("demo", d), ("second", s)):
        for v in f["accuracy"]["vessels"]:
            print(
                f"  {label} vessel {v['vessel']}: centre line {v['centreline_err_mm']:.2f} mm "
                f"(max {v['centreline_max_mm']:.2f}, depth bias {v['bias_z_mm']:+.2f} mm)"
            )
    print(f"wrote {out / 'reconstruction.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
