"""Loop runner: lockstep time, real-time deadlines driven by a fake clock (overruns skip
missed deadlines and never catch up, lateness, overrun and missed-deadline counters), the
timing histogram."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_us.loop import (
    LockstepPacer,
    LoopClock,
    LoopMode,
    LoopRunner,
    RealtimePacer,
    _set_timer_slack_ns,
    next_deadline,
)
from robot_us.timing_histogram import TimingHistogram
from tests.fake_clock import MS, FakeClock, realtime


# -- the deadline rule ------------------------------------------------------------------
def test_next_deadline_skips_every_passed_deadline_and_only_those():
    assert next_deadline(0, MS, MS // 2) == (MS, 0)  # on time
    assert next_deadline(0, MS, MS) == (MS, 0)  # ends exactly on the next deadline
    assert next_deadline(0, MS, MS + 1) == (2 * MS, 1)  # just late: one skipped
    assert next_deadline(5 * MS, MS, 8 * MS + MS // 2) == (9 * MS, 3)  # 3.5 ms overrun


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(1, 10**6),
    st.integers(0, 10**7),
)
def test_next_deadline_is_the_first_grid_deadline_not_yet_passed(deadline, period, work):
    nxt, missed = next_deadline(deadline, period, deadline + work)
    assert nxt == deadline + (missed + 1) * period  # on the grid
    assert nxt >= deadline + work  # not passed at the end of the cycle ...
    assert missed == 0 or nxt - period < deadline + work  # ... and the first such one


# -- real time on a fake clock ------------------------------------------------------------
def test_realtime_overrun_skips_missed_deadlines_never_catches_up():
    """A cycle that takes 3.5 periods: the deadlines it overran are skipped; the next
    cycle starts on the next grid deadline, not at once (catching up) and not late."""
    fake = FakeClock()
    runner = realtime(fake)
    starts, ks, t = [], [], []

    def cycle(c: LoopClock) -> bool:
        starts.append(fake.ns)
        ks.append(c.k)
        t.append(c.t)
        fake.work(3_500_000 if c.k == 4 else 200_000)
        return True

    runner.run(cycle, max_cycles=12)
    assert starts == [k * MS for k in (0, 1, 2, 3, 4, 8, 9, 10, 11)]
    assert ks == [0, 1, 2, 3, 4, 8, 9, 10, 11]
    assert t == pytest.approx([k * 1e-3 for k in ks])
    clock = runner.clock
    assert clock.skipped_cycles == 3 and clock.overruns == 1
    assert runner.cycles == 9
    # after the overrun the loop slept to the deadline (7.5 ms -> 8 ms)
    assert 500_000 in fake.sleeps


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4 * MS), min_size=1, max_size=25))
def test_every_cycle_starts_on_the_first_deadline_after_the_previous_one(work):
    """For any cycle durations, the real-time pacer as the loop uses it (wait, work,
    advance): each cycle wakes exactly on its own deadline (k periods after the start), at
    the first deadline at or after the end of the previous cycle's work and at least one
    period later (no catching up)."""
    fake = FakeClock()
    pacer = RealtimePacer(1e-3, now=fake.now, sleep=fake.sleep)
    clock = LoopClock(1e-3)
    pacer.start(clock)
    seen = []
    in_row, expected_in_row, run = [], [], 0
    for w in [*work, 0]:
        pacer.wait(clock)
        seen.append((fake.ns, clock.k, clock.t))
        fake.work(w)
        pacer.advance(clock, fake.ns)
        missed = max(0, (w - 1) // MS)  # deadlines passed while it worked
        in_row.append(clock.missed_in_row)
        run = run + missed if missed else 0
        expected_in_row.append(run)
    for (wake, k, t), (next_wake, _, _), w in zip(seen, seen[1:], work, strict=False):
        assert wake == k * MS and t == pytest.approx(k * 1e-3)
        assert next_wake == -(-max(wake + w, wake + MS) // MS) * MS  # ceil to the grid
    assert clock.overruns == sum(w > MS for w in work)
    assert clock.skipped_cycles == seen[-1][1] - len(work)  # k counts the skipped ones
    # missed deadlines in a row: summed over overrunning cycles, cleared by an on-time one
    assert in_row == expected_in_row


def test_realtime_cycles_that_always_overrun_run_every_other_deadline():
    fake = FakeClock()
    runner = realtime(fake)
    worst = []

    def cycle(c: LoopClock) -> bool:
        worst.append(c.missed_in_row)
        fake.work(1_500_000)  # 1.5 periods
        return True

    stats = runner.run(cycle, duration_s=0.1)
    assert stats.cycles == 50 and stats.skipped_cycles == 50 and stats.overruns == 50
    assert worst == list(range(50))  # the counter the safety supervisor reads: one a cycle


def test_a_stall_of_n_periods_counts_n_missed_deadlines_in_a_row():
    fake = FakeClock()
    runner = realtime(fake)
    seen: dict[int, int] = {}
    work = {2: 19 * MS + 1, 22: MS + MS // 2}  # a 19-period stall, then one late cycle

    def cycle(c: LoopClock) -> bool:
        seen[c.k] = c.missed_in_row
        fake.work(work.get(c.k, 300_000))
        return True

    runner.run(cycle, max_cycles=30)
    assert 3 not in seen and 21 not in seen  # the stall skipped deadlines 3 .. 21
    assert seen[2] == 0 and seen[22] == 19  # 19 deadlines missed by one cycle
    assert 23 not in seen and seen[24] == 20  # one more: still in a row
    assert seen[25] == 0  # the cycle at 24 kept its deadline


def test_realtime_on_time_cycles_run_every_deadline_and_reset_the_missed_counter():
    fake = FakeClock()
    runner = realtime(fake)
    seen = []

    def cycle(c: LoopClock) -> bool:
        seen.append(c.missed_in_row)
        fake.work(1_200_000 if c.k == 3 else 300_000)  # one overrun at k = 3
        return True

    stats = runner.run(cycle, duration_s=0.1)
    assert stats.cycles == 99 and stats.skipped_cycles == 1  # k = 4 skipped
    assert seen[3:6] == [0, 1, 0]


def test_realtime_measures_lateness_and_counts_late_wakeups():
    fake = FakeClock(oversleep_ns=150_000)  # every sleep wakes 150 us late
    runner = realtime(fake)
    lateness = []

    def cycle(c: LoopClock) -> bool:
        lateness.append(c.last_lateness_us)
        fake.work(100_000)
        return True

    stats = runner.run(cycle, max_cycles=20)
    assert lateness[0] == 0.0 and lateness[1:] == pytest.approx([150.0] * 19)
    assert stats.late_wakeups == 19  # > 100 us
    assert stats.lateness_us_p50 == pytest.approx(150.0, rel=2e-3)
    assert stats.compute_us_p50 == pytest.approx(100.0, rel=2e-3)


def test_realtime_with_the_real_clock_runs():
    runner = LoopRunner(rate_hz=500, mode=LoopMode.REALTIME)
    ts = []
    stats = runner.run(lambda c: ts.append(c.t) is None, duration_s=0.02)
    assert stats.mode == "realtime" and 1 <= stats.cycles <= 10
    assert ts == sorted(ts) and ts[-1] < 0.02


# -- lockstep ---------------------------------------------------------------------------
def test_lockstep_advances_simulated_time_and_counts_plant_steps():
    runner = LoopRunner(rate_hz=1000, mode="lockstep")
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
    # simulated time is never late: no lateness, no late wake-ups
    assert stats.late_wakeups == 0 and stats.lateness_us_max == 0.0


def test_pacers_report_overruns_from_advance():
    clock = LoopClock(1e-3)
    assert LockstepPacer(1e-3).advance(clock, 10 * MS) is False  # simulated time: never
    fake = FakeClock()
    pacer = RealtimePacer(1e-3, now=fake.now, sleep=fake.sleep)
    pacer.start(clock)
    assert pacer.advance(clock, MS // 2) is False
    assert pacer.advance(clock, 3 * MS) is True and clock.skipped_cycles == 1
    fake.ns = 3 * MS - 400_000
    pacer.wait(clock)  # no spin by default: sleeps the whole way to the deadline
    assert fake.sleeps == [400_000] and fake.ns == 3 * MS


class TickingClock(FakeClock):
    """A fake clock that also advances 1 us per reading (so a spin wait ends)."""

    def now(self) -> int:
        self.ns += 1_000
        return self.ns


def test_realtime_spin_window_sleeps_short_of_the_deadline_then_spins_to_it():
    fake = TickingClock()
    pacer = RealtimePacer(1e-3, spin_s=100e-6, now=fake.now, sleep=fake.sleep)
    clock = LoopClock(1e-3)
    pacer.start(clock)  # first deadline: the first reading, 1 us
    pacer.advance(clock, fake.ns)
    pacer.wait(clock)
    assert fake.sleeps == [MS + 1_000 - 2_000 - 100_000]  # to 100 us before the deadline
    # then spun, reading the clock, until a reading is no longer before the deadline (at
    # 1001 us); the lateness reading that follows is one tick (1 us) later
    assert fake.ns == MS + 2_000 and clock.last_lateness_us == 1.0


def test_realtime_wait_sleeps_even_one_nanosecond_and_never_wakes_early():
    fake = FakeClock()
    pacer = RealtimePacer(1e-3, now=fake.now, sleep=fake.sleep)
    clock = LoopClock(1e-3)
    pacer.start(clock)
    pacer.advance(clock, 0)
    fake.ns = MS - 1
    pacer.wait(clock)
    assert fake.sleeps == [1] and clock.last_lateness_us == 0.0


class PatternClock(FakeClock):
    """Wakes each sleep late by the next value of ``oversleep`` (ns)."""

    def __init__(self, oversleep: list[int]) -> None:
        super().__init__()
        self.pattern = iter(oversleep)

    def sleep(self, s: float) -> None:
        self.oversleep_ns = next(self.pattern, 0)
        super().sleep(s)


def test_realtime_stats_summarise_every_cycle():
    """100 cycles: compute 100 us x 50, 200 us x 49, 400 us x 1; plant step 30 / 60 / 90
    us likewise; wake-ups late by 0 (the first), 20 us x 49, 40 us x 49, 80 us x 1."""
    fake = PatternClock([20_000] * 49 + [40_000] * 49 + [80_000])
    runner = realtime(fake)

    def split(i, a, b, c):
        return a if i < 50 else b if i < 99 else c

    def cycle(c: LoopClock) -> bool:
        fake.work(split(c.k, 100_000, 200_000, 400_000))
        return True

    stats = runner.run(
        cycle,
        plant_step=lambda: fake.work(split(runner.cycles, 30_000, 60_000, 90_000)),
        max_cycles=100,
    )
    wall = (99 * MS + 80_000 + 400_000 + 90_000) * 1e-9  # the last cycle's end
    assert (stats.mode, stats.rate_hz, stats.cycles) == ("realtime", 1000.0, 100)
    assert stats.wall_time_s == pytest.approx(wall) and stats.sim_time_s == stats.wall_time_s
    assert stats.realtime_factor == pytest.approx(0.1 / wall)
    assert stats.achieved_rate_hz == pytest.approx(100 / wall)
    got = [stats.compute_us_p50, stats.compute_us_p99, stats.compute_us_max]
    assert got == pytest.approx([100.0, 200.0, 400.0], rel=2e-3)
    got = [stats.lateness_us_p50, stats.lateness_us_p99, stats.lateness_us_max]
    assert got == pytest.approx([20.0, 40.0, 80.0], rel=2e-3)
    assert [stats.plant_us_p50, stats.plant_us_p99] == pytest.approx([30.0, 60.0], rel=2e-3)
    assert (stats.overruns, stats.late_wakeups, stats.skipped_cycles) == (0, 0, 0)
    assert stats.as_dict()["compute_us_max"] == stats.compute_us_max


def test_wall_time_counts_up_to_the_cycle_that_stopped_the_loop():
    fake = FakeClock()
    runner = realtime(fake)
    assert runner.stats().wall_time_s == 0.0  # nothing run yet
    stats = runner.run(lambda c: fake.work(MS // 2) or c.k < 3, max_cycles=100)
    assert stats.cycles == 4 and stats.wall_time_s == pytest.approx(0.0035)


def test_runner_rate_range_clock_and_spin_default():
    LoopRunner(rate_hz=10_000.0)
    with pytest.raises(ValueError, match=r"^loop rate must be in \[1, 10000\] Hz, got 10000.5$"):
        LoopRunner(rate_hz=10_000.5)
    runner = LoopRunner(rate_hz=500.0, mode=LoopMode.REALTIME)
    assert runner.clock.period_s == 0.002 and runner.pacer.spin_ns == 0
    spinning = LoopRunner(mode=LoopMode.REALTIME, realtime_priority=1)
    assert spinning.pacer.spin_ns == 100_000  # spins only with a real-time priority


def test_entering_real_time_takes_sched_fifo_at_the_priority(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "sched_setscheduler", lambda *a: calls.append(a))
    LoopRunner(mode=LoopMode.REALTIME, realtime_priority=7)._enter_realtime()
    assert calls == [(0, os.SCHED_FIFO, os.sched_param(7))]
    LoopRunner(mode=LoopMode.REALTIME, realtime_priority=0)._enter_realtime()
    assert len(calls) == 1  # priority 0: normal scheduling

    def refuse(*a):
        raise PermissionError("Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with pytest.raises(PermissionError, match=r"^loop.realtime_priority > 0 needs CAP_SYS_NICE"):
        LoopRunner(mode=LoopMode.REALTIME, realtime_priority=1)._enter_realtime()


SLACK = Path("/proc/self/timerslack_ns")


@pytest.mark.skipif(not SLACK.exists(), reason="Linux >= 4.6")
def test_real_time_sets_the_timer_slack(monkeypatch):
    """Real-time mode sets this thread's timer slack to 1 ns (values other than the ones a
    real-time run leaves behind are used, so the checks cannot pass by accident)."""
    before = int(SLACK.read_text())
    monkeypatch.setattr(os, "sched_setscheduler", lambda *a: None)
    try:
        assert _set_timer_slack_ns(7) is True and int(SLACK.read_text()) == 7
        LoopRunner(mode=LoopMode.REALTIME)._enter_realtime()
        assert int(SLACK.read_text()) == 1
    finally:
        _set_timer_slack_ns(before)


@pytest.mark.parametrize(("oversleep_ns", "late"), [(50_000, 0), (100_000, 0), (100_050, 4)])
def test_late_wakeups_are_those_beyond_the_threshold(oversleep_ns, late):
    runner = realtime(FakeClock(oversleep_ns=oversleep_ns))  # threshold 100 us
    assert runner.run(lambda c: True, max_cycles=5).late_wakeups == late


def test_realtime_at_one_hertz():
    fake = FakeClock()
    starts = []
    realtime(fake, rate_hz=1.0).run(lambda c: starts.append(fake.ns) is None, max_cycles=3)
    assert starts == [0, 10**9, 2 * 10**9]


def test_lockstep_time_does_not_depend_on_how_long_cycles_take():
    fake = FakeClock()
    runner = LoopRunner(rate_hz=1000, mode="lockstep", now=fake.now)
    seen = []

    def cycle(c: LoopClock) -> bool:
        seen.append((c.k, c.t, c.last_compute_us))
        fake.work(5 * MS if c.k % 2 else 10_000)  # slow and fast cycles
        return True

    stats = runner.run(cycle, max_cycles=6)
    assert [k for k, _, _ in seen] == list(range(6))
    assert [t for _, t, _ in seen] == pytest.approx([k * 1e-3 for k in range(6)])
    assert [u for _, _, u in seen] == pytest.approx([0, 10, 5000, 10, 5000, 10])
    assert stats.overruns == 0 and stats.skipped_cycles == 0
    assert stats.compute_us_max == pytest.approx(5000.0)


def test_cycle_returning_false_stops():
    runner = LoopRunner(mode="lockstep")
    stats = runner.run(lambda c: c.k < 9, max_cycles=1000)
    assert stats.cycles == 10


def test_rejects_bad_rate_and_missing_limit():
    with pytest.raises(ValueError, match="rate"):
        LoopRunner(rate_hz=0)
    with pytest.raises(ValueError, match="max_cycles"):
        LoopRunner().run(lambda c: True)


# -- timing histogram ---------------------------------------------------------------------
def test_histogram_percentiles_match_the_samples_within_its_resolution():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.lognormal(4.0, 0.3, 5000), [0.0, 2e7]])  # one under, one over
    h = TimingHistogram()
    for v in x:
        h.add(float(v))
    for q in (50, 90, 99):
        assert h.percentile(q) == pytest.approx(
            np.percentile(x, q, method="inverted_cdf"), rel=2e-3
        )
    assert h.max == 2e7 and h.n == len(x)
    assert TimingHistogram().percentile(99) == 0.0
