"""Progress of a running scan: ``ProgressEstimate`` (the fraction done, from the planned
duration of each state) and a plain-text ``ProgressBar`` (no dependency): on a terminal
one line redrawn in place, elsewhere (logs, pipes) one line per state change, every 10 %
and at least every second.

    [##########..........]  48%  sweep     s  62/130 mm  t 14.2 s  quality 0.93
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from robot_us.config import Config
from robot_us.core.types import ScanPlan, SegmentKind
from robot_us.scan.states import ScanState

#: Planning time assumed by the estimate (s).
PLANNING_ESTIMATE_S = 0.1
#: Nominal settle time assumed by the estimate (s).
SETTLE_ESTIMATE_S = 1.0
#: Slack added to the retract's own duration (s).
RETRACT_SLACK_S = 0.5
#: Width of the bar (characters).
BAR_WIDTH = 24
#: Shortest time between two redraws on a terminal (s, wall clock).
REDRAW_S = 0.2
#: Progress step between two lines when not on a terminal (fraction) ...
LOG_STEP = 0.1
#: ... and the longest wall time between two such lines (s).
LOG_EVERY_S = 1.0


class ProgressEstimate:
    """Fraction of a scan done: the states of a scan in order, each with its planned or
    nominal duration; the sweep by arc length, the others by time in the state. Paused:
    where it paused; aborting or faulted: done (not estimated)."""

    def __init__(self, cfg: Config) -> None:
        fc = cfg.force_control.contact
        self._approach_s = cfg.trajectory.standoff / fc.approach_speed
        self._retract_s = fc.retract_distance / fc.retract_speed + RETRACT_SLACK_S
        # state -> (time before it, its duration) (s), set once planned
        self._table: dict[ScanState, tuple[float, float]] = {}
        self.total = 1.0

    def planned(self, plan: ScanPlan) -> None:
        """Set the durations from the plan."""
        seg = plan.segment_durations_s
        durations = (
            (ScanState.PLANNING, PLANNING_ESTIMATE_S),
            (ScanState.TRANSFER, seg.get(SegmentKind.TRANSFER.value, 1.0)),
            (ScanState.APPROACH, self._approach_s),
            (ScanState.SETTLE, SETTLE_ESTIMATE_S),
            (ScanState.SWEEP, seg.get(SegmentKind.SWEEP.value, 1.0)),
            (ScanState.RETRACT, self._retract_s),
        )
        before = 0.0
        for state, d in durations:
            self._table[state] = (before, d)
            before += d
        self.total = before

    def fraction(self, scan: Any, t: float) -> float:
        """Fraction (0..1) of ``scan`` done at loop time ``t`` (s)."""
        if scan.state is ScanState.DONE:
            return 1.0
        if not self._table:  # not planned yet
            return 0.0
        state = scan.active_state  # aborting or faulted: not estimated, the bar full
        before, d = self._table.get(state, (self.total, 0.0))
        if state is ScanState.SWEEP and scan.length > 0:
            done = before + d * scan.s / scan.length
        else:
            done = before + min(t - scan.t_state, d)
        return done / self.total


class ProgressBar:
    """Shows a scan's progress on ``stream`` (``None``: silent)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
        self._last_draw = 0.0
        self._last_state = ""
        self._last_logged = -1.0
        self._width = 0

    def update(
        self, fraction: float, state: str, t: float, s: float, length: float, quality: float | None
    ) -> None:
        """Report progress (``fraction`` 0..1 of the whole scan), the state name, loop
        time (s), arc length and path length (m) and the latest quality score."""
        if self.stream is None:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        changed = state != self._last_state
        now = time.monotonic()
        if self.tty:
            if not changed and now - self._last_draw < REDRAW_S:
                return
        elif (
            not changed
            and fraction < self._last_logged + LOG_STEP
            and now - self._last_draw < LOG_EVERY_S
        ):
            return
        self._last_state = state
        self._last_draw = now
        self._last_logged = fraction
        filled = round(fraction * BAR_WIDTH)
        q = "  -  " if quality is None else f"{quality:.2f}"
        line = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}  {state:<12s} "
            f"s {s * 1e3:5.0f}/{length * 1e3:.0f} mm  t {t:5.1f} s  quality {q}"
        )
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line on a terminal."""
        if self.stream is not None and self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
