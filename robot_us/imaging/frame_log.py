"""The per-frame log of a lockstep scan (time, arc length, score, class, the simulator's
ground truth, timings) and the images kept for the report's pictures; both bounded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perception.quality.assess import QualityResult
from robot_us.core.types import UltrasoundFrame

#: Most frames logged (later frames are counted, not logged).
MAX_FRAME_LOG = 20_000


@dataclass
class FrameLog:
    """Per assessed frame: loop time (s), seq, arc length (m), score, class, scan state,
    the simulator's true score and class (NaN / '' for real frames), the mean confidence,
    and the grab and assessment times (ms). At most ``MAX_FRAME_LOG`` rows; frames beyond
    are counted in ``dropped``."""

    t: list[float] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    s: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    true_score: list[float] = field(default_factory=list)
    true_label: list[str] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    grab_ms: list[float] = field(default_factory=list)
    assess_ms: list[float] = field(default_factory=list)
    dropped: int = 0

    def __len__(self) -> int:
        return len(self.t)

    def append(
        self,
        frame: UltrasoundFrame,
        result: QualityResult,
        s: float,
        state: int,
        grab_ms: float,
        assess_ms: float,
    ) -> None:
        """Log one assessed frame (at arc length ``s``, m, in scan state ``state``)."""
        if len(self) >= MAX_FRAME_LOG:
            self.dropped += 1
            return
        meta = frame.meta or {}
        self.t.append(float(frame.t))
        self.seq.append(int(frame.seq))
        self.s.append(s)
        self.score.append(float(result.score))
        self.label.append(result.quality.value)
        self.state.append(state)
        self.true_score.append(float(meta.get("score", float("nan"))))
        self.true_label.append(str(meta.get("quality", "")))
        self.confidence.append(float(result.mean_confidence))
        self.grab_ms.append(grab_ms)
        self.assess_ms.append(assess_ms)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column as a numpy array."""
        return {k: np.asarray(v) for k, v in vars(self).items() if isinstance(v, list)}


@dataclass
class KeptImage:
    """An image kept for the pictures, with where and how good it was."""

    t: float
    seq: int
    s: float
    state: int
    score: float
    label: str
    image: np.ndarray
    spacing_m: tuple[float, float]
