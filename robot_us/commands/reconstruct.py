"""``robot-us reconstruct SCAN.mcap --out volume.nrrd``: compound a recorded sweep into a 3D
volume in the robot base frame (mm) for 3D Slicer, with the imaged-voxel mask, the mapped
vessels, the probe path as a markups curve and a JSON summary beside it."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from robot_us.output_paths import add_overwrite_flag

HELP = "reconstruct a 3D volume (NRRD, robot base frame) from a recorded sweep"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us reconstruct``."""
    p.add_argument("file", type=Path, help="recording (.mcap)")
    p.add_argument("--out", type=Path, required=True, help="volume file (.nrrd)")
    p.add_argument("--spacing", type=float, metavar="MM", help="voxel size in mm (config)")
    p.add_argument(
        "--interpolation", choices=("nearest", "linear"), help="pixel splatting (config)"
    )
    p.add_argument(
        "--lag",
        metavar="MS|auto",
        help="image time lag in ms to apply, or 'auto' to estimate it from the sweep (config)",
    )
    p.add_argument("--config", nargs="*", default=[], help="TOML files over the defaults")
    add_overwrite_flag(p)


def _options(args: argparse.Namespace):
    """The reconstruction config with the command line's overrides."""
    from robot_us.config import load_config

    cfg = load_config(*args.config).reconstruction
    changes: dict = {}
    if args.spacing is not None:
        if not 0.1 <= args.spacing <= 5.0:
            raise ValueError(f"--spacing {args.spacing} mm is outside [0.1, 5] mm")
        changes["spacing"] = args.spacing * 1e-3
    if args.interpolation:
        changes["interpolation"] = args.interpolation
    if args.lag is not None:
        if args.lag == "auto":
            changes["estimate_lag"] = True
        else:
            try:
                lag_ms = float(args.lag)
            except ValueError:
                raise ValueError(f"--lag {args.lag!r}: give milliseconds or 'auto'") from None
            if not abs(lag_ms) <= 500:
                raise ValueError(f"--lag {lag_ms} ms is outside [-500, 500] ms")
            changes.update(time_lag=lag_ms * 1e-3, estimate_lag=False)
    return dataclasses.replace(cfg, **changes)


def run(args: argparse.Namespace) -> int:
    """Reconstruct, write the files, print a summary."""
    from robot_us.output_paths import check_new_file
    from robot_us.reconstruction.outputs import output_files, write_outputs
    from robot_us.reconstruction.reconstruct import reconstruct
    from robot_us.recording.reader import read_recording

    cfg = _options(args)
    for p in output_files(args.out).values():  # refuse before the long part
        check_new_file(p, args.overwrite)
    rec = read_recording(args.file)
    if rec.status != "complete":
        print(f"robot-us reconstruct: {rec.status} recording: {rec.recovery}", file=sys.stderr)
    sr = reconstruct(rec, cfg)
    files = write_outputs(sr, rec, cfg, args.out, args.overwrite)
    est = sr.lag_estimate
    if est is not None and not est.ok:
        print(
            f"robot-us reconstruct: lag not estimated ({est.reason}); "
            f"applied the configured {cfg.time_lag * 1e3:g} ms",
            file=sys.stderr,
        )
    g = sr.recon.grid
    left = ", ".join(f"{n} {why}" for why, n in sorted(sr.frames.left_out.items())) or "none"
    shape = " x ".join(str(n) for n in g.shape)
    print(f"frames     {len(sr.frames)} used of {len(rec.frames)}; left out: {left}")
    lag_note = f" (estimated, correlation {est.correlation:.3f})" if est and est.ok else ""
    print(f"time lag   {sr.lag * 1e3:.1f} ms{lag_note}")
    m = sr.compression
    if m is not None:
        deep = (m.shift_per_newton[-1] - m.face_per_newton) * 1e3
        print(f"pressure   compression corrected ({deep:.2f} mm/N deep, from the settle ramp)")
    elif sr.compression_note:
        print(f"pressure   compression not corrected: {sr.compression_note}")
    print(
        f"volume     {shape} voxels of {g.spacing * 1e3:g} mm, "
        f"{sr.recon.imaged.mean() * 100:.0f} % imaged, {int(sr.recon.filled.sum())} filled"
    )
    for v in sr.vessels.vessels:
        print(f"vessel {v.label}   {v.length * 1e3:.0f} mm long, radius {v.radius * 1e3:.1f} mm")
    print(f"took       {sr.timings['compound']:.2f} s to compound")
    for name, path in files.items():
        print(f"  {name:<8s} {path}")
    return 0
