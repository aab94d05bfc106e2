"""Loop runner: lockstep determinism, ring buffer, real-time overrun/skip accounting."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_us.loop import CycleRing, LoopClock, LoopMode, LoopRunner
from robot_us.loop_clock import Deadlines


def test_ring_wraps_and_orders():
    r = CycleRing(4)
    for k in range(6):
        r.push(k, k * 0.001, float(k), 0.0, 0.0, False)
    assert len(r) == 4 and r.count == 6
    assert r.ordered("cycle").tolist() == [2, 3, 4, 5]


def test_ring_names_its_columns():
    r = CycleRing(4)
    assert r.overrun.dtype == np.bool_ and r.cycle.dtype == np.int64
    with pytest.raises(KeyError, match="no column 'count'"):
        r.ordered("count")  # an attribute, not a column
    with pytest.raises(ValueError, match="capacity"):
        CycleRing(0)


def test_lockstep_advances_simulated_time_and_counts_plant_steps():
    runner = LoopRunner(rate_hz=1000, mode="lockstep", ring_capacity=1000)
    seen = []
    plant = []

    def cycle(c: LoopClock) -> bool:
        seen.append((c.k, c.t))
        return True

    stats = runner.run(cycle, plant_step=lambda: plant.append(1), max_cycles=250)
    assert stats.cycles == 250 and len(plant) == 250
    assert seen[0] == (0, 0.0)
    assert seen[-1][0] == 249 and seen[-1][1] == pytest.approx(0.249)
    assert stats.sim_time_s == pytest.approx(0.25)
    assert stats.overruns == 0


def test_cycle_returning_false_stops():
    runner = LoopRunner(mode="lockstep", ring_capacity=100)
    stats = runner.run(lambda c: c.k < 9, max_cycles=1000)
    assert stats.cycles == 10


def test_lockstep_time_ignores_wall_time():
    """Lockstep loop time is simulated: a cycle slower than the period is neither an
    overrun nor a reason to skip, and t stays k periods."""
    runner = LoopRunner(rate_hz=1000, mode="lockstep", ring_capacity=100)
    seen = []

    def cycle(c: LoopClock) -> bool:
        seen.append((c.k, c.t))
        if c.k in (2, 3):
            time.sleep(0.002)  # two periods of wall time
        return True

    stats = runner.run(cycle, max_cycles=6)
    assert seen == [(k, pytest.approx(k * 1e-3)) for k in range(6)]
    assert stats.overruns == 0 and stats.skipped_cycles == 0
    assert runner.ring.ordered("compute_us")[2] >= 2000.0


PERIOD_NS = 1_000_000  # 1 kHz
MAX_CALLS = 20_000  # more cycle calls than any fake-clock test needs
START_NS = 5_000_000_000


class FakeTime:
    """A monotonic clock (ns) that only moves when the loop sleeps or a cycle works."""

    def __init__(self, oversleep_ns: int = 0) -> None:
        self.now = START_NS
        self.oversleep_ns = oversleep_ns
        self.sleeps: list[int] = []

    def now_ns(self) -> int:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s * 1e9))
        self.now += round(s * 1e9) + self.oversleep_ns


def run_fake(work_ns, *, oversleep_ns=0, late_threshold_us=100.0, **limits):
    """Run the real-time loop on a fake clock; the cycle with call index i takes
    ``work_ns(i)``. Returns (runner, fake time, [(call, wake time since start, k, t,
    consecutive overruns seen by the cycle)])."""
    fake = FakeTime(oversleep_ns)
    runner = LoopRunner(
        rate_hz=1000,
        mode=LoopMode.REALTIME,
        ring_capacity=1000,
        late_threshold_us=late_threshold_us,
        now_ns=fake.now_ns,
        sleep=fake.sleep,
    )
    seen = []

    def cycle(c: LoopClock) -> bool:
        i = len(seen)
        seen.append((i, fake.now - START_NS, c.k, c.t, c.consecutive_overruns))
        fake.now += work_ns(i)
        return i < MAX_CALLS  # a loop that stops counting cycles still ends

    runner.run(cycle, **limits)
    return runner, fake, seen


def test_realtime_overrun_skips_missed_deadlines_never_catches_up():
    """A 3.5-period cycle: the deadlines it ran over (k = 5, 6, 7) are skipped, and the
    next cycle waits for the next deadline (k = 8) instead of running at once to catch up."""
    runner, _, seen = run_fake(lambda i: 3_500_000 if i == 4 else 100_000, max_cycles=10)
    wakes = [w for _, w, _, _, _ in seen]
    ks = [k for _, _, k, _, _ in seen]
    assert ks == [0, 1, 2, 3, 4, 8, 9]
    assert wakes == [k * PERIOD_NS for k in ks]  # every cycle on its own deadline
    assert [t for _, _, _, t, _ in seen] == [pytest.approx(k * 1e-3) for k in ks]
    clock = runner.clock
    assert (clock.overruns, clock.skipped_cycles, clock.k) == (1, 3, 10)
    assert runner.ring.ordered("overrun").tolist() == [False] * 4 + [True] + [False] * 2
    assert runner.ring.ordered("lateness_us").tolist() == [0.0] * 7
    assert runner.late_wakeups == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4 * PERIOD_NS), min_size=1, max_size=30))
def test_every_cycle_starts_on_the_first_deadline_after_the_previous_one(work):
    """For any cycle durations: each cycle wakes exactly on its own deadline (k periods
    after the start), at the first deadline at or after the end of the previous cycle's
    work and at least one period later, never earlier (no catching up)."""
    n = len(work)
    runner, _, seen = run_fake(lambda i: work[i] if i < n else 0, max_cycles=5 * n + 5)
    assert len(seen) > n  # a cycle advances k by at most 5 here
    for i, w in enumerate(work):
        _, wake, k, t, _ = seen[i]
        assert wake == k * PERIOD_NS and t == pytest.approx(k * 1e-3)
        first = -(-max(wake + w, wake + PERIOD_NS) // PERIOD_NS) * PERIOD_NS  # ceil
        assert seen[i + 1][1] == first
    assert runner.clock.overruns == sum(w > PERIOD_NS for w in work)


def test_realtime_overrun_boundaries():
    """Work of exactly one period is on time; one ns more skips one deadline; work of
    exactly two periods skips one and the next cycle starts on time at the end."""
    work = {0: PERIOD_NS, 1: PERIOD_NS + 1, 2: 2 * PERIOD_NS}
    runner, _, seen = run_fake(lambda i: work.get(i, 0), max_cycles=8)
    assert [(k, w) for _, w, k, _, _ in seen] == [
        (0, 0),
        (1, PERIOD_NS),  # on time: exactly one period of work is no overrun
        (3, 3 * PERIOD_NS),  # k = 2 skipped
        (5, 5 * PERIOD_NS),  # k = 4 skipped, k = 5 (at the end of the work) runs
        (6, 6 * PERIOD_NS),
        (7, 7 * PERIOD_NS),
    ]
    assert (runner.clock.overruns, runner.clock.skipped_cycles) == (2, 2)


def test_consecutive_overruns_count_up_and_reset():
    runner, _, seen = run_fake(lambda i: 1_500_000 if i < 4 else 0, max_cycles=12)
    assert [n for *_, n in seen] == [0, 1, 2, 3, 4, 0, 0, 0]
    assert [k for _, _, k, _, _ in seen] == [0, 2, 4, 6, 8, 9, 10, 11]
    assert (runner.clock.overruns, runner.clock.skipped_cycles) == (4, 4)
    assert runner.clock.consecutive_overruns == 0


def test_late_wakeups_count_beyond_the_threshold():
    """Waking 150 us after the deadline is late (threshold 100 us); 100 us is not."""
    runner, fake, seen = run_fake(lambda i: 0, oversleep_ns=150_000, max_cycles=4)
    assert [w for _, w, _, _, _ in seen] == [0] + [k * PERIOD_NS + 150_000 for k in (1, 2, 3)]
    assert runner.late_wakeups == 3 and runner.clock.last_lateness_us == 150.0
    assert runner.ring.ordered("lateness_us").tolist() == [0.0, 150.0, 150.0, 150.0]
    assert fake.sleeps == [PERIOD_NS] + [PERIOD_NS - 150_000] * 3
    on_edge, _, _ = run_fake(lambda i: 0, oversleep_ns=100_000, max_cycles=4)
    assert on_edge.late_wakeups == 0


def test_realtime_duration_counts_skipped_periods():
    """100 periods of loop time with one 2.5-period cycle: 98 cycles run, 2 skipped."""
    runner, _, seen = run_fake(lambda i: 2_500_000 if i == 10 else 0, duration_s=0.1)
    assert len(seen) == 98 and runner.clock.skipped_cycles == 2
    assert seen[-1][2] == 99 and seen[-1][3] == pytest.approx(0.099)
    assert runner.stats().cycles == 98


def test_sleep_wakes_the_spin_window_before_the_deadline():
    d = Deadlines(LoopClock(1e-3), PERIOD_NS, 0, 100e3)
    assert d.finish(200_000) is False and d.deadline_ns == PERIOD_NS
    assert d.sleep_ns(300_000, 100_000) == 600_000  # wake 100 us early, then spin
    assert d.sleep_ns(300_000, 0) == 700_000
    assert d.sleep_ns(950_000, 100_000) == 0  # inside the spin window: no sleep
    Deadlines(LoopClock(1e-9), 1, 0, 100e3)  # any positive period
    with pytest.raises(ValueError, match=r"^loop period must be > 0 ns, got 0$"):
        Deadlines(LoopClock(1e-3), 0, 0, 100e3)


def test_realtime_on_the_real_clock_runs_its_cycles():
    """The real monotonic clock and sleep (no timing asserted: the machine is shared)."""
    runner = LoopRunner(rate_hz=1000, mode=LoopMode.REALTIME, ring_capacity=100)
    ks = []
    stats = runner.run(lambda c: ks.append(c.k) or True, max_cycles=20)
    assert ks == sorted(set(ks)) and ks[0] == 0 and runner.clock.k >= 20
    assert stats.cycles == len(ks) and stats.mode == "realtime"


def test_rejects_bad_rate_and_missing_limit():
    with pytest.raises(ValueError, match="rate"):
        LoopRunner(rate_hz=0)
    with pytest.raises(ValueError, match="max_cycles"):
        LoopRunner().run(lambda c: True)
