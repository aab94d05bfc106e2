"""Loop runner: lockstep determinism, ring buffer, real-time overrun/skip accounting."""

import time

import numpy as np
import pytest

from robot_us.loop import CycleRing, LoopClock, LoopMode, LoopRunner


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


def test_lockstep_is_deterministic_with_seed():
    def run_once():
        rng = np.random.default_rng(5)
        acc = []
        LoopRunner(mode="lockstep", ring_capacity=100).run(
            lambda c: acc.append(rng.normal()) or True, max_cycles=50
        )
        return acc

    assert run_once() == run_once()


def test_realtime_keeps_rate_roughly():
    runner = LoopRunner(rate_hz=500, mode=LoopMode.REALTIME, ring_capacity=1000)
    stats = runner.run(lambda c: True, duration_s=0.2)
    # loop time is counted in periods: run plus skipped cycles cover exactly 0.2 s
    assert stats.cycles + runner.clock.skipped_cycles == pytest.approx(100, abs=1)
    assert 0.15 < stats.wall_time_s < 1.0


def test_realtime_overrun_skips_missed_cycles_never_catches_up():
    runner = LoopRunner(rate_hz=1000, mode=LoopMode.REALTIME, ring_capacity=1000)
    ks = []

    def cycle(c: LoopClock) -> bool:
        ks.append(c.k)
        if len(ks) == 5:
            time.sleep(0.0035)  # a 3.5 ms overrun: deadlines k+1..k+3 pass
        return len(ks) < 10

    runner.run(cycle, max_cycles=100)
    clock = runner.clock
    assert clock.overruns >= 1
    assert clock.skipped_cycles >= 3
    # after the overrun the cycle index jumps past the missed deadlines
    i = 5
    assert ks[i] - ks[i - 1] >= 4
    assert runner.ring.ordered("overrun")[4]


def test_consecutive_overruns_counter():
    runner = LoopRunner(rate_hz=1000, mode=LoopMode.REALTIME, ring_capacity=1000)
    worst = []

    def cycle(c: LoopClock) -> bool:
        time.sleep(0.0015)
        worst.append(c.consecutive_overruns)
        return len(worst) < 6

    runner.run(cycle, max_cycles=100)
    assert max(worst) >= 4


def test_rejects_bad_rate_and_missing_limit():
    with pytest.raises(ValueError, match="rate"):
        LoopRunner(rate_hz=0)
    with pytest.raises(ValueError, match="max_cycles"):
        LoopRunner().run(lambda c: True)
