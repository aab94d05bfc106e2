"""``robot-us report SCAN.mcap --out report.html``: the examination report of a recorded
scan as one self-contained HTML page (pictures embedded), for a reviewing clinician: the
camera view with the planned and executed path coloured by quality, the force trace,
key frames, spans not imaged and why, reconstruction slices with the mapped vessels,
timing and faults, configuration and software version."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot_us.output_paths import add_overwrite_flag

HELP = "write the examination report of a recorded scan (one self-contained HTML page)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us report``."""
    p.add_argument("file", type=Path, help="recording (.mcap)")
    p.add_argument("--out", type=Path, required=True, help="report file (.html)")
    p.add_argument("--config", nargs="*", default=[], help="TOML files ([reconstruction])")
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Read the recording, reconstruct, write the page."""
    from robot_us.config import load_config
    from robot_us.output_paths import check_new_file, new_file
    from robot_us.reconstruction.reconstruct import reconstruct
    from robot_us.recording.reader import read_recording
    from robot_us.report.html import build_report

    if args.out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out {args.out}: give an .html file name")
    check_new_file(args.out, args.overwrite)
    cfg = load_config(*args.config).reconstruction
    rec = read_recording(args.file)
    if rec.status != "complete":
        print(f"robot-us report: {rec.status} recording: {rec.recovery}", file=sys.stderr)
    sr, why = None, ""
    try:
        sr = reconstruct(rec, cfg)
    except ValueError as exc:  # no usable frame: the report says so
        why = str(exc)
    page = build_report(rec, sr, why)
    with new_file(args.out, args.overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    print(f"wrote {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0
