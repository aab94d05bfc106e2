"""``robot-us demo``: a whole autonomous scan in headless lockstep simulation. Captures the
simulated camera image, maps the stroke (the embedded default, or ``--stroke``) onto the
skin, plans, executes with force control and live image-quality assessment, and writes
``report.json``, the MCAP recording and pictures to ``--out`` (default ``./demo-output``).
Prints a progress bar (stderr) and a summary table; exit 1 if the scan did not finish."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot_us.core.arms import simulated_arms
from robot_us.plant_choice import add_plant_arguments, plant_overrides

HELP = "run a whole simulated scan (stroke -> map -> plan -> sweep) and write its report"

#: Default output folder.
DEFAULT_OUT = "demo-output"
#: The demo's imaging plane unless told otherwise.
DEFAULT_PLANE = "transverse"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us demo``."""
    p.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help="output folder, created; refused if it holds an earlier run",
    )
    p.add_argument(
        "--stroke", type=Path, help="stroke.json on the camera image (default: embedded stroke)"
    )
    p.add_argument("--robot", choices=simulated_arms(), help="arm model (overrides config)")
    p.add_argument(
        "--plane",
        choices=("longitudinal", "transverse", "config"),
        default=DEFAULT_PLANE,
        help=f"imaging plane (default {DEFAULT_PLANE}: vessels in cross-section, and the rib's "
        "shadow exercises the image-quality policy; 'config' = trajectory.plane)",
    )
    add_plant_arguments(p)
    p.add_argument(
        "--speed", type=float, metavar="MM_S", help="sweep speed in mm/s (default: config)"
    )
    p.add_argument(
        "--ft-transport",
        choices=("direct", "robotiq-ft300-emulated", "ati-netft-emulated"),
        help="serve the simulated wrench through a device emulator and read it back with the "
        "real driver (sim.ft_transport; raises safety.wrench_timeout to what the sensor needs)",
    )
    p.add_argument("--config", nargs="*", default=[], help="TOML files over the defaults")
    p.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the scan, print the summary; errors in the input raise (exit 1)."""
    from robot_us.config import load_config
    from robot_us.output_paths import new_folder
    from robot_us.perception_files import load_stroke
    from robot_us.scan.report import format_summary
    from robot_us.scan.runner import RunOptions, result_name, run_scan
    from robot_us.scan.signal_abort import SignalAbort
    from trajectory.config import MAX_SCAN_SPEED

    overrides = plant_overrides(args)
    if args.robot:
        overrides["robot.model"] = args.robot
    if args.ft_transport:
        overrides["sim.ft_transport"] = args.ft_transport
    cfg = load_config(*args.config, overrides=overrides)
    if args.ft_transport:
        from robot_us.sim_ft_transport import recommended_wrench_timeout

        timeout = recommended_wrench_timeout(args.ft_transport, cfg)
        if timeout != cfg.safety.wrench_timeout:
            overrides["safety.wrench_timeout"] = timeout
            cfg = load_config(*args.config, overrides=overrides)
    speed = None
    if args.speed is not None:
        if not 0.0 < args.speed <= MAX_SCAN_SPEED * 1e3:
            raise ValueError(
                f"--speed {args.speed} mm/s is outside (0, {MAX_SCAN_SPEED * 1e3:.0f}] mm/s"
            )
        speed = args.speed * 1e-3
    stroke, source = None, "default"
    if args.stroke is not None:
        stroke, source = load_stroke(args.stroke), str(args.stroke)
    interrupts = SignalAbort()
    opts = RunOptions(
        out_dir=new_folder(args.out),
        stroke=stroke,
        stroke_source=source,
        speed=speed,
        plane=None if args.plane == "config" else args.plane,
        progress=None if args.quiet else sys.stderr,
        pictures=not args.no_pictures,
        after_step=interrupts.after_step,
    )
    with interrupts:  # SIGINT / SIGTERM: abort the scan, write the report, close the file
        result = run_scan(cfg, opts)
    print(format_summary(result.report, "robot-us demo: autonomous scan (lockstep simulation)"))
    link = getattr(result.cycle.cell, "ft_link", None)
    if link is not None:
        from robot_us.sim_ft_transport import describe_link

        print(f"  {'F/T transport':<28s} {describe_link(cfg.sim.ft_transport, link)}")
    for name, path in result.files.items():
        print(f"  {name:<14s} {path}")
    if interrupts.interrupted:
        print(
            f"robot-us demo: interrupted by {interrupts.name}: the scan ended "
            f"{result_name(result)}: {result.outcome.cause}",
            file=sys.stderr,
        )
        return interrupts.exit_code
    if result_name(result) != "done":
        print(
            f"robot-us demo: the scan ended {result_name(result)}: {result.outcome.cause}",
            file=sys.stderr,
        )
        return 1
    return 0
