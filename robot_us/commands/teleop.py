"""``robot-us teleop``: a terminal teleoperation client of a robot-side server. Shows the
force, the controller mode, the scan state and the link latency; moves the probe while a
motion key (or the SpaceMouse's deadman button) is held (``robot_us.teleop_console``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "teleoperate the probe from a terminal (keyboard or SpaceMouse)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us teleop``."""
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:5560",
        help="the server's command endpoint tcp://HOST:PORT (default tcp://127.0.0.1:5560)",
    )
    p.add_argument(
        "--keys",
        type=Path,
        help="folder with this client's NAME.key_secret and the server's server.key",
    )
    p.add_argument("--name", default="teleop", help="client name the server shows")
    p.add_argument(
        "--spacemouse",
        action="store_true",
        help="drive with a 3Dconnexion SpaceMouse (pip install -e '.[spacemouse]')",
    )


def client_keys(folder: Path):
    """The client keys in ``folder``: its one ``*.key_secret`` (not the server's) and the
    server's ``server.key``."""
    from robot_us.protocol.security import ClientKeys

    secrets = sorted(p for p in folder.glob("*.key_secret") if p.stem != "server")
    server = folder / "server.key"
    if len(secrets) != 1:
        raise ValueError(
            f"{folder}: expected exactly one client NAME.key_secret, found {len(secrets)}"
        )
    if not server.is_file():
        raise FileNotFoundError(f"{server}: copy the server's public key here")
    return ClientKeys.load(secrets[0], server)


def run(args: argparse.Namespace) -> int:
    """Connect, then run the terminal screen until Q."""
    from robot_us.protocol.client import (
        AuthenticationRefusedError,
        Client,
        NotConnectedError,
        RequestTimeoutError,
    )
    from robot_us.teleop_console import SpaceMouseInput, TeleopSession, run_terminal

    keys = client_keys(args.keys) if args.keys is not None else None
    if not sys.stdin.isatty():
        raise ValueError("robot-us teleop needs a terminal (stdin is not a tty)")
    client = Client(args.connect, name=args.name, keys=keys, timeout=2.0)
    try:
        try:
            client.connect()
        except (NotConnectedError, RequestTimeoutError, AuthenticationRefusedError) as exc:
            from robot_us.cli import CommandError

            raise CommandError(f"{args.connect}: {exc}") from None
        session = TeleopSession(client)
        if args.spacemouse:
            session.use_input(SpaceMouseInput(session.linear, session.angular))
        run_terminal(session)
    finally:
        client.close()
    return 0
