"""A plain-text progress bar for a running scan (no dependency): on a terminal one line
redrawn in place, elsewhere (logs, pipes) one line per state change, every 10 % and at
least every second.

    [##########..........]  48%  sweep     s  62/130 mm  t 14.2 s  quality 0.93
"""

from __future__ import annotations

import time
from typing import TextIO

#: Width of the bar (characters).
BAR_WIDTH = 24
#: Shortest time between two redraws on a terminal (s, wall clock).
REDRAW_S = 0.2
#: Progress step between two lines when not on a terminal (fraction) ...
LOG_STEP = 0.1
#: ... and the longest wall time between two such lines (s).
LOG_EVERY_S = 1.0


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
