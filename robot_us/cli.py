"""The ``robot-us`` command line: one module per subcommand under ``robot_us.commands``,
chosen from a registry. Command modules import heavy dependencies inside ``run`` only, so
``robot-us --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

from robot_us import __version__

#: Subcommand name -> module (each module has ``HELP``, ``add_arguments(parser)`` and
#: ``run(args) -> int``).
COMMANDS: dict[str, str] = {
    "config": "robot_us.commands.config",
    "calibrate": "robot_us.commands.calibrate",
    "map-stroke": "robot_us.commands.map_stroke",
    "sim-scene": "robot_us.commands.sim_scene",
    "demo": "robot_us.commands.demo",
    "quality": "robot_us.commands.quality",
    "train-quality": "robot_us.commands.train_quality",
    "plan": "robot_us.commands.plan",
    "recording": "robot_us.commands.recording",
    "bringup": "robot_us.commands.bringup",
}


class CommandError(RuntimeError):
    """A command failed on bad input; the message is printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="robot-us",
        description="Robotic ultrasound scanning: simulation, planning, force control, "
        "image quality.",
    )
    parser.add_argument("--version", action="version", version=f"robot-us {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``robot-us`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("robot-us: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, FileNotFoundError, LookupError) as exc:
        print(f"robot-us {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
