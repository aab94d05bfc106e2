"""The 1 kHz loop runner: lockstep (simulated time, as fast as the machine allows) or real
time (absolute monotonic deadlines; late wake-ups, overruns and missed deadlines counted;
missed cycles skipped, never caught up). ``LoopStats`` reports p50/p99/max of the compute time, the
wake-up lateness and the plant step over the whole run.

Real-time contract for the cycle callback: it receives the same ``LoopClock`` object every
cycle (read its fields, do not keep references to arrays you did not allocate), returns
True to keep running and False to stop, must not allocate large objects, block, log or
print. Compute time is measured around the callback; the plant step (pybullet) is
timed separately and excluded from compute. The loop keeps no per-cycle record of its
own: the clock hands the previous cycle's compute time and this cycle's lateness to the
callback, which writes them into the state stream (``robot_us.state_log``); the loop
only accumulates their distributions (``TimingHistogram``) for ``LoopStats``.

How time advances is a ``Pacer``: ``LockstepPacer`` (k -> k + 1, t = k x period) or
``RealtimePacer`` (sleeps to absolute deadlines; ``next_deadline`` decides what an overrun
skips). Both take the clock functions they use, so a test can drive them with a fake
clock.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Protocol

from robot_us.timing_histogram import TimingHistogram

#: Default loop rate (Hz).
DEFAULT_RATE_HZ = 1000.0
#: Spin (busy-wait) window before a deadline, used only with a real-time scheduler (s).
DEFAULT_SPIN_S = 100e-6
#: Wake-ups later than this count as late (us).
DEFAULT_LATE_THRESHOLD_US = 100.0
#: Linux prctl option to set the timer slack (ns).
_PR_SET_TIMERSLACK = 29


class LoopMode(StrEnum):
    """How the loop advances time."""

    LOCKSTEP = "lockstep"
    REALTIME = "realtime"


@dataclass
class LoopClock:
    """Per-cycle timing handed to the cycle callback (the same object every cycle)."""

    period_s: float
    k: int = 0  # cycle index since start (skipped cycles count)
    t: float = 0.0  # loop time (s): simulated in lockstep, since start in real time
    last_compute_us: float = 0.0  # compute time of the previous cycle's callback
    last_lateness_us: float = 0.0  # wake-up lateness of this cycle
    missed_in_row: int = 0  # deadlines missed since the last cycle that kept its own
    overruns: int = 0  # cycles that ended after their deadline
    skipped_cycles: int = 0  # deadlines missed in all (each skipped, never caught up)


@dataclass
class LoopStats:
    """Summary of a loop run; times in microseconds unless named otherwise."""

    mode: str
    rate_hz: float
    cycles: int
    sim_time_s: float
    wall_time_s: float
    realtime_factor: float
    compute_us_p50: float
    compute_us_p99: float
    compute_us_max: float
    lateness_us_p50: float
    lateness_us_p99: float
    lateness_us_max: float
    plant_us_p50: float
    plant_us_p99: float
    overruns: int
    late_wakeups: int
    skipped_cycles: int
    achieved_rate_hz: float

    def as_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def next_deadline(deadline_ns: int, period_ns: int, t_end_ns: int) -> tuple[int, int]:
    """The next wake-up after a cycle that woke at ``deadline_ns`` and ended (plant step
    included) at ``t_end_ns``, and how many deadlines it skipped: the first deadline of
    the grid ``deadline_ns + i period_ns`` (i >= 1) not yet passed at ``t_end_ns``; every
    deadline already passed is skipped, none is run late to catch up. A cycle ending
    exactly on the next deadline is on time."""
    missed = max(0, (t_end_ns - deadline_ns - 1) // period_ns)
    return deadline_ns + (missed + 1) * period_ns, missed


class Pacer(Protocol):
    """How the loop waits for a cycle and advances its clock."""

    late_wakeups: int  # wake-ups later than the late threshold

    def now(self) -> int:
        """A monotonic time stamp (ns) for the loop's own timing."""
        ...

    def start(self, clock: LoopClock) -> None:
        """Called once before the first cycle."""
        ...

    def wait(self, clock: LoopClock) -> None:
        """Wait for the next cycle; set ``clock.t`` and ``clock.last_lateness_us``."""
        ...

    def advance(self, clock: LoopClock, t_end_ns: int) -> bool:
        """After a cycle that ended at ``t_end_ns``: advance ``clock.k``, count overruns
        and missed deadlines (``clock.missed_in_row``); return whether the cycle overran."""
        ...


class LockstepPacer:
    """Simulated time: every cycle is on time; t = k x period."""

    def __init__(self, period_s: float, now: Callable[[], int] = time.perf_counter_ns) -> None:
        self.period_s = period_s
        self.now = now
        self.late_wakeups = 0  # never late

    def start(self, clock: LoopClock) -> None:
        """Nothing to set up."""

    def wait(self, clock: LoopClock) -> None:
        """No waiting: loop time is the cycle index times the period."""
        clock.t = clock.k * self.period_s
        clock.last_lateness_us = 0.0

    def advance(self, clock: LoopClock, t_end_ns: int) -> bool:
        """Next cycle; never an overrun."""
        clock.k += 1
        return False


class RealtimePacer:
    """Absolute deadlines every ``period_s`` of ``now`` (ns); sleeps with ``sleep`` (s) and
    spins the last ``spin_s`` before each deadline; overruns skip missed deadlines."""

    def __init__(
        self,
        period_s: float,
        spin_s: float = 0.0,
        late_threshold_us: float = DEFAULT_LATE_THRESHOLD_US,
        now: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.period_ns = round(period_s * 1e9)
        self.spin_ns = round(spin_s * 1e9)
        self.late_ns = late_threshold_us * 1e3
        self.now = now
        self.sleep = sleep
        self.start_ns = 0
        self.deadline = 0  # wake-up time of the current cycle (ns)
        self.late_wakeups = 0

    def start(self, clock: LoopClock) -> None:
        """The first deadline is now."""
        self.start_ns = self.deadline = self.now()

    def wait(self, clock: LoopClock) -> None:
        """Sleep (then spin) until the deadline; measure how late the wake-up was."""
        now, deadline = self.now, self.deadline
        remaining = deadline - now() - self.spin_ns
        if remaining > 0:
            self.sleep(remaining * 1e-9)
        if self.spin_ns:
            while now() < deadline:
                pass
        lateness_ns = now() - deadline
        if lateness_ns > self.late_ns:
            self.late_wakeups += 1
        clock.last_lateness_us = lateness_ns * 1e-3
        clock.t = (deadline - self.start_ns) * 1e-9

    def advance(self, clock: LoopClock, t_end_ns: int) -> bool:
        """Next deadline on the grid; an overrun skips every deadline already passed.
        ``clock.missed_in_row`` grows by the deadlines this cycle missed (a stall of N
        periods misses N) and falls to 0 after a cycle that ended by its deadline."""
        self.deadline, missed = next_deadline(self.deadline, self.period_ns, t_end_ns)
        clock.k += missed + 1
        if missed:
            clock.skipped_cycles += missed
            clock.overruns += 1
            clock.missed_in_row += missed
        else:
            clock.missed_in_row = 0
        return missed > 0


def _set_timer_slack_ns(ns: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0) == 0
    except OSError:
        return False


class LoopRunner:
    """Runs a cycle callback at a fixed period, in lockstep or real time. ``now`` (ns) and
    ``sleep`` (s) replace the real-time clock (tests drive the loop with a fake clock)."""

    def __init__(
        self,
        rate_hz: float = DEFAULT_RATE_HZ,
        mode: LoopMode | str = LoopMode.LOCKSTEP,
        late_threshold_us: float = DEFAULT_LATE_THRESHOLD_US,
        realtime_priority: int = 0,
        spin_s: float | None = None,
        now: Callable[[], int] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not 1.0 <= rate_hz <= 10_000.0:
            raise ValueError(f"loop rate must be in [1, 10000] Hz, got {rate_hz}")
        self.period_s = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self.mode = LoopMode(mode)
        self.clock = LoopClock(period_s=self.period_s)
        self.realtime_priority = realtime_priority
        if spin_s is None:
            spin_s = DEFAULT_SPIN_S if realtime_priority > 0 else 0.0
        self.pacer: Pacer
        if self.mode is LoopMode.LOCKSTEP:
            self.pacer = LockstepPacer(self.period_s, now or time.perf_counter_ns)
        else:
            self.pacer = RealtimePacer(
                self.period_s,
                spin_s,
                late_threshold_us,
                now or time.monotonic_ns,
                sleep or time.sleep,
            )
        self.compute = TimingHistogram()
        self.lateness = TimingHistogram()
        self.plant = TimingHistogram()
        self.cycles = 0  # cycles run (skipped ones not included)
        self._wall_s = 0.0

    # -- real-time process setup ------------------------------------------------------
    def _enter_realtime(self) -> None:
        _set_timer_slack_ns(1)
        if self.realtime_priority > 0 and hasattr(os, "sched_setscheduler"):
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.realtime_priority))
            except PermissionError as exc:
                raise PermissionError(
                    f"loop.realtime_priority > 0 needs CAP_SYS_NICE (or an rtprio limit): {exc}"
                ) from exc

    # -- running ----------------------------------------------------------------------
    def run(
        self,
        cycle: Callable[[LoopClock], bool],
        plant_step: Callable[[], None] | None = None,
        max_cycles: int | None = None,
        duration_s: float | None = None,
    ) -> LoopStats:
        """Run ``cycle`` until it returns False, ``max_cycles`` periods (skipped ones
        included) or ``duration_s`` of loop time elapsed. ``plant_step`` advances a
        simulated world one period after each cycle (lockstep, or a sim in real time)."""
        if max_cycles is None and duration_s is None:
            raise ValueError("give max_cycles or duration_s (or both)")
        limit = max_cycles if max_cycles is not None else 2**62
        if duration_s is not None:
            limit = min(limit, round(duration_s / self.period_s))
        gc_was_enabled = gc.isenabled()
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            if self.mode is LoopMode.REALTIME:
                self._enter_realtime()
            self._loop(cycle, plant_step, self.clock.k + limit)
        finally:
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()
        return self.stats()

    def _loop(
        self,
        cycle: Callable[[LoopClock], bool],
        plant_step: Callable[[], None] | None,
        end_k: int,
    ) -> None:
        clock, pacer = self.clock, self.pacer
        now = pacer.now
        compute, lateness, plant = self.compute.add, self.lateness.add, self.plant.add
        wall0 = now()
        pacer.start(clock)
        while clock.k < end_k:  # loop time, skipped cycles included
            pacer.wait(clock)
            t0 = now()
            keep = cycle(clock)
            t1 = now()
            if plant_step is not None:
                plant_step()
            t2 = now()
            clock.last_compute_us = compute_us = (t1 - t0) * 1e-3
            compute(compute_us)
            lateness(clock.last_lateness_us)
            plant((t2 - t1) * 1e-3)
            self.cycles += 1
            pacer.advance(clock, t2)
            if not keep:
                break
        self._wall_s = (now() - wall0) * 1e-9

    @property
    def late_wakeups(self) -> int:
        """Wake-ups later than the late threshold (real time only)."""
        return self.pacer.late_wakeups

    def stats(self) -> LoopStats:
        """Timing summary of every cycle run so far."""
        n = self.cycles
        sim_t = n * self.period_s if self.mode is LoopMode.LOCKSTEP else self._wall_s
        wall = max(self._wall_s, 1e-9)
        c, lt, p = self.compute, self.lateness, self.plant
        return LoopStats(
            mode=self.mode.value,
            rate_hz=self.rate_hz,
            cycles=n,
            sim_time_s=sim_t,
            wall_time_s=self._wall_s,
            realtime_factor=(n * self.period_s) / wall,
            compute_us_p50=c.percentile(50),
            compute_us_p99=c.percentile(99),
            compute_us_max=c.max,
            lateness_us_p50=lt.percentile(50),
            lateness_us_p99=lt.percentile(99),
            lateness_us_max=lt.max,
            plant_us_p50=p.percentile(50),
            plant_us_p99=p.percentile(99),
            overruns=self.clock.overruns,
            late_wakeups=self.late_wakeups,
            skipped_cycles=self.clock.skipped_cycles,
            achieved_rate_hz=n / wall,
        )
