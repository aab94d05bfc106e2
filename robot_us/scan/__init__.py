"""The autonomous scan: the state machine that is the control cycle's reference provider
(``scan.py``), its transition table, the image-quality policy, planning outside the
loop, and the lockstep runner behind ``robot-us demo`` (see ``docs/scanning.md``).

Names load lazily so that ``robot_us.config`` (which imports ``robot_us.scan.config``)
does not import the whole stack."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Scan": "robot_us.scan.scan",
    "ScanConfig": "robot_us.scan.config",
    "ScanRequest": "robot_us.scan.messages",
    "ScanOutcome": "robot_us.scan.messages",
    "ScanState": "robot_us.scan.states",
    "ScanResult": "robot_us.scan.states",
    "ScanFault": "robot_us.scan.states",
    "Trigger": "robot_us.scan.states",
    "QualityPolicy": "robot_us.scan.quality_policy",
    "ScanPlanningError": "robot_us.scan.planning",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'robot_us.scan' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
