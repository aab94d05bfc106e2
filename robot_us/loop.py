"""The 1 kHz loop runner: lockstep (simulated time, as fast as the machine allows) or real
time (absolute monotonic deadlines; late wake-ups and overruns counted; missed cycles
skipped, never caught up). Per-cycle compute time and lateness go into a preallocated
ring buffer; ``LoopStats`` reports p50/p99/max.

Real-time contract for the cycle callback: it receives the same ``LoopClock`` object every
cycle (read its fields, do not keep references to arrays you did not allocate), returns
True to keep running and False to stop, must not allocate large objects, block, log or
print. Compute time is measured around the callback; the plant step (pybullet) is
timed separately and excluded from compute.
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
from typing import ClassVar

import numpy as np

from robot_us.loop_clock import Deadlines, LoopClock
from robot_us.ring import ColumnRing

#: Default loop rate (Hz).
DEFAULT_RATE_HZ = 1000.0
#: Spin (busy-wait) window before a deadline, used only with a real-time scheduler (s).
DEFAULT_SPIN_S = 100e-6
#: Linux prctl option to set the timer slack (ns).
_PR_SET_TIMERSLACK = 29


class LoopMode(StrEnum):
    """How the loop advances time."""

    LOCKSTEP = "lockstep"
    REALTIME = "realtime"


class CycleRing(ColumnRing):
    """Preallocated ring buffer of per-cycle timing (us) and flags."""

    COLUMNS: ClassVar[dict[str, type]] = {
        "cycle": np.int64,
        "t": np.float64,
        "compute_us": np.float64,
        "lateness_us": np.float64,
        "plant_us": np.float64,
        "overrun": np.bool_,
    }
    cycle: np.ndarray
    t: np.ndarray
    compute_us: np.ndarray
    lateness_us: np.ndarray
    plant_us: np.ndarray
    overrun: np.ndarray

    def push(
        self,
        cycle: int,
        t: float,
        compute_us: float,
        lateness_us: float,
        plant_us: float,
        overrun: bool,
    ) -> None:
        """Record one cycle (overwrites the oldest record when full)."""
        i = self.count % self.capacity
        self.cycle[i] = cycle
        self.t[i] = t
        self.compute_us[i] = compute_us
        self.lateness_us[i] = lateness_us
        self.plant_us[i] = plant_us
        self.overrun[i] = overrun
        self.count += 1


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


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


def _set_timer_slack_ns(ns: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0) == 0
    except OSError:
        return False


class LoopRunner:
    """Runs a cycle callback at a fixed period, in lockstep or real time. Real time reads
    ``now_ns`` (a monotonic clock, ns) and waits with ``sleep`` (s); the deadline decisions
    are ``robot_us.loop_clock.Deadlines``."""

    def __init__(
        self,
        rate_hz: float = DEFAULT_RATE_HZ,
        mode: LoopMode | str = LoopMode.LOCKSTEP,
        ring_capacity: int = 60_000,
        late_threshold_us: float = 100.0,
        realtime_priority: int = 0,
        spin_s: float | None = None,
        now_ns: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1.0 <= rate_hz <= 10_000.0:
            raise ValueError(f"loop rate must be in [1, 10000] Hz, got {rate_hz}")
        self.period_s = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self.mode = LoopMode(mode)
        self.ring = CycleRing(ring_capacity)
        self.clock = LoopClock(period_s=self.period_s)
        self.late_threshold_us = late_threshold_us
        self.realtime_priority = realtime_priority
        self.spin_s = (
            spin_s if spin_s is not None else (DEFAULT_SPIN_S if realtime_priority > 0 else 0.0)
        )
        self.late_wakeups = 0
        self._wall_s = 0.0
        self._now_ns = now_ns  # the real-time clock (tests pass a fake one)
        self._sleep = sleep

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
            if self.mode is LoopMode.LOCKSTEP:
                self._run_lockstep(cycle, plant_step, limit)
            else:
                self._enter_realtime()
                self._run_realtime(cycle, plant_step, limit)
        finally:
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()
        return self.stats()

    def _run_lockstep(
        self,
        cycle: Callable[[LoopClock], bool],
        plant_step: Callable[[], None] | None,
        limit: int,
    ) -> None:
        clock, ring, period = self.clock, self.ring, self.period_s
        perf = time.perf_counter_ns
        wall0 = perf()
        n = 0
        while n < limit:
            t0 = perf()
            keep = cycle(clock)
            t1 = perf()
            if plant_step is not None:
                plant_step()
            t2 = perf()
            compute_us = (t1 - t0) * 1e-3
            clock.last_compute_us = compute_us
            ring.push(clock.k, clock.t, compute_us, 0.0, (t2 - t1) * 1e-3, False)
            clock.k += 1
            clock.t = clock.k * period
            n += 1
            if not keep:
                break
        self._wall_s = (perf() - wall0) * 1e-9

    def _run_realtime(
        self,
        cycle: Callable[[LoopClock], bool],
        plant_step: Callable[[], None] | None,
        limit: int,
    ) -> None:
        clock, ring = self.clock, self.ring
        spin_ns = round(self.spin_s * 1e9)
        mono = self._now_ns
        sleep = self._sleep
        start = mono()
        deadlines = Deadlines(
            clock, round(self.period_s * 1e9), start, self.late_threshold_us * 1e3
        )
        while clock.k < limit:  # loop time, skipped cycles included
            lateness_ns = deadlines.wake(mono())
            t0 = mono()
            keep = cycle(clock)
            t1 = mono()
            if plant_step is not None:
                plant_step()
            t2 = mono()
            compute_us = (t1 - t0) * 1e-3
            clock.last_compute_us = compute_us
            overrun = deadlines.finish(t2)  # skips missed deadlines, never catches up
            ring.push(clock.k, clock.t, compute_us, lateness_ns * 1e-3, (t2 - t1) * 1e-3, overrun)
            if not keep:
                break
            remaining = deadlines.sleep_ns(mono(), spin_ns)
            if remaining > 0:
                sleep(remaining * 1e-9)
            if spin_ns:
                while mono() < deadlines.deadline_ns:
                    pass
        self.late_wakeups += deadlines.late_wakeups
        self._wall_s = (mono() - start) * 1e-9

    def stats(self) -> LoopStats:
        """Timing summary of the records in the ring (the most recent ``capacity``)."""
        r = self.ring
        compute = r.ordered("compute_us")
        late = r.ordered("lateness_us")
        plant = r.ordered("plant_us")
        sim_t = r.count * self.period_s if self.mode is LoopMode.LOCKSTEP else self._wall_s
        wall = max(self._wall_s, 1e-9)
        return LoopStats(
            mode=self.mode.value,
            rate_hz=self.rate_hz,
            cycles=r.count,
            sim_time_s=sim_t,
            wall_time_s=self._wall_s,
            realtime_factor=(r.count * self.period_s) / wall,
            compute_us_p50=_pct(compute, 50),
            compute_us_p99=_pct(compute, 99),
            compute_us_max=float(compute.max()) if len(compute) else 0.0,
            lateness_us_p50=_pct(late, 50),
            lateness_us_p99=_pct(late, 99),
            lateness_us_max=float(late.max()) if len(late) else 0.0,
            plant_us_p50=_pct(plant, 50),
            plant_us_p99=_pct(plant, 99),
            overruns=self.clock.overruns,
            late_wakeups=self.late_wakeups,
            skipped_cycles=self.clock.skipped_cycles,
            achieved_rate_hz=r.count / wall,
        )
