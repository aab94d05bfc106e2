"""``robot-us igtl``: the OpenIGTLink bridge to 3D Slicer. Live: a client of the robot-side
server (``--connect tcp://HOST:PORT``) publishing every ultrasound frame as an IMAGE
placed in the robot base frame and the probe pose as a TRANSFORM on ``--port`` (18944);
or the same from a recording (``--replay SCAN.mcap``) without a server."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

HELP = "stream tracked ultrasound frames to 3D Slicer over OpenIGTLink (live or replayed)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us igtl``."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--connect", metavar="URL", help="robot-side server, tcp://HOST:PORT")
    src.add_argument("--replay", type=Path, metavar="SCAN.mcap", help="replay a recording")
    p.add_argument("--port", type=int, default=18944, help="OpenIGTLink port (127.0.0.1)")
    p.add_argument(
        "--speed", type=float, default=1.0, help="replay speed (1 = as recorded, 0 = fastest)"
    )
    p.add_argument("--loop", action="store_true", help="replay again and again")
    p.add_argument(
        "--wait", type=float, default=60.0, metavar="S", help="wait this long for a client"
    )
    p.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("--key", type=Path, help="this client's NAME.key_secret (CurveZMQ)")
    p.add_argument("--server-key", type=Path, help="the server's server.key (CurveZMQ)")
    p.add_argument("--config", nargs="*", default=[], help="TOML files (live: the probe)")


def run(args: argparse.Namespace) -> int:
    """Serve until the recording ends, ``--frames`` are sent, or Ctrl-C."""
    from robot_us.config import load_config
    from robot_us.igtl_bridge import IgtlBridge, recorded_frames, replay, run_live

    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port {args.port} is outside 1..65535")
    if args.speed < 0:
        raise ValueError(f"--speed {args.speed} must be >= 0")
    if (args.key is None) != (args.server_key is None):
        raise ValueError("give both --key and --server-key, or neither")
    stop = threading.Event()
    if args.replay is not None:
        from robot_us.reconstruction.sweep import recorded_probe
        from robot_us.recording.reader import read_recording

        rec = read_recording(args.replay)
        if rec.status != "complete":
            print(f"robot-us igtl: {rec.status} recording: {rec.recovery}", file=sys.stderr)
        frames = recorded_frames(rec)
        if args.frames is not None:
            frames = frames[: args.frames]
        if not frames:
            raise ValueError(f"{args.replay}: no frame with a probe pose to replay")
        bridge = IgtlBridge(args.port, recorded_probe(rec))
    else:
        from robot_us.protocol.client import Client
        from robot_us.protocol.security import ClientKeys

        keys = ClientKeys.load(args.key, args.server_key) if args.key else None
        client = Client(args.connect, name="robot-us igtl", keys=keys, streams=("frames",))
        bridge = IgtlBridge(args.port, load_config(*args.config).probe)
    try:
        print(f"robot-us igtl: OpenIGTLink server on 127.0.0.1:{args.port}", file=sys.stderr)
        if not bridge.wait_client(args.wait):
            print(f"robot-us igtl: no client connected within {args.wait:g} s", file=sys.stderr)
            return 1
        if args.replay is not None:
            while True:
                replay(bridge, frames, args.speed, stop.is_set)
                if not args.loop or stop.is_set():
                    break
        else:
            with client:
                run_live(bridge, client, stop.is_set, args.frames)
    finally:
        bridge.close()
    print(f"robot-us igtl: sent {bridge.sent} frames")
    return 0
