"""How the sweep reacts to image quality. Fed one ``QualityObservation`` per assessed frame
(the model's score and class, the out-of-distribution flag and reason, and two signals of
the confidence map; with the frame's time and arc length), it decides the speed override,
the force setpoint and whether to pause, and reports every adjustment with its cause, the
signal that triggered it and its arc length.

A frame is poor when the first of these signals fires (its name is the adjustment's
``signal``):

- ``ood``: the frame is not a B-mode image the model can judge (frozen, blank, saturated,
  noise, no speckle, flipped, unlike training; ``perception.quality.ood``). An image fault
  to report, never good imaging: the sweep slows at once, never raises the force for it,
  and pauses when it lasts ``persist_time`` (the span is not imaged);
- ``score``: the score (model x blur, gain and saturation factors) is below
  ``quality_threshold``;
- ``coverage``: fewer than ``coverage_threshold`` of the scanlines are confident (a lifted
  edge, a shadow across part of the face);
- ``confidence``: the mean confidence of the confident scanlines is below
  ``confidence_threshold`` (the coupled part of the face does not see deep).
Signals that were not computed (NaN: no confidence map) are skipped.

Levels (one drop of quality is one *span* of the path):

- ``GOOD``: nominal speed; the force is at (or stepping back down to) the nominal setpoint.
- ``SLOW``: a poor frame: the sweep slows to ``slow_override``.
- ``RAISE``: the drop persisted ``persist_time``: the force setpoint rises by
  ``force_step`` every ``force_step_interval`` up to ``force_max`` (not while the frames
  are out of distribution).
- ``PAUSE``: still poor ``persist_time`` after reaching ``force_max``, or out of
  distribution for ``persist_time``: the scan pauses; the span is reported as not imaged.
- ``SKIP``: resumed after a quality pause (operator or ``pause_timeout``): force back to
  nominal, still slow, crossing the span without further steps.

Quality counts as recovered when, for ``recover_time``, frames are in distribution, the
score stays at or above threshold + hysteresis and the confidence signals at or above
their thresholds; then the span closes (``slowed``, or ``not_imaged`` if it paused), the
speed returns to nominal and the force steps back down.

Pure logic (no clocks, no I/O): times and arc lengths come with each observation. Called
at the frame rate, not per cycle; it creates small event records only when it adjusts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from robot_us.scan.config import ScanConfig

#: Most spans kept per scan (later ones are counted in ``spans_dropped``).
MAX_SPANS = 256
_NONE: tuple = ()


@dataclass(frozen=True)
class QualityObservation:
    """What the policy sees of one assessed frame: its ``seq`` and time ``t`` (s, loop
    time), score (0..1) and class; whether it is out of distribution and why; the lateral
    coverage of confident scanlines and the mean confidence below the coupled part of the
    face (NaN when no confidence map was computed)."""

    seq: int
    t: float
    score: float
    label: str
    ood: bool = False
    ood_reason: str = ""
    coverage: float = float("nan")
    coupled_confidence: float = float("nan")

    @classmethod
    def of(cls, result: Any) -> QualityObservation:
        """The observation of a quality result (``perception.quality.assess.QualityResult``
        or anything with its fields; missing ones take their defaults)."""
        c = getattr(result, "confidence", None)
        nan = float("nan")
        return cls(
            seq=int(result.seq),
            t=float(result.t),
            score=float(result.score),
            label=str(getattr(result.quality, "value", result.quality)),
            ood=bool(getattr(result, "ood", False)),
            ood_reason=str(getattr(result, "ood_reason", "")),
            coverage=float(getattr(c, "coverage", nan)) if c is not None else nan,
            coupled_confidence=float(getattr(c, "coupled_mean", nan)) if c is not None else nan,
        )


#: Names of the signals that can trigger an adjustment, in the order they are checked.
SIGNALS = ("ood", "score", "coverage", "confidence")


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
    path (arc length ``s``, m); ``detail["signal"]`` names the signal that triggered a
    ``slow_down``, ``force_up`` or ``pause`` (``SIGNALS``)."""

    kind: str
    cause: str
    t: float
    s: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class QualitySpan:
    """A stretch of the path imaged with poor quality: arc lengths (m) and times (s) where
    it started and ended, the lowest score, the largest force setpoint used (N), whether
    the scan paused in it (then it could not be imaged), the poor frames per class, per
    triggering signal and per out-of-distribution reason."""

    s_from: float
    t_from: float
    s_to: float = float("nan")
    t_to: float = float("nan")
    min_score: float = 1.0
    max_force: float = 0.0
    paused: bool = False
    labels: dict[str, int] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    ood_reasons: dict[str, int] = field(default_factory=dict)

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
            "signals": dict(self.signals),
            "ood_reasons": dict(self.ood_reasons),
        }

    def count(self, obs: QualityObservation, signal: str) -> None:
        """Count a poor frame."""
        self.labels[obs.label] = self.labels.get(obs.label, 0) + 1
        self.signals[signal] = self.signals.get(signal, 0) + 1
        if obs.ood:
            self.ood_reasons[obs.ood_reason] = self.ood_reasons.get(obs.ood_reason, 0) + 1


class QualityPolicy:
    """The image-quality policy of one sweep (see the module doc)."""

    def __init__(self, cfg: ScanConfig, nominal_force: float) -> None:
        self.threshold = cfg.quality_threshold
        self.recovered_at = cfg.quality_threshold + cfg.quality_hysteresis
        self.coverage_threshold = cfg.coverage_threshold
        self.confidence_threshold = cfg.confidence_threshold
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
        self._t_ood0: float | None = None

    def set_nominal(self, nominal_force: float) -> None:
        """The operator changed the nominal force (N) during the sweep: a force the policy
        raised stays raised by as much above the new nominal."""
        raised = max(0.0, self.force - self.nominal)
        self.nominal = float(nominal_force)
        self.force = self.nominal + raised

    # -- observations ---------------------------------------------------------------------
    def trigger(self, obs: QualityObservation) -> str:
        """The first signal (``SIGNALS``) that calls ``obs`` poor, '' if none does."""
        if obs.ood:
            return "ood"
        if obs.score < self.threshold:
            return "score"
        if obs.coverage < self.coverage_threshold:  # False for NaN
            return "coverage"
        if obs.coupled_confidence < self.confidence_threshold:
            return "confidence"
        return ""

    def _recovered_frame(self, obs: QualityObservation) -> bool:
        if obs.ood or obs.score < self.recovered_at:
            return False
        cov, conf = obs.coverage, obs.coupled_confidence
        return not (cov < self.coverage_threshold or conf < self.confidence_threshold)

    def observe(self, obs: QualityObservation, s: float) -> tuple[Adjustment, ...]:
        """One assessed frame (``obs``, at loop time ``obs.t``) at arc length ``s`` (m)."""
        t, score = obs.t, obs.score
        signal = self.trigger(obs)
        good = self._recovered_frame(obs)
        self._t_ood0 = (t if self._t_ood0 is None else self._t_ood0) if obs.ood else None
        if self.level is PolicyLevel.GOOD:
            if signal:
                return self._start_drop(obs, s, signal)
            if good and self.force > self.nominal and t - self._t_step >= self.interval:
                return self._force_down(t, s)
            return _NONE
        span = self.span
        assert span is not None
        span.min_score = min(span.min_score, score)
        span.max_force = max(span.max_force, self.force)
        if not good:
            self._t_good0 = None
            if signal:
                span.count(obs, signal)
                return self._escalate(obs, s, signal)
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
    def _why(self, obs: QualityObservation, signal: str) -> str:
        """What the signal says about the frame, for a cause."""
        if signal == "ood":
            return f"image fault: not a usable B-mode image ({obs.ood_reason or 'unknown'})"
        if signal == "coverage":
            return (
                f"confident scanlines {obs.coverage:.0%} < {self.coverage_threshold:.0%} "
                f"({obs.label})"
            )
        if signal == "confidence":
            return (
                f"confidence below the coupled face {obs.coupled_confidence:.2f} < "
                f"{self.confidence_threshold:.2f} ({obs.label})"
            )
        return f"quality {obs.score:.2f} < {self.threshold:.2f} ({obs.label})"

    def _detail(self, obs: QualityObservation, signal: str, **extra: Any) -> dict[str, Any]:
        d: dict[str, Any] = {"signal": signal, "score": obs.score, "label": obs.label}
        if obs.ood:
            d["ood_reason"] = obs.ood_reason
        for key, value in (("coverage", obs.coverage), ("confidence", obs.coupled_confidence)):
            if not math.isnan(value):
                d[key] = value
        d.update(extra)
        return d

    def _start_drop(self, obs: QualityObservation, s: float, signal: str) -> tuple[Adjustment, ...]:
        t = obs.t
        self.level = PolicyLevel.SLOW
        self.override = self.slow_override
        self._t_poor0 = t
        self._t_good0 = None
        self.span = QualitySpan(s, t, min_score=obs.score, max_force=self.force)
        self.span.count(obs, signal)
        return (
            Adjustment(
                "slow_down",
                f"{self._why(obs, signal)}: speed to {self.slow_override:.0%}",
                t,
                s,
                self._detail(obs, signal, override=self.slow_override),
            ),
        )

    def _escalate(self, obs: QualityObservation, s: float, signal: str) -> tuple[Adjustment, ...]:
        t = obs.t
        level = self.level
        if signal == "ood":
            return self._image_fault(obs, s)
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
                    f"{self._why(obs, signal)} for {t - self._t_poor0:.1f} s: "
                    f"force {old:.1f} -> {self.force:.1f} N",
                    t,
                    s,
                    self._detail(obs, signal, force_N=self.force),
                ),
            )
        if t - self._t_step < self.persist:
            return _NONE
        return self._pause(obs, s, signal, f"at the largest force {self.force_max:.1f} N")

    def _image_fault(self, obs: QualityObservation, s: float) -> tuple[Adjustment, ...]:
        """Out-of-distribution frames: no force steps; pause once they last ``persist``."""
        t0 = self._t_ood0 if self._t_ood0 is not None else obs.t
        if self.level in (PolicyLevel.PAUSE, PolicyLevel.SKIP) or obs.t - t0 < self.persist:
            return _NONE
        return self._pause(
            obs, s, "ood", f"for {obs.t - t0:.1f} s", "; check the scanner and the frame grabber"
        )

    def _pause(
        self, obs: QualityObservation, s: float, signal: str, how: str, advice: str = ""
    ) -> tuple[Adjustment, ...]:
        self.level = PolicyLevel.PAUSE
        self.pause_requested = True
        span = self.span
        assert span is not None
        span.paused = True
        return (
            Adjustment(
                "pause",
                f"{self._why(obs, signal)} {how}: span from {span.s_from * 1e3:.1f} mm "
                f"not imaged{advice}",
                obs.t,
                s,
                self._detail(obs, signal, from_mm=span.s_from * 1e3),
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
