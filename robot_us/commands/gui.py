"""``robot-us gui``: the operator console, a client of a robot-side server (docs/console.md)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

HELP = "the operator console: draw, start and watch a scan, teleoperate (needs the gui extra)"

#: The module that runs the console (the top layer: started by name, never imported by
#: the package, like every command of cli.COMMANDS).
CONSOLE_MODULE = "gui.app"
MISSING_GUI = "the console needs the gui extra (PySide6, pyqtgraph): pip install -e '.[gui]'"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us gui``."""
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:5560",
        metavar="tcp://HOST:PORT",
        help="the server's command port (default tcp://127.0.0.1:5560)",
    )
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="CurveZMQ: a folder with this console's NAME.key_secret and the server's "
        "server.key (robot-us keys generate; docs/protocol.md)",
    )
    p.add_argument("--name", help="client name (default: the key's name, else 'console')")
    p.add_argument(
        "--observe",
        action="store_true",
        help="start observing: do not take control until asked",
    )


def run(args: argparse.Namespace) -> int:
    """Check the gui extra, load the keys, run the console until its window closes."""
    from robot_us.cli import CommandError
    from robot_us.protocol.endpoints import Endpoints
    from robot_us.protocol.security import ClientKeys

    Endpoints.parse(args.connect)  # a wrong URL is one line, before Qt starts
    keys, name = None, args.name or "console"
    if args.keys is not None:
        keys, key_name = ClientKeys.from_folder(args.keys)
        name = args.name or key_name
    try:  # lazily: Qt is an optional extra and slow to load
        import pyqtgraph  # noqa: F401
        import PySide6  # noqa: F401
    except ImportError as exc:
        raise CommandError(MISSING_GUI) from exc
    console = importlib.import_module(CONSOLE_MODULE)
    return console.run(args.connect, keys=keys, name=name, observe=args.observe)
