"""``robot-us recording``: inspect (``info``) and export (``export``) scan recordings."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

HELP = "inspect or export a scan recording (MCAP): info FILE, export FILE --out DIR"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us recording``."""
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="channels, counts, duration, truncated or not")
    info.add_argument("file", help="recording (.mcap)")
    info.add_argument("--json", action="store_true", help="print the figures as JSON")
    exp = sub.add_parser("export", help="frames as PNG, state as CSV and npz, the rest as JSON")
    exp.add_argument("file", help="recording (.mcap)")
    exp.add_argument("--out", required=True, help="output folder (created; refused if not empty)")
    exp.add_argument("--no-frames", action="store_true", help="skip the per-frame PNG files")


def _info(args: argparse.Namespace) -> int:
    from robot_us.recording.reader import read_recording

    path = Path(args.file)
    rec = read_recording(path)
    figures = {
        "file": str(path),
        "bytes": path.stat().st_size,
        "status": rec.status,
        "truncated": rec.truncated,
        "truncation": rec.truncation,
        "damaged": [list(r) for r in rec.damaged],
        "messages_recovered": rec.messages_recovered,
        "messages_expected": rec.messages_expected,
        "duration_s": round(rec.duration_s, 6),
        "start_t": round(rec.start_t, 6),
        "end_t": round(rec.end_t, 6),
        "frames": len(rec.frames),
        "quality": len(rec.quality),
        "state_rows": len(rec.state),
        "state_full_rate": rec.state_full_rate,
        "state_lost": rec.state_lost,
        "events": len(rec.events),
        "plan": rec.plan is not None,
        "summary": rec.summary is not None,
        "dropped": (rec.recorder_stats or {}).get("dropped", {}),
        "channels": [{"topic": t.topic, "schema": t.schema, "count": t.count} for t in rec.topics],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"file      {path}  ({figures['bytes'] / 1e6:.2f} MB, {rec.status})")
    if rec.status != "complete":
        print(f"recovery  {rec.recovery}")
    print(f"time      {rec.start_t:.3f} .. {rec.end_t:.3f} s  (duration {rec.duration_s:.3f} s)")
    rate = "full rate" if rec.state_full_rate else "decimated"
    print(
        f"contents  {len(rec.frames)} frames, {len(rec.quality)} quality, "
        f"{len(rec.state)} state rows ({rate}, {rec.state_lost} lost), {len(rec.events)} events"
    )
    print(f"dropped   {figures['dropped'] or 'nothing'}")
    width = max((len(t.topic) for t in rec.topics), default=5)
    print(f"\n{'topic':<{width}}  {'schema':<30} messages")
    for t in rec.topics:
        print(f"{t.topic:<{width}}  {t.schema:<30} {t.count}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from robot_us.output_paths import new_folder
    from robot_us.recording.export import export_recording
    from robot_us.recording.reader import read_recording

    rec = read_recording(args.file)
    new_folder(args.out)
    res = export_recording(rec, args.out, frames=not args.no_frames)
    note = f" ({rec.status} recording: {rec.recovery})" if rec.status != "complete" else ""
    print(f"exported {res.frames} frames and {res.state_rows} state rows to {res.out_dir}{note}")
    for f in res.files:
        print(f"  {f}")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {"info": _info, "export": _export}


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    return _ACTIONS[args.action](args)
