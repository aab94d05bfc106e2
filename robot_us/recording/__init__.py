"""Scan recording: an MCAP recorder (``Recorder``), a crash-tolerant reader
(``read_recording``), replay (``replay``) and export. Channels: ``channels.py`` and
``docs/recording.md``.

The names below load lazily so that ``robot_us.config`` (which imports this package's
``config`` module) does not pull in mcap and scipy."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Recorder": "robot_us.recording.recorder",
    "RecorderStats": "robot_us.recording.recorder",
    "RecordingError": "robot_us.recording.durable_writer",
    "RecordingFormatError": "robot_us.recording.reader",
    "read_recording": "robot_us.recording.reader",
    "replay": "robot_us.recording.replay",
    "export_recording": "robot_us.recording.export",
    "Recording": "robot_us.recording.contents",
    "FrameRecord": "robot_us.recording.contents",
    "QualitySample": "robot_us.recording.contents",
    "ScanEvent": "robot_us.recording.contents",
    "RecordingConfig": "robot_us.recording.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'robot_us.recording' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
