"""``robot-us serve``: the robot-side server. Runs the configured cell (the pybullet sim by
default) in real time and serves the wire protocol on four ports from ``--port``
(docs/protocol.md): commands, state, ultrasound frames, events. Every session is recorded
to ``--record DIR/session-YYYYmmdd-HHMMSS.mcap``. Without ``--keys`` it listens on
loopback only. SIGINT / SIGTERM stop it, also while it starts: the arm holds where it
is, the imaging, planning and control processes stop, the recording is closed; exit
128 + the signal's number (130, 143), 1 if the control process failed."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

HELP = "run the robot-side server: the cell in real time, driven over ZeroMQ"

#: Signals that stop the server in order (exit 128 + the signal's number: 130, 143).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Default folder of the session recordings.
DEFAULT_RECORD_DIR = "robot-us-sessions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us serve``."""
    p.add_argument("--config", nargs="*", default=[], help="TOML files over the defaults")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else needs --keys)",
    )
    p.add_argument(
        "--port", type=int, default=5560, help="base port: commands; +1 state, +2 frames, +3 events"
    )
    p.add_argument(
        "--keys",
        type=Path,
        help="CurveZMQ key folder: server.key_secret and the allowlist clients/*.key "
        "(`robot-us keys generate --out DIR`)",
    )
    p.add_argument(
        "--record",
        type=Path,
        default=Path(DEFAULT_RECORD_DIR),
        help=f"folder for the session recordings (default ./{DEFAULT_RECORD_DIR})",
    )
    p.add_argument("--no-record", action="store_true", help="do not record the session")


def session_path(folder: Path) -> Path:
    """A new recording file in ``folder`` (never an existing one)."""
    from robot_us.output_paths import check_new_file

    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"session-{stamp}.mcap"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"session-{stamp}-{n}.mcap"
    return check_new_file(path)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from robot_us.protocol.endpoints import bind_refusal

    refusal = bind_refusal(args.host, args.keys is not None)
    if refusal is not None:  # before anything starts: exit 2 with this one line
        raise ValueError(refusal)
    from robot_us.config import load_config
    from robot_us.protocol.security import ServerKeys
    from robot_us.server.robot_server import RobotServer, ServerError, StartInterruptedError

    cfg = load_config(*args.config)
    keys = ServerKeys.load(args.keys) if args.keys is not None else None
    record = None if args.no_record else session_path(args.record)
    if cfg.loop.realtime_priority == 0:
        print(
            "robot-us serve: note: the control loop runs without real-time priority; on a "
            "busy machine its cycles overrun (set loop.realtime_priority, needs CAP_SYS_NICE)",
            file=sys.stderr,
        )
    server = RobotServer(
        cfg,
        host=args.host,
        port=args.port,
        keys=keys,
        record_path=record,
        config_files=tuple(str(c) for c in args.config),
    )
    stop = server.stop_event
    caught: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        # only noted here: the main thread's loop sees the event and stops in order
        caught.append(signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    summary: dict = {}
    try:
        try:
            server.start()
        except StartInterruptedError:
            pass  # a signal while starting: what started is stopped below
        except ServerError as exc:
            from robot_us.cli import CommandError

            raise CommandError(str(exc)) from None
        else:
            auth = "CurveZMQ keys" if keys is not None else "no keys: loopback only"
            print(
                f"robot-us serve: {cfg.cell.backend} cell in real time at "
                f"{cfg.loop.rate_hz:g} Hz; listening on tcp://{args.host}:{server.port} "
                f"(+1 state, +2 frames, +3 events; {auth})",
                file=sys.stderr,
            )
            if record is not None:
                print(f"robot-us serve: recording to {record}", file=sys.stderr)
            server.serve()
        summary = server.close()
    finally:
        server.close()  # (after an exception: stop the children, close the recording)
        for s, handler in previous.items():
            signal.signal(s, handler)
    loop = summary.get("loop") or {}
    if loop:
        print(
            f"robot-us serve: stopped; loop {loop.get('cycles', 0)} cycles, compute p99 "
            f"{loop.get('compute_us_p99', 0):.0f} us, overruns {loop.get('overruns', 0)}; "
            f"server wake-up gap p99 {summary.get('server_gap_us_p99', 0) / 1e3:.1f} ms, max "
            f"{summary.get('server_gap_us_max', 0) / 1e3:.1f} ms",
            file=sys.stderr,
        )
    if server.error:
        print(f"robot-us serve: error: {server.error}", file=sys.stderr)
        return 1
    if caught:
        name = signal.Signals(caught[0]).name
        print(f"robot-us serve: stopped by {name}", file=sys.stderr)
        return 128 + caught[0]
    return 0
