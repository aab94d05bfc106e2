"""The arc-length time law: limits hold (checked by differentiating the sampled s(t)),
speed override, pause/resume, the end is reached exactly and never overshot."""

import numpy as np
import pytest

from trajectory.time_law import (
    MIN_OVERRIDE,
    ArcTimeLaw,
    TimeLawInput,
    TimeLawLimits,
    TimeLawOutput,
    TimeLawResult,
    nominal_duration,
)

DT = 0.001
LIM = TimeLawLimits(length=0.1, max_speed=0.02, max_acceleration=0.05, max_jerk=0.5, dt=DT)
TOL = 1e-6  # ruckig's own numerical slack, relative


def _run(law, schedule, max_cycles=200_000):
    """Step until FINISHED; ``schedule(t) -> (override, pause)``. Returns s samples and
    results (the state before the first cycle included)."""
    inp, out = TimeLawInput(), TimeLawOutput()
    s, res = [law._s], []
    for k in range(max_cycles):
        inp.override, inp.pause = schedule(k * DT)
        r = law.update(inp, out)
        s.append(out.s)
        res.append(r)
        if r is TimeLawResult.FINISHED:
            break
    return np.array(s), res


def _derivatives(s):
    v = np.diff(s) / DT
    a = np.diff(v) / DT
    j = np.diff(a) / DT
    return v, a, j


def _assert_within_limits(s, lim=LIM):
    v, a, j = _derivatives(s)
    assert v.max() <= lim.max_speed * (1 + TOL) + 1e-9
    assert v.min() >= -1e-9  # never backwards
    assert np.abs(a).max() <= lim.max_acceleration * (1 + TOL) + 1e-6
    assert np.abs(j).max() <= lim.max_jerk * (1 + TOL) + 1e-3


def test_nominal_run_reaches_the_end_within_the_limits():
    law = ArcTimeLaw(LIM)
    s, res = _run(law, lambda t: (1.0, False))
    assert res[-1] is TimeLawResult.FINISHED
    assert s[-1] == pytest.approx(LIM.length, abs=1e-9)
    assert s.max() <= LIM.length + 1e-12
    _assert_within_limits(s)
    v, _, _ = _derivatives(s)
    assert v.max() == pytest.approx(LIM.max_speed, rel=1e-3)  # it does reach full speed
    assert len(res) * DT == pytest.approx(nominal_duration(LIM), abs=2 * DT)


def test_speed_override_change_respects_the_jerk_limit():
    law = ArcTimeLaw(LIM)
    s, res = _run(law, lambda t: (1.0 if t < 1.5 else 0.25 if t < 3.0 else 1.0, False))
    assert res[-1] is TimeLawResult.FINISHED
    _assert_within_limits(s)
    v, _a, j = _derivatives(s)
    # the slow-down happened: some time after 1.5 s the speed is at 25 %
    assert v[2500:3000].max() <= 0.25 * LIM.max_speed * (1 + TOL) + 1e-9
    assert v[2500:3000].min() >= 0.25 * LIM.max_speed * 0.999
    # and it used the jerk limit (the check above is not vacuous)
    assert np.abs(j[1400:2500]).max() > 0.5 * LIM.max_jerk


def test_pause_brakes_smoothly_holds_and_resumes():
    law = ArcTimeLaw(LIM)
    s, res = _run(law, lambda t: (1.0, 1.0 <= t < 3.0))
    _assert_within_limits(s)
    assert TimeLawResult.PAUSED in res
    paused = [i for i, r in enumerate(res) if r is TimeLawResult.PAUSED]
    assert np.ptp(s[paused[0] + 1 : paused[-1] + 2]) < 1e-12  # held still
    assert res[-1] is TimeLawResult.FINISHED
    assert s[-1] == pytest.approx(LIM.length, abs=1e-9)


def test_zero_override_stops_like_pause():
    law = ArcTimeLaw(LIM)
    s, res = _run(law, lambda t: (0.0 if 1.0 <= t < 2.5 else 1.0, False))
    _assert_within_limits(s)
    assert TimeLawResult.PAUSED in res
    assert res[-1] is TimeLawResult.FINISHED


def test_pause_just_before_the_end_finishes_without_overshoot():
    law = ArcTimeLaw(LIM)
    t_end = nominal_duration(LIM)
    s, res = _run(law, lambda t: (1.0, t >= t_end - 0.3), max_cycles=int(2 * t_end / DT))
    assert res[-1] is TimeLawResult.FINISHED
    assert s.max() <= LIM.length + 1e-12
    _assert_within_limits(s)


def test_override_is_clipped_and_limits_are_validated():
    law = ArcTimeLaw(LIM)
    s, _ = _run(law, lambda t: (3.0, False))
    _assert_within_limits(s)
    with pytest.raises(ValueError, match="mm/s"):
        TimeLawLimits(length=0.1, max_speed=0.06, max_acceleration=0.05, max_jerk=0.5)
    with pytest.raises(ValueError, match="length"):
        TimeLawLimits(length=0.0, max_speed=0.01, max_acceleration=0.05, max_jerk=0.5)


def test_reset_restarts_from_rest():
    law = ArcTimeLaw(LIM)
    _run(law, lambda t: (1.0, False))
    law.reset(0.02)
    inp, out = TimeLawInput(), TimeLawOutput()
    law.update(inp, out)
    assert out.s == pytest.approx(0.02, abs=1e-6)
    assert out.t == pytest.approx(DT)
    assert out.result is TimeLawResult.WORKING


def test_limits_refuse_non_positive_acceleration_jerk_or_cycle_time():
    TimeLawLimits(length=0.1, max_speed=0.01, max_acceleration=0.05, max_jerk=0.5, dt=1e-4)
    for bad in ({"max_acceleration": 0.0}, {"max_jerk": 0.0}, {"dt": 0.0}):
        kw = {"max_acceleration": 0.05, "max_jerk": 0.5, "dt": 0.001} | bad
        with pytest.raises(ValueError, match=r"^time law acceleration, jerk and cycle time must"):
            TimeLawLimits(length=0.1, max_speed=0.01, **kw)


def _pause_with(remaining):
    """Full speed, then pause when ``remaining`` (m) of the path is left."""
    law = ArcTimeLaw(LIM)
    state = {"at": None}

    def schedule(t):
        if state["at"] is None and LIM.length - law._s <= remaining:
            state["at"] = law._s
        return 1.0, state["at"] is not None

    s, res = _run(law, schedule, max_cycles=20_000)
    return s, res


def test_pause_stops_unless_the_conservative_stopping_distance_is_longer():
    """At full speed (20 mm/s) the law's stopping bound is v (v/a + a/j) = 10 mm: a pause
    with 11 mm left stops short of the end; with 9 mm left the law finishes instead."""
    s, res = _pause_with(0.011)
    assert res[-1] is TimeLawResult.PAUSED and s[-1] < LIM.length - 0.004
    _assert_within_limits(s)
    s, res = _pause_with(0.009)
    assert res[-1] is TimeLawResult.FINISHED and TimeLawResult.PAUSED not in res
    assert s[-1] == pytest.approx(LIM.length, abs=1e-9)


def test_near_the_end_a_speed_change_still_applies():
    """Only a stop turns into finishing inside the stopping distance: raising the override
    from 0.5 with 2.5 mm left still speeds the probe up."""
    law = ArcTimeLaw(LIM)
    s, _ = _run(law, lambda t: (1.0 if LIM.length - law._s < 0.0025 else 0.5, False))
    v, _, _ = _derivatives(s)
    assert v[-300:].max() > 0.0105


def test_pause_at_rest_holds_and_at_the_end_finishes():
    law = ArcTimeLaw(LIM)
    law.reset(0.05)
    inp, out = TimeLawInput(pause=True), TimeLawOutput()
    results = [law.update(inp, out) for _ in range(100)]
    assert results[-1] is TimeLawResult.PAUSED and out.s == 0.05
    law.reset(LIM.length)  # a pause at the end of the path is the end
    assert law.update(inp, out) is TimeLawResult.FINISHED


def test_override_between_one_and_two_is_clipped_to_one():
    law = ArcTimeLaw(LIM)
    s, _ = _run(law, lambda t: (1.5, False))
    v, _, _ = _derivatives(s)
    assert v.max() == pytest.approx(LIM.max_speed, rel=1e-3)


def test_smallest_override_still_moves():
    law = ArcTimeLaw(LIM)
    inp, out = TimeLawInput(override=MIN_OVERRIDE), TimeLawOutput()
    results = [law.update(inp, out) for _ in range(200)]
    assert TimeLawResult.PAUSED not in results and out.s > 0.0


def test_outputs_time_and_derivatives():
    law = ArcTimeLaw(LIM)
    inp, out = TimeLawInput(), TimeLawOutput()
    rows = []
    for _ in range(300):
        law.update(inp, out)
        rows.append((out.t, out.s_dot, out.s_ddot, out.s_dddot))
    t, v, a, j = np.array(rows).T
    assert t[-1] == pytest.approx(300 * DT) and np.diff(t) == pytest.approx(DT)
    assert j[0] == pytest.approx(LIM.max_jerk)  # ruckig starts at full jerk
    assert np.diff(v) / DT == pytest.approx(0.5 * (a[1:] + a[:-1]), abs=1e-6)
    da = np.diff(a) / DT  # the jerk of the step (it switches inside some steps)
    assert np.all(np.isclose(da, j[1:], atol=1e-3) | np.isclose(da, j[:-1], atol=1e-3))


def test_an_unchanged_input_does_not_rewrite_ruckigs_input():
    """Real-time contract: ruckig's input is rewritten only when the override or the pause
    changes (then ruckig keeps its trajectory instead of replanning each cycle)."""
    law = ArcTimeLaw(LIM)
    writes = []
    set_command = law._set_command
    law._set_command = lambda o, stop: writes.append((o, stop)) or set_command(o, stop)
    inp, out = TimeLawInput(), TimeLawOutput()
    for override, pause in [(1.0, False)] * 50 + [(0.5, False)] * 50 + [(0.5, True)] * 50:
        inp.override, inp.pause = override, pause
        law.update(inp, out)
    assert writes == [(1.0, False), (0.5, False), (0.5, True)]
