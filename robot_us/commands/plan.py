"""``robot-us plan``: surface path (path.json) -> scan plan (plan.json)."""

from __future__ import annotations

import argparse

from robot_us.core.arms import ARMS
from robot_us.output_paths import add_overwrite_flag

HELP = "plan probe poses, joint solutions and timing for a surface path (path.json -> plan.json)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us plan``."""
    p.add_argument("--path", required=True, help="surface path file (path.json, base frame)")
    p.add_argument("--out", required=True, help="plan file to write (plan.json)")
    p.add_argument("--robot", choices=ARMS.names(), help="arm model (default: config)")
    p.add_argument(
        "--plane",
        choices=("longitudinal", "transverse"),
        help="imaging plane along or across the path (default: config)",
    )
    p.add_argument(
        "--speed", type=float, metavar="MM_S", help="scan speed in mm/s (default: config; <= 50)"
    )
    p.add_argument(
        "--allow-flip",
        action="store_true",
        help="if only the probe turned 180 deg about its axis is feasible, plan with it",
    )
    p.add_argument("--config", nargs="*", default=[], metavar="TOML", help="config files")
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Plan and write plan.json; errors (malformed path, infeasible path) raise ValueError."""
    import json

    from robot_us.config import load_config
    from robot_us.core.kinematics import ArmKinematics, probe_transform
    from robot_us.output_paths import check_new_file, new_file
    from robot_us.perception_files import load_path
    from robot_us.scan.planning import make_planner
    from trajectory.formats import plan_to_dict

    out = check_new_file(args.out, args.overwrite)
    overrides = {"robot.model": args.robot} if args.robot else None
    cfg = load_config(*args.config, overrides=overrides)
    path = load_path(args.path)
    speed = None if args.speed is None else args.speed * 1e-3  # the planner checks it
    kin = ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))
    q_start = kin.home(cfg.robot.q_home)
    planner = make_planner(cfg, kin)
    plan = planner.plan(
        path, q_start, plane=args.plane, speed=speed, allow_flip=args.allow_flip or None
    )
    with new_file(out, args.overwrite) as tmp:
        tmp.write_text(json.dumps(plan_to_dict(plan)))
    seg = ", ".join(f"{k} {v:.1f} s" for k, v in plan.segment_durations_s.items())
    print(
        f"planned {plan.arc_length.max() * 1e3:.1f} mm on the {plan.robot} ({plan.plane}"
        f"{', probe flipped' if plan.flipped else ''}): {len(plan.poses)} poses, "
        f"{plan.duration_s:.1f} s at {plan.speed_m_s * 1e3:.3g} mm/s ({seg}); "
        f"the arm allows up to {plan.max_speed_m_s * 1e3:.3g} mm/s; wrote {out}"
    )
    return 0
