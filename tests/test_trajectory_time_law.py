"""The arc-length time law: limits hold (checked by differentiating the sampled s(t)),
speed override, pause/resume, the end is reached exactly and never overshot."""

import numpy as np
import pytest

from trajectory.time_law import (
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
