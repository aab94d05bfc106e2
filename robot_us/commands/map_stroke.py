"""``robot-us map-stroke``: map an operator's stroke on a camera view onto the skin."""

from __future__ import annotations

import argparse

from robot_us.output_paths import add_overwrite_flag

HELP = "map a stroke drawn on a camera image (stroke.json) onto the skin -> path.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us map-stroke``."""
    p.add_argument("--scene", required=True, help="scene.npz (depth, K, T_base_camera, ...)")
    p.add_argument("--stroke", required=True, help='stroke.json: {"pixels": [[u, v], ...]}')
    p.add_argument("--out", required=True, help="path.json to write (base frame, metres)")
    p.add_argument(
        "--calibration",
        help="calibration.json: T_base_camera (and intrinsics) overriding the scene's "
        "(default: perception.calibration_file, else the scene's own)",
    )
    p.add_argument("--config", action="append", default=[], help="TOML config file(s)")
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Load, map, write; bad input raises an error naming the cause (exit 1)."""
    from perception.stroke_mapping import StrokeMapper
    from robot_us.config import load_config
    from robot_us.output_paths import check_new_file, new_file
    from robot_us.perception_files import (
        apply_calibration,
        load_calibration,
        load_scene,
        load_stroke,
        save_path,
    )

    check_new_file(args.out, args.overwrite)
    cfg = load_config(*args.config)
    frame = load_scene(args.scene)
    pixels = load_stroke(args.stroke)
    calib_path = args.calibration or cfg.perception.calibration_file
    if calib_path:
        apply_calibration(frame, load_calibration(calib_path), str(calib_path))
    if frame.T_base_camera is None:
        raise ValueError(
            f"{args.scene} has no T_base_camera and no calibration file was given: "
            "missing camera calibration (--calibration or perception.calibration_file)"
        )
    result = StrokeMapper(cfg.perception).map(frame, pixels)
    with new_file(args.out, args.overwrite) as tmp:
        save_path(tmp, result.path)
    print(
        f"mapped {len(pixels)} stroke pixels to {len(result.path)} points, "
        f"{1000 * result.length:.1f} mm on the skin "
        f"({int(result.filled.sum())} filled across depth holes, {result.trimmed} trimmed) "
        f"-> {args.out}"
    )
    return 0
