"""``robot-us config``: show the defaults, validate a config file, print the merged result."""

from __future__ import annotations

import argparse

HELP = "show the default configuration, or validate and print a merged configuration"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us config``."""
    p.add_argument("files", nargs="*", help="TOML files to merge over the defaults, in order")
    p.add_argument(
        "--defaults", action="store_true", help="print the commented default configuration"
    )


def run(args: argparse.Namespace) -> int:
    """Print the defaults or the validated merged configuration."""
    from robot_us.config import commented_defaults, dump_toml, load_config

    if args.defaults:
        print(commented_defaults(), end="")
        return 0
    cfg = load_config(*args.files)
    print(dump_toml(cfg), end="")
    return 0
