"""The loop clock: the per-cycle timing the cycle callback sees (``LoopClock``) and the
real-time deadline decisions (``Deadlines``): absolute deadlines ``start + k * period``,
late wake-ups, overruns, and skipping every deadline that has already passed (never
running cycles back to back to catch up). Pure: times are passed in (integer ns of a
monotonic clock), so tests drive it with a fake clock; ``robot_us.loop.LoopRunner`` feeds
it ``time.monotonic_ns``.

Real-time contract: integer arithmetic and attribute updates only, no allocation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoopClock:
    """Per-cycle timing handed to the cycle callback (the same object every cycle)."""

    period_s: float
    k: int = 0  # cycle index since start (skipped cycles count)
    t: float = 0.0  # loop time (s): simulated in lockstep, since start in real time
    last_compute_us: float = 0.0
    last_lateness_us: float = 0.0
    consecutive_overruns: int = 0
    overruns: int = 0
    skipped_cycles: int = 0


class Deadlines:
    """Absolute deadlines of a real-time loop of period ``period_ns`` started at
    ``start_ns``, kept in ``clock``. Per cycle: ``wake(now)`` when the cycle starts,
    ``finish(end)`` when its work (cycle and plant step) is done, then sleep
    ``sleep_ns(now, spin)`` and spin until ``deadline_ns``.

    A cycle whose work ends after the next deadline is an overrun: every deadline before
    the end is skipped and counted in ``clock.skipped_cycles``, ``clock.k`` jumps past
    them, and the next cycle starts at the first deadline at or after the end. A wake-up
    more than ``late_threshold_ns`` after its deadline counts in ``late_wakeups``."""

    def __init__(
        self, clock: LoopClock, period_ns: int, start_ns: int, late_threshold_ns: float
    ) -> None:
        if period_ns <= 0:
            raise ValueError(f"loop period must be > 0 ns, got {period_ns}")
        self.clock = clock
        self.period_ns = period_ns
        self.start_ns = start_ns
        self.late_threshold_ns = late_threshold_ns
        self.deadline_ns = start_ns  # wake-up time of the current cycle
        self.late_wakeups = 0

    def wake(self, now_ns: int) -> int:
        """A cycle starts at ``now_ns``: sets ``clock.t`` (s, its deadline since start) and
        ``clock.last_lateness_us``; returns the lateness (ns)."""
        lateness = now_ns - self.deadline_ns
        if lateness > self.late_threshold_ns:
            self.late_wakeups += 1
        clock = self.clock
        clock.last_lateness_us = lateness * 1e-3
        clock.t = (self.deadline_ns - self.start_ns) * 1e-9
        return lateness

    def finish(self, end_ns: int) -> bool:
        """The cycle's work ended at ``end_ns``: advance ``clock.k`` and the deadline,
        skipping the deadlines already passed; returns True on an overrun."""
        clock = self.clock
        deadline = self.deadline_ns
        period = self.period_ns
        if end_ns > deadline + period:
            missed = (end_ns - deadline - 1) // period  # deadlines passed after this one, >= 1
            clock.skipped_cycles += missed
            clock.k += missed + 1
            clock.overruns += 1
            clock.consecutive_overruns += 1
            self.deadline_ns = deadline + (missed + 1) * period
            return True
        clock.k += 1
        clock.consecutive_overruns = 0
        self.deadline_ns = deadline + period
        return False

    def sleep_ns(self, now_ns: int, spin_ns: int) -> int:
        """How long to sleep at ``now_ns`` (ns, >= 0) so as to wake ``spin_ns`` before the
        next deadline (then spin up to it)."""
        return max(0, self.deadline_ns - now_ns - spin_ns)
