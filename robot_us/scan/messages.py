"""What goes into a scan and what comes out of it: the request (a surface path, or a camera
frame with a stroke on it), the outcome (result code, cause, where it ended, the spans of
poor image quality), a transition record, and the event sink the scan reports to (the
recorder's ``post_event`` has this signature)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from robot_us.core.types import RgbdFrame, SurfacePath
from robot_us.scan.quality_policy import QualitySpan
from robot_us.scan.states import ScanResult, ScanState

if TYPE_CHECKING:
    from robot_us.scan.planning import PlannedScan


@dataclass
class ScanRequest:
    """What to scan: a ``path`` on the skin (base frame), or an RGB-D ``frame`` and a
    ``stroke`` drawn on its image (N x 2 pixels, u column / v row) to map first, or a scan
    ``planned`` already (by the robot-side server, outside the control process). ``speed``
    (m/s) and ``plane`` override ``trajectory.speed`` / ``trajectory.plane``."""

    path: SurfacePath | None = None
    frame: RgbdFrame | None = None
    stroke: np.ndarray | None = None
    speed: float | None = None
    plane: str | None = None
    planned: PlannedScan | None = None

    def __post_init__(self) -> None:
        if (
            self.planned is None
            and self.path is None
            and (self.frame is None or self.stroke is None)
        ):
            raise ValueError(
                "a scan request needs a surface path, a camera frame and a stroke, or a plan"
            )


@dataclass
class Transition:
    """One state change: loop time (s), from, to, the trigger and its cause."""

    t: float
    src: ScanState
    dst: ScanState
    trigger: str
    cause: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "t": round(self.t, 4),
            "from": self.src.name.lower(),
            "to": self.dst.name.lower(),
            "trigger": self.trigger,
            "cause": self.cause,
        }


@dataclass
class ScanOutcome:
    """How a scan ended: result code, final state, the cause (fault description or abort
    reason; empty when done), the fault id (0 = none), loop time (s) and arc length (m)
    at the end, the path length (m) and the spans of poor image quality;
    ``bias_correction``: what the re-tare after the final retract changed in the F/T bias
    (sensor frame, N and N·m; the drift over the scan), None when none ran."""

    result: ScanResult
    state: ScanState
    cause: str
    fault: int
    t: float
    s: float
    length: float
    spans: list[QualitySpan] = field(default_factory=list)
    bias_correction: list[float] | None = None


class EventSink(Protocol):
    """Receives the scan's events (``Recorder.post_event`` matches): loop-safe, rare."""

    def post_event(
        self,
        t: float,
        kind: str,
        cause: str,
        s: float | None = None,
        state: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record one event (never blocks)."""
