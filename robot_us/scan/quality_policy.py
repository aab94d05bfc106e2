"""How the sweep reacts to image quality. Fed one quality score per assessed frame (with
the frame's time and arc length), it decides the speed override, the force setpoint and
whether to pause, and reports every adjustment with its cause and arc length.

Levels (one drop of quality is one *span* of the path):

- ``GOOD``: nominal speed; the force is at (or stepping back down to) the nominal setpoint.
- ``SLOW``: a score below ``quality_threshold``: the sweep slows to ``slow_override``.
- ``RAISE``: the drop persisted ``persist_time``: the force setpoint rises by
  ``force_step`` every ``force_step_interval`` up to ``force_max``.
- ``PAUSE``: still poor ``persist_time`` after reaching ``force_max``: the scan pauses; the
  span is reported as not imaged.
- ``SKIP``: resumed after a quality pause (operator or ``pause_timeout``): force back to
  nominal, still slow, crossing the span without further steps.

Quality counts as recovered when the score stays at or above threshold + hysteresis for
``recover_time``; then the span closes (``slowed``, or ``not_imaged`` if it paused), the
speed returns to nominal and the force steps back down.

Pure logic (no clocks, no I/O): times and arc lengths come with each observation. Called
at the frame rate, not per cycle; it creates small event records only when it adjusts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from robot_us.scan.config import ScanConfig

#: Most spans kept per scan (later ones are counted in ``spans_dropped``).
MAX_SPANS = 256
_NONE: tuple = ()


class PolicyLevel(IntEnum):
    """Where the policy is within a drop of quality (see the module doc)."""

    GOOD = 0
    SLOW = 1
    RAISE = 2
    PAUSE = 3
    SKIP = 4


@dataclass(frozen=True)
class Adjustment:
    """One adjustment the policy made: ``kind`` (``slow_down``, ``force_up``, ``pause``,
    ``speed_restored``, ``force_restore``, ``span``), its cause, when (s) and where on the
    path (arc length ``s``, m)."""

    kind: str
    cause: str
    t: float
    s: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class QualitySpan:
    """A stretch of the path imaged with poor quality: arc lengths (m) and times (s) where
    it started and ended, the lowest score, the largest force setpoint used (N), whether
    the scan paused in it (then it could not be imaged) and the poor frames per class."""

    s_from: float
    t_from: float
    s_to: float = float("nan")
    t_to: float = float("nan")
    min_score: float = 1.0
    max_force: float = 0.0
    paused: bool = False
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``not_imaged`` if the scan paused in it, else ``slowed``."""
        return "not_imaged" if self.paused else "slowed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (arc lengths in mm)."""
        return {
            "kind": self.kind,
            "from_mm": round(self.s_from * 1e3, 2),
            "to_mm": round(self.s_to * 1e3, 2),
            "t_from_s": round(self.t_from, 3),
            "t_to_s": round(self.t_to, 3),
            "min_score": round(self.min_score, 3),
            "max_force_N": round(self.max_force, 2),
            "labels": dict(self.labels),
        }


class QualityPolicy:
    """The image-quality policy of one sweep (see the module doc)."""

    def __init__(self, cfg: ScanConfig, nominal_force: float) -> None:
        self.threshold = cfg.quality_threshold
        self.recovered_at = cfg.quality_threshold + cfg.quality_hysteresis
        self.slow_override = cfg.slow_override
        self.persist = cfg.persist_time
        self.recover = cfg.recover_time
        self.step = cfg.force_step
        self.interval = cfg.force_step_interval
        self.force_max = cfg.force_max
        self.spans: list[QualitySpan] = []
        self.spans_dropped = 0
        self.reset(nominal_force)

    def reset(self, nominal_force: float) -> None:
        """Start a new sweep at ``nominal_force`` (N): nominal speed, no span open."""
        self.nominal = float(nominal_force)
        self.force = self.nominal
        self.override = 1.0
        self.level = PolicyLevel.GOOD
        self.pause_requested = False
        self.span: QualitySpan | None = None
        self._t_poor0 = 0.0
        self._t_good0: float | None = None
        self._s_good0 = 0.0
        self._t_step = -1e9

    def set_nominal(self, nominal_force: float) -> None:
        """The operator changed the nominal force (N) during the sweep: a force the policy
        raised stays raised by as much above the new nominal."""
        raised = max(0.0, self.force - self.nominal)
        self.nominal = float(nominal_force)
        self.force = self.nominal + raised

    # -- observations ---------------------------------------------------------------------
    def observe(self, t: float, s: float, score: float, label: str) -> tuple[Adjustment, ...]:
        """One assessed frame: time (s), arc length (m), score (0..1) and class."""
        poor = score < self.threshold
        good = score >= self.recovered_at
        if self.level is PolicyLevel.GOOD:
            if poor:
                return self._start_drop(t, s, score, label)
            if good and self.force > self.nominal and t - self._t_step >= self.interval:
                return self._force_down(t, s)
            return _NONE
        span = self.span
        assert span is not None
        span.min_score = min(span.min_score, score)
        span.max_force = max(span.max_force, self.force)
        if not good:
            self._t_good0 = None
            if poor:
                span.labels[label] = span.labels.get(label, 0) + 1
                return self._escalate(t, s, score)
            return _NONE
        if self._t_good0 is None:
            self._t_good0, self._s_good0 = t, s
        if t - self._t_good0 >= self.recover:
            return self._recovered(t, s)
        return _NONE

    def resumed(self, t: float, s: float) -> tuple[Adjustment, ...]:
        """The scan resumed after a quality pause: force back to nominal, cross the rest
        of the span slowly without further force steps."""
        if self.level is not PolicyLevel.PAUSE:
            return _NONE
        self.level = PolicyLevel.SKIP
        self.pause_requested = False
        old, self.force = self.force, self.nominal
        self._t_step = t
        return (
            Adjustment(
                "force_restore",
                f"quality pause over: force {old:.1f} -> {self.force:.1f} N, "
                f"crossing the span at {self.override:.0%} speed",
                t,
                s,
                {"force_N": self.force},
            ),
        )

    def finish(self, t: float, s: float) -> tuple[Adjustment, ...]:
        """The sweep reached its end: close an open span there."""
        if self.level is PolicyLevel.GOOD:
            return _NONE
        return self._close_span(t, s, s, "the path ended")

    # -- transitions ----------------------------------------------------------------------
    def _start_drop(self, t: float, s: float, score: float, label: str) -> tuple[Adjustment, ...]:
        self.level = PolicyLevel.SLOW
        self.override = self.slow_override
        self._t_poor0 = t
        self._t_good0 = None
        self.span = QualitySpan(s, t, min_score=score, max_force=self.force, labels={label: 1})
        return (
            Adjustment(
                "slow_down",
                f"quality {score:.2f} < {self.threshold:.2f} ({label}): speed to "
                f"{self.slow_override:.0%}",
                t,
                s,
                {"score": score, "label": label, "override": self.slow_override},
            ),
        )

    def _escalate(self, t: float, s: float, score: float) -> tuple[Adjustment, ...]:
        level = self.level
        if level is PolicyLevel.SLOW and t - self._t_poor0 >= self.persist:
            self.level = level = PolicyLevel.RAISE
            self._t_step = -1e9
        if level is not PolicyLevel.RAISE:
            return _NONE
        if self.force < self.force_max - 1e-9:
            if t - self._t_step < self.interval:
                return _NONE
            old = self.force
            self.force = min(self.force_max, self.force + self.step)
            self._t_step = t
            assert self.span is not None
            self.span.max_force = max(self.span.max_force, self.force)
            return (
                Adjustment(
                    "force_up",
                    f"quality {score:.2f} < {self.threshold:.2f} for "
                    f"{t - self._t_poor0:.1f} s: force {old:.1f} -> {self.force:.1f} N",
                    t,
                    s,
                    {"score": score, "force_N": self.force},
                ),
            )
        if t - self._t_step < self.persist:
            return _NONE
        self.level = PolicyLevel.PAUSE
        self.pause_requested = True
        assert self.span is not None
        self.span.paused = True
        return (
            Adjustment(
                "pause",
                f"quality stayed below {self.threshold:.2f} at the largest force "
                f"{self.force_max:.1f} N: span from {self.span.s_from * 1e3:.1f} mm not imaged",
                t,
                s,
                {"score": score, "from_mm": self.span.s_from * 1e3},
            ),
        )

    def _recovered(self, t: float, s: float) -> tuple[Adjustment, ...]:
        return self._close_span(t, s, self._s_good0, "quality recovered")

    def _close_span(self, t: float, s: float, s_end: float, why: str) -> tuple[Adjustment, ...]:
        span = self.span
        assert span is not None
        span.s_to = max(s_end, span.s_from)
        span.t_to = self._t_good0 if self._t_good0 is not None else t
        if len(self.spans) < MAX_SPANS:
            self.spans.append(span)
        else:
            self.spans_dropped += 1
        self.level = PolicyLevel.GOOD
        self.pause_requested = False
        self.span = None
        self._t_good0 = None
        self._t_step = t  # the force steps back down one interval from now
        out = [
            Adjustment(
                "span",
                f"{why}: {span.kind} from {span.s_from * 1e3:.1f} to {span.s_to * 1e3:.1f} mm "
                f"(lowest score {span.min_score:.2f})",
                t,
                s,
                span.as_dict(),
            )
        ]
        if self.override != 1.0:
            self.override = 1.0
            out.append(Adjustment("speed_restored", f"{why}: speed back to 100%", t, s, {}))
        return tuple(out)

    def _force_down(self, t: float, s: float) -> tuple[Adjustment, ...]:
        old = self.force
        self.force = max(self.nominal, self.force - self.step)
        self._t_step = t
        return (
            Adjustment(
                "force_restore",
                f"quality good: force {old:.1f} -> {self.force:.1f} N",
                t,
                s,
                {"force_N": self.force},
            ),
        )
