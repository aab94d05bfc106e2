"""Link statistics from the envelope times: round trip, jitter, clock offset and one-way
latency, NTP style. For one request/reply, with t1 (client sends) and t4 (client
receives) on the client's clock, t2 (``t_recv``) and t3 (the reply's ``t_sent``) on the
server's:

    delay  = (t4 - t1) - (t3 - t2)            round trip minus the server's hold time
    offset = ((t2 - t1) + (t3 - t4)) / 2      server clock minus client clock

The offset is exact when both directions take equally long; its error is at most delay/2.
Like NTP's clock filter, the estimate is the offset of the lowest-delay sample of the last
``window`` (queueing only ever adds delay, so that sample is the least skewed). Windows
are bounded; nothing grows."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

#: Samples kept for the offset filter and for the percentiles.
OFFSET_WINDOW = 16
STATS_WINDOW = 2048
#: Gain of the RFC 3550 interarrival jitter estimate.
JITTER_GAIN = 1.0 / 16.0


@dataclass(frozen=True)
class LinkSummary:
    """Round trip p50/p99/last and jitter (s), offset estimate and its bound (s), one-way
    latency of the streams p50/p99 (s), replies matched, requests lost, replies that matched
    no request, stream messages missed (sequence gaps). None where there is no sample."""

    rtt_p50: float | None
    rtt_p99: float | None
    rtt_last: float | None
    jitter: float | None
    offset: float | None
    offset_bound: float | None
    latency_p50: float | None
    latency_p99: float | None
    replies: int
    lost: int
    unmatched: int
    gaps: int


class LinkMonitor:
    """Collects samples on the client's I/O thread; ``summary()`` may be called anywhere."""

    def __init__(self, window: int = OFFSET_WINDOW, stats_window: int = STATS_WINDOW) -> None:
        self._filter: deque[tuple[float, float]] = deque(maxlen=window)  # (delay, offset)
        self._rtt: deque[float] = deque(maxlen=stats_window)
        self._latency: deque[float] = deque(maxlen=stats_window)
        self.offset = 0.0  # server clock minus client clock (s); 0 before the first reply
        self.offset_bound: float | None = None
        self.jitter: float | None = None
        self.rtt_last: float | None = None
        self.replies = 0
        self.lost = 0
        self.unmatched = 0
        self.gaps = 0

    def on_reply(self, t1: float, t2: float | None, t3: float, t4: float) -> None:
        """A reply matched its request: client send/receive times ``t1``/``t4`` (client
        clock), server receive/send times ``t2``/``t3`` (server clock; ``t2`` None if the
        reply has no ``t_recv``: then only the round trip counts)."""
        hold = (t3 - t2) if t2 is not None else 0.0
        delay = max(0.0, (t4 - t1) - max(0.0, hold))
        if self.rtt_last is not None:
            d = abs(delay - self.rtt_last)
            j = self.jitter
            self.jitter = d if j is None else j + (d - j) * JITTER_GAIN
        self.rtt_last = delay
        self._rtt.append(delay)
        self.replies += 1
        if t2 is None:
            return
        self._filter.append((delay, ((t2 - t1) + (t3 - t4)) / 2.0))
        best_delay, best_offset = min(self._filter)
        self.offset = best_offset
        self.offset_bound = best_delay / 2.0

    def on_stream(self, t_sent: float, t_recv_local: float) -> None:
        """A stream message sent at ``t_sent`` (server clock) arrived at ``t_recv_local``
        (client clock): its one-way latency with the current offset estimate."""
        self._latency.append(t_recv_local + self.offset - t_sent)

    def server_time(self, t_local: float) -> float:
        """``t_local`` (client clock) on the server's clock, as well as it is known."""
        return t_local + self.offset

    def summary(self) -> LinkSummary:
        """The figures so far."""
        rtt = np.fromiter(tuple(self._rtt), float) if self._rtt else None
        lat = np.fromiter(tuple(self._latency), float) if self._latency else None

        def pct(a: np.ndarray | None, q: float) -> float | None:
            return None if a is None else float(np.percentile(a, q))

        return LinkSummary(
            rtt_p50=pct(rtt, 50),
            rtt_p99=pct(rtt, 99),
            rtt_last=self.rtt_last,
            jitter=self.jitter,
            offset=self.offset if self.offset_bound is not None else None,
            offset_bound=self.offset_bound,
            latency_p50=pct(lat, 50),
            latency_p99=pct(lat, 99),
            replies=self.replies,
            lost=self.lost,
            unmatched=self.unmatched,
            gaps=self.gaps,
        )


def finite_or_none(x: float | None) -> float | None:
    """``x`` if it is a finite number, else None (for optional wire fields)."""
    return x if x is not None and math.isfinite(x) else None
