"""What a recording holds: the message dataclasses producers hand to the recorder
(``QualitySample``, ``ScanEvent``) and what ``read_recording`` gives back (``Recording``).
Times are loop time (s, the clock of the state log); SI units throughout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class QualitySample:
    """Image-quality result of one ultrasound frame (``seq``, frame time ``t`` in s)."""

    t: float
    seq: int
    label: str
    score: float
    mean_confidence: float
    scanline_confidence: np.ndarray | None = None
    s: float | None = None  # arc length on the path at the frame's time (m)
    ood: bool = False  # not a B-mode image the model can judge (an image fault)
    ood_reason: str = ""  # why (perception.quality.ood), '' when in distribution


@dataclass
class ScanEvent:
    """A scan event: a state transition, a fault, an adjustment (speed, force, pause).
    ``s`` is the arc length on the path (m) where it happened, None if not on the path."""

    t: float
    kind: str
    cause: str
    s: float | None = None
    state: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FrameRecord:
    """One recorded ultrasound frame with the probe pose and wrench at its time."""

    t: float
    seq: int
    image: np.ndarray
    spacing_m: tuple[float, float]
    T_base_probe: np.ndarray | None  # 4x4, base frame (m)
    wrench: np.ndarray | None  # [fx fy fz tx ty tz] (N, N·m)
    wrench_frame: str | None = None
    pose_source: str = "none"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class CameraRecord:
    """The camera capture at scan start: RGB (HxWx3 uint8), depth (HxW float32, m),
    intrinsics (3x3 K, distortion) and the camera pose if known."""

    t: float
    rgb: np.ndarray | None
    depth: np.ndarray | None
    K: np.ndarray | None
    dist: np.ndarray | None
    T_base_camera: np.ndarray | None


@dataclass
class PlanRecord:
    """The planned scan as recorded (see ``robot_us.core.types.ScanPlan``)."""

    poses: np.ndarray  # Nx4x4
    arc_length: np.ndarray  # N (m)
    joints: np.ndarray  # Nxn (rad)
    kinds: list[str]
    speed_m_s: float
    duration_s: float
    robot: str
    plane: str


@dataclass
class TopicInfo:
    """One channel of a recording: topic, schema name, message count."""

    topic: str
    schema: str
    count: int


@dataclass
class Recording:
    """Everything read back from one recording file.

    ``state`` holds every state row (structured array, ``robot_us.state_log`` layout) if
    the full-rate stream was recorded, else the decimated rows. ``truncated`` is True
    when the file ends early (the writer crashed or was killed, or the file was cut):
    everything up to the last complete chunk is still here and ``truncation`` says at
    which byte the first incomplete record starts. Damage inside the file skips only the
    damaged chunks (``damaged`` byte ranges); every intact chunk is read.
    """

    path: str
    frames: list[FrameRecord]
    quality: list[QualitySample]
    state: np.ndarray
    state_full_rate: bool
    state_lost: int
    events: list[ScanEvent]
    plan: PlanRecord | None
    config: dict[str, Any] | None
    summary: dict[str, Any] | None
    camera: CameraRecord | None
    recorder_stats: dict[str, Any] | None
    topics: list[TopicInfo]
    metadata: dict[str, str]
    truncated: bool
    truncation: str
    start_t: float
    end_t: float
    #: byte ranges [start, end) skipped as damaged; what was outside them was recovered
    damaged: list[tuple[int, int]] = field(default_factory=list)
    #: ``complete``, ``truncated``, ``damaged`` or ``damaged, truncated``
    status: str = "complete"
    #: one line: status, truncation, damaged ranges and messages recovered
    recovery: str = ""
    messages_recovered: int = 0
    #: messages the writer wrote, when the file's summary survived (else None)
    messages_expected: int | None = None
    #: robot-us serve: the clients' commands (``/operator/commands``) and links (``/link``)
    operator_commands: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Span of the recorded message times (s)."""
        return max(0.0, self.end_t - self.start_t)
