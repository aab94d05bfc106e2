"""``robot-us keys``: make and list CurveZMQ key pairs for the robot-side server and its
clients (docs/protocol.md "Keys")."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "generate or list CurveZMQ keys for the server and its clients"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us keys``."""
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = sub.add_parser(
        "generate",
        help="write a new key pair NAME.key + NAME.key_secret",
        description="Write a new key pair DIR/NAME.key (public) and DIR/NAME.key_secret "
        "(secret, mode 0600). The server's pair is named 'server'; a client's public key "
        "goes into the server's DIR/clients/ to allow it.",
    )
    gen.add_argument("--out", type=Path, required=True, help="folder to write the keys into")
    gen.add_argument("--name", default="server", help="key name (default: server)")
    ls = sub.add_parser("list", help="list the keys of a folder and its clients/ allowlist")
    ls.add_argument("dir", type=Path, help="key folder")


def run(args: argparse.Namespace) -> int:
    """Generate a key pair or list keys."""
    # imported here: ``robot-us --help`` does not load zmq
    from robot_us.protocol.security import CLIENTS_DIR, generate_keys, list_keys

    if args.keys_command == "generate":
        try:
            public, secret = generate_keys(args.out, args.name)
        except FileExistsError as exc:  # the output policy: never replace a key
            from robot_us.output_paths import OutputExistsError

            raise OutputExistsError(str(exc)) from None
        print(f"public key: {public}\nsecret key: {secret} (keep it private)")
        if args.name == "server":
            print(f"allow a client: copy its NAME.key into {args.out / CLIENTS_DIR}/")
        else:
            print(f"allow it on a server: copy {public.name} into the server's {CLIENTS_DIR}/")
        return 0
    keys = list_keys(args.dir)
    if not keys:
        print(f"{args.dir}: no keys")
        return 0
    for k in keys:
        secret = "pair" if k.has_secret else "public"
        print(f"{k.role:8s} {k.name:20s} {k.public}  {secret:6s} {k.path}")
    return 0
