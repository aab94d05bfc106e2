"""``robot-us sim-scene``: save the simulated camera's view of the phantom as scene.npz."""

from __future__ import annotations

import argparse

from robot_us.output_paths import add_overwrite_flag

HELP = "save the simulated RGB-D camera's view of the phantom (scene.npz)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us sim-scene``."""
    p.add_argument("--out", required=True, help="scene.npz to write")
    p.add_argument("--config", action="append", default=[], help="TOML config file(s)")
    p.add_argument(
        "--noise", type=float, help="depth noise sigma (m), overrides sim.camera.depth_noise_std"
    )
    p.add_argument(
        "--dropout", type=float, help="fraction of invalid depth pixels (sim.camera.dropout)"
    )
    p.add_argument(
        "--no-mask", action="store_true", help="leave out the body mask (segment by geometry)"
    )
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Build the simulated cell, capture one frame, write it."""
    from pathlib import Path

    from robot_us.config import load_config
    from robot_us.output_paths import check_new_file, new_file
    from robot_us.perception_files import save_scene
    from sim.cell import make_sim_cell

    out = Path(args.out)
    if out.suffix != ".npz":  # numpy would append it: name the file it really writes
        out = out.with_name(out.name + ".npz")
    check_new_file(out, args.overwrite)
    overrides = {}
    if args.noise is not None:
        overrides["sim.camera.depth_noise_std"] = args.noise
    if args.dropout is not None:
        overrides["sim.camera.dropout"] = args.dropout
    cfg = load_config(*args.config, overrides=overrides)
    cell = make_sim_cell(cfg)
    try:
        frame = cell.camera.capture()
    finally:
        cell.close()
    if args.no_mask:
        frame.mask = None
    with new_file(out, args.overwrite) as tmp:
        save_scene(tmp, frame)
    h, w = frame.depth.shape
    print(f"saved the simulated camera's {w} x {h} view to {out}")
    return 0
