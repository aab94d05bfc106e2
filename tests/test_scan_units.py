"""Scan building blocks without a simulator: the transition table, the image-quality
policy, the time-scaled joint move, and the controller's joint-space mode."""

import numpy as np
import pytest

from force_control import Mode
from robot_us.config import Config
from robot_us.core.config_schema import ConfigError
from robot_us.core.kinematics import ArmKinematics
from robot_us.scan.config import ScanConfig, check_force_limits
from robot_us.scan.joint_move import JointMoveFollower
from robot_us.scan.quality_policy import PolicyLevel, QualityObservation, QualityPolicy
from robot_us.scan.states import ScanState, Trigger
from robot_us.scan.transitions import (
    ACTIVE,
    MOVING,
    RESUME_PREVIOUS,
    TABLE,
    TERMINAL,
    next_state,
)
from tests.kinematic_plant import PlanePlant
from trajectory.transfer import TransferLimits, TransferMove

S, T = ScanState, Trigger


# -- transition table -------------------------------------------------------------------
def test_happy_path_reaches_done():
    path = [T.START, T.PLANNED, T.ARRIVED, T.CONTACT, T.SETTLED, T.SWEPT, T.RETRACTED]
    state = S.IDLE
    seen = [state]
    for trig in path:
        state = next_state(state, trig)
        seen.append(state)
    assert seen == [
        S.IDLE,
        S.PLANNING,
        S.TRANSFER,
        S.APPROACH,
        S.SETTLE,
        S.SWEEP,
        S.RETRACT,
        S.DONE,
    ]


def test_pause_abort_and_faults_apply_everywhere_they_should():
    for s in MOVING:
        assert next_state(s, T.PAUSE) is S.PAUSED
        assert next_state(s, T.ABORT) is S.ABORTING
    assert next_state(S.PAUSED, T.RESUME) == RESUME_PREVIOUS
    for s in ACTIVE:
        assert next_state(s, T.FAULT_STOP) is S.FAULTED
        if s is not S.SAFE_RETRACT:
            assert next_state(s, T.FAULT_RETRACT) is S.SAFE_RETRACT
    assert next_state(S.SAFE_RETRACT, T.RETRACTED) is S.FAULTED
    # planning fails without moving; terminal states have no way out
    assert next_state(S.PLANNING, T.PLAN_FAILED) is S.FAULTED
    assert not [k for k in TABLE if k[0] in TERMINAL]
    # commands that make no sense are refused (no entry)
    assert next_state(S.IDLE, T.PAUSE) is None
    assert next_state(S.DONE, T.RESUME) is None
    assert next_state(S.SWEEP, T.START) is None


def test_every_state_is_reachable():
    reach, todo = {S.IDLE}, [S.IDLE]
    while todo:
        s = todo.pop()
        for (src, _), dst in TABLE.items():
            if src is s and dst != RESUME_PREVIOUS and dst not in reach:
                reach.add(dst)
                todo.append(dst)
    assert reach == set(S)


# -- quality policy ---------------------------------------------------------------------
def feed(policy, t0, t1, score, label="shadowed", rate=30.0, speed=0.01, s0=0.0, **signals):
    """Frames from t0 to t1 at ``rate``; the probe moves at ``speed`` x override;
    ``signals``: further ``QualityObservation`` fields (ood, coverage, ...)."""
    out, t, s = [], t0, s0
    seq = 0
    while t < t1 - 1e-9:
        obs = QualityObservation(seq, t, score, label, **signals)
        out += [(a.kind, a) for a in policy.observe(obs, s)]
        t += 1.0 / rate
        s += speed * policy.override / rate
        seq += 1
    return out, t, s


def test_policy_slows_raises_force_pauses_and_reports_the_span():
    cfg = ScanConfig()
    pol = QualityPolicy(cfg, 5.0)
    ev, t, s = feed(pol, 0.0, 1.0, 0.95, "good")
    assert ev == [] and pol.override == 1.0
    ev, t, s = feed(pol, t, t + 0.2, 0.2, s0=s)
    assert [k for k, _ in ev] == ["slow_down"]
    slow = ev[0][1]
    assert slow.s == pytest.approx(0.01 * 1.0, abs=1e-3) and "0.20 < 0.60" in slow.cause
    assert pol.override == cfg.slow_override and pol.level is PolicyLevel.SLOW
    # persisting: force steps of 1 N every 0.5 s up to 8 N, then a pause
    ev, t, s = feed(pol, t, t + 3.0, 0.2, s0=s)
    kinds = [k for k, _ in ev]
    assert kinds == ["force_up"] * 3 + ["pause"]
    forces = [a.detail["force_N"] for k, a in ev if k == "force_up"]
    assert forces == [6.0, 7.0, 8.0] and pol.force == 8.0 == cfg.force_max
    times = [a.t for _, a in ev]
    assert np.diff(times[:3]) == pytest.approx([0.5, 0.5], abs=0.04)
    assert times[3] - times[2] == pytest.approx(cfg.persist_time, abs=0.04)
    assert pol.pause_requested and pol.level is PolicyLevel.PAUSE
    # resumed (operator or timeout): force back to nominal, crossing slowly, no new steps
    ev = pol.resumed(t, s)
    assert [a.kind for a in ev] == ["force_restore"] and pol.force == 5.0
    assert not pol.pause_requested and pol.level is PolicyLevel.SKIP
    ev, t, s = feed(pol, t, t + 2.0, 0.2, s0=s)
    assert ev == [] and pol.override == cfg.slow_override
    # recovered for recover_time: the span closes (not imaged), speed back to 100 %
    s_good = s
    ev, t, s = feed(pol, t, t + 0.5, 0.9, "good", s0=s)
    assert [k for k, _ in ev] == ["span", "speed_restored"]
    span = pol.spans[-1]
    assert span.kind == "not_imaged" and span.s_from == pytest.approx(slow.s)
    assert span.s_to == pytest.approx(s_good) and span.min_score == pytest.approx(0.2)
    assert span.max_force == 8.0 and span.labels["shadowed"] > 30
    assert ev[0][1].detail["from_mm"] == pytest.approx(slow.s * 1e3, abs=0.01)
    assert pol.override == 1.0 and pol.level is PolicyLevel.GOOD


def test_policy_short_drop_is_only_slowed_and_force_steps_back_down():
    pol = QualityPolicy(ScanConfig(), 5.0)
    ev, t, s = feed(pol, 0.0, 0.3, 0.4, "poor_contact")
    assert [k for k, _ in ev] == ["slow_down"]
    ev, t, s = feed(pol, t, t + 0.15, 0.65, "good", s0=s)  # in the hysteresis band: hold
    assert ev == [] and pol.level is PolicyLevel.SLOW
    ev, t, s = feed(pol, t, t + 0.5, 0.9, "good", s0=s)
    assert [k for k, _ in ev] == ["span", "speed_restored"]
    assert pol.spans[-1].kind == "slowed" and pol.force == 5.0
    # a longer drop raises the force; after recovery it steps back down one per interval
    ev, t, s = feed(pol, t, t + 1.6, 0.4, "poor_contact", s0=s)
    assert [k for k, _ in ev].count("force_up") == 3 and pol.force == 8.0
    ev, t, s = feed(pol, t, t + 3.0, 0.9, "good", s0=s)
    kinds = [k for k, _ in ev]
    assert kinds[:2] == ["span", "speed_restored"] and kinds.count("force_restore") == 3
    assert pol.force == 5.0


def test_policy_names_the_confidence_signals_that_trigger_it():
    cfg = ScanConfig()
    pol = QualityPolicy(cfg, 5.0)
    # a good model score but only 40 % of the scanlines confident (a lifted edge)
    ev, t, s = feed(pol, 0.0, 1.2, 0.9, "good", coverage=0.4, coupled_confidence=0.6)
    kinds = [k for k, _ in ev]
    assert kinds[0] == "slow_down" and "force_up" in kinds
    assert {a.detail["signal"] for _, a in ev} == {"coverage"}
    assert "confident scanlines 40%" in ev[0][1].cause
    # recovered only when the confidence signals are good again, too
    ev, t, s = feed(pol, t, t + 0.5, 0.9, "good", s0=s, coverage=1.0, coupled_confidence=0.3)
    assert all(k != "span" for k, _ in ev) and pol.level is not PolicyLevel.GOOD
    ev, t, s = feed(pol, t, t + 0.5, 0.9, "good", s0=s, coverage=1.0, coupled_confidence=0.6)
    assert [k for k, _ in ev][:2] == ["span", "speed_restored"]
    assert pol.spans[-1].signals == {"coverage": 36, "confidence": 15}
    # shallow confidence alone triggers too, and without a confidence map (NaN) nothing does
    pol = QualityPolicy(cfg, 5.0)
    ev, _, _ = feed(pol, 0.0, 0.1, 0.9, "good", coverage=1.0, coupled_confidence=0.2)
    assert [a.detail["signal"] for _, a in ev] == ["confidence"]
    pol = QualityPolicy(cfg, 5.0)
    assert feed(pol, 0.0, 1.0, 0.9, "good")[0] == []


def test_policy_treats_out_of_distribution_frames_as_an_image_fault():
    cfg = ScanConfig()
    pol = QualityPolicy(cfg, 5.0)
    ev, t, s = feed(pol, 0.0, 0.1, 0.95, "good")  # a good model score: still a fault
    ev, t, s = feed(pol, t, t + 1.0, 0.0, "good", s0=s, ood=True, ood_reason="frozen")
    kinds = [k for k, _ in ev]
    assert kinds == ["slow_down", "pause"]  # no force steps for a frozen grabber
    slow, pause = ev[0][1], ev[1][1]
    assert slow.detail["signal"] == "ood" and slow.detail["ood_reason"] == "frozen"
    assert "image fault" in slow.cause and "frozen" in pause.cause
    assert pause.t - slow.t == pytest.approx(cfg.persist_time, abs=0.04)
    assert pol.force == 5.0 and pol.pause_requested
    assert pol.span.paused and pol.span.ood_reasons == {"frozen": 30}
    # a score drop that turns into an image fault stops raising the force
    pol = QualityPolicy(cfg, 5.0)
    ev, t, s = feed(pol, 0.0, 1.1, 0.3, "poor_contact")
    assert [k for k, _ in ev].count("force_up") == 2
    ev, t, s = feed(pol, t, t + 0.6, 0.0, "good", s0=s, ood=True, ood_reason="noise")
    assert [k for k, _ in ev] == ["pause"] and pol.force == 7.0


def test_observation_of_a_quality_result():
    from perception.quality.assess import QualityResult
    from perception.quality.classes import QualityClass
    from perception.quality.features import ConfidenceFeatures

    res = QualityResult(
        QualityClass.SHADOWED,
        0.3,
        np.array([0.1, 0.1, 0.7, 0.1]),
        ConfidenceFeatures(0.5, np.ones(4), 0.0, coverage=0.5, coupled_mean=0.6),
        seq=7,
        t=1.5,
    )
    res.mark_ood("blank")
    obs = QualityObservation.of(res)
    assert (obs.seq, obs.t, obs.score, obs.label) == (7, 1.5, 0.0, "shadowed")
    assert obs.ood and obs.ood_reason == "blank"
    assert (obs.coverage, obs.coupled_confidence) == (0.5, 0.6)
    res.confidence = None
    assert np.isnan(QualityObservation.of(res).coverage)


def test_policy_closes_an_open_span_at_the_path_end():
    pol = QualityPolicy(ScanConfig(), 5.0)
    feed(pol, 0.0, 0.2, 0.1, "no_contact")
    ev = pol.finish(1.0, 0.05)
    assert [a.kind for a in ev] == ["span", "speed_restored"]
    assert pol.spans[-1].s_to == pytest.approx(0.05)


def test_force_limits_are_checked_against_the_safety_soft_limit():
    check_force_limits(ScanConfig(), 5.0, 20.0)
    with pytest.raises(ConfigError, match=r"scan\.force_max"):
        check_force_limits(ScanConfig(force_max=20.0), 5.0, 20.0)
    with pytest.raises(ConfigError, match="force_setpoint"):
        check_force_limits(ScanConfig(force_max=6.0), 7.0, 20.0)
    assert Config().scan.force_max < Config().safety.force_soft_limit


# -- joint move follower ----------------------------------------------------------------
def _move():
    kin = ArmKinematics("panda")
    lim = TransferLimits.scaled(kin.limits, 0.3, 1.0, 5.0)
    q0 = kin.q_ready.copy()
    return TransferMove(q0, q0 + np.array([0.4, -0.2, 0.1, 0.3, 0.0, -0.2, 0.5]), lim)


def test_joint_move_follows_pauses_and_resumes_along_the_same_path():
    move = _move()
    dt = 1e-3
    f = JointMoveFollower([move], dt, ramp_time=0.2)
    q, qd = np.zeros(7), np.zeros(7)
    for _ in range(300):
        f.update()
    move.state_into(f.tau, q, qd)
    assert f.tau == pytest.approx(0.3) and np.allclose(f.q_ref, q)
    f.stop()
    taus = []
    for _ in range(400):
        f.update()
        taus.append(f.tau)
    assert f.stopped and f.rate == 0.0
    assert taus[-1] == taus[-150]  # time frozen once stopped
    assert 0.3 < taus[-1] < 0.3 + 0.2  # it slowed over the ramp (average rate 1/2)
    assert np.all(f.qd_ref == 0.0)
    f.go()
    while not f.finished:
        f.update()
    assert np.allclose(f.q_ref, move.q_goal)


def test_controller_joint_mode_tracks_a_joint_reference():
    plant = PlanePlant()
    q_goal = plant.q + np.array([0.2, -0.1, 0.1, 0.15, 0.0, -0.1, 0.3])
    plant.inp.q_ref[:] = q_goal
    plant.ctl.track_joints()
    for _ in range(2000):
        plant.step()
    assert plant.ctl.mode is Mode.JOINT
    assert np.abs(plant.q - q_goal).max() < 1e-4


# -- real-time imaging thread -----------------------------------------------------------
class _Frame:
    def __init__(self, seq, t):
        self.seq, self.t = seq, t
        self.image = np.zeros((8, 8), np.uint8)


class _Source:
    def __init__(self, n):
        self.n, self.seq = n, 0

    def grab(self):
        if self.seq >= self.n:
            return None
        self.seq += 1
        return _Frame(self.seq - 1, 100.0 + 0.01 * self.seq)  # device clock


class _Result:
    def __init__(self, frame):
        self.seq, self.t, self.score = frame.seq, frame.t, 0.5 + 0.01 * frame.seq
        self.quality = "good"


class _Worker:
    """Scores the last submitted frame at the next poll (like a worker that keeps up)."""

    def __init__(self):
        self.pending = None

    def submit(self, frame):
        self.pending = frame

    def poll(self):
        f, self.pending = self.pending, None
        return None if f is None else _Result(f)


class _Scan:
    def __init__(self):
        self.got = []

    def submit_quality(self, sample):
        self.got.append((sample.seq, sample.t, sample.score, sample.label))

    def arc_length_at(self, t):
        return 2.0 * t


class _Recorder:
    def __init__(self):
        self.frames, self.quality = [], []

    def add_frame(self, f):
        self.frames.append(f)

    def add_quality(self, q):
        self.quality.append(q)


def test_realtime_imaging_hands_results_to_the_scan_and_the_recorder():
    from robot_us.scan.realtime_imaging import RealtimeImaging

    scan, rec = _Scan(), _Recorder()
    im = RealtimeImaging(
        _Source(5),
        _Worker(),
        rate_hz=200.0,
        scan=scan,
        recorder=rec,
        to_quality_sample=lambda r, s: (r.seq, s),
        to_loop_time=lambda t: t - 100.0,
    ).start()
    im._thread.join(5.0)
    assert im.error is None and im.frames == 5 and im.results == 5
    assert [g[0] for g in scan.got] == [0, 1, 2, 3, 4]
    assert scan.got[0][1] == pytest.approx(0.01)  # loop time, not the device clock
    assert [f.seq for f in rec.frames] == [0, 1, 2, 3, 4]
    assert rec.quality[2] == (2, pytest.approx(2.0 * 0.03))


def test_joint_move_follower_plays_moves_in_a_row():
    a = _move()
    q_end = a.q_goal + np.array([-0.3, 0.1, 0.0, -0.2, 0.1, 0.2, -0.4])
    b = TransferMove(
        a.q_goal, q_end, TransferLimits.scaled(ArmKinematics("panda").limits, 0.3, 1.0, 5.0)
    )
    f = JointMoveFollower([a, b], 1e-3, ramp_time=0.2)
    assert f.duration == pytest.approx(a.duration + b.duration)
    qs = []
    while not f.finished:
        f.update()
        qs.append(f.q_ref.copy())
    qs = np.array(qs)
    assert np.allclose(qs[-1], q_end)
    k = round(a.duration / 1e-3)
    assert np.allclose(qs[k - 1], a.q_goal, atol=1e-4)  # at rest between the moves
    assert np.abs(np.diff(qs, axis=0)).max() < 1e-3  # continuous (no jump at the junction)


def test_scan_commands_follow_the_table_without_a_simulator():
    """Commands on a scan whose cycle is a stub: refused ones are reported, abort before
    anything moved ends at once with its cause."""
    from types import SimpleNamespace

    from robot_us.scan.scan import Scan

    stub = SimpleNamespace(dt=1e-3, on_cycle=None)
    scan = Scan(Config(), stub)
    scan.resume()
    scan.pause()
    scan.abort("not needed")
    while scan._commands:
        scan._apply_command(*scan._commands.popleft())
    kinds = [(e.kind, e.cause) for e in scan.events]
    assert kinds[0] == ("command_refused", "resume is not possible in IDLE")
    assert kinds[1] == ("command_refused", "pause is not possible in IDLE")
    assert kinds[2] == ("abort", "not needed")
    assert scan.state is ScanState.ABORTED and scan.outcome.cause == "aborted: not needed"
    with pytest.raises(ValueError, match="speed override"):
        scan.set_speed(1.5)


def test_sweep_twist_table_matches_the_finite_difference_of_the_path():
    from scipy.spatial.transform import Rotation

    from robot_us.scan.sweep_twist import STEP, SweepTwist, unit_twist
    from trajectory.probe_path import ProbePath

    s = np.linspace(0.0, 0.05, 51)
    poses = np.tile(np.eye(4), (len(s), 1, 1))
    poses[:, :3, :3] = Rotation.from_rotvec(np.outer(np.sin(20 * s), [0.0, 0.3, 0.0])).as_matrix()
    poses[:, 0, 3], poses[:, 2, 3] = s, 0.004 * np.sin(400 * s)
    path = ProbePath(s, poses)
    table, out = SweepTwist(path), np.zeros(6)
    for k in (0, 7, 42, 99):  # on the table's grid: exactly the finite difference
        expected = 0.01 * unit_twist(path, k * STEP)
        assert np.allclose(table.twist_into(k * STEP, 0.01, out), expected, atol=1e-12)
    u = 0.26  # between grid points: the linear blend of the neighbours
    expected = 0.01 * ((1 - u) * unit_twist(path, 60 * STEP) + u * unit_twist(path, 61 * STEP))
    assert np.allclose(table.twist_into((60 + u) * STEP, 0.01, out), expected, atol=1e-12)
    end = 0.01 * unit_twist(path, path.length)  # the end: the last finite difference
    for si in (path.length - 0.3 * STEP, path.length, path.length + 0.01):
        assert np.allclose(table.twist_into(si, 0.01, out), end, atol=1e-12)
    assert np.allclose(unit_twist(path, 0.0)[:3], [1.0, 0.0, 1.5], atol=0.1)  # dp/ds
    assert np.all(table.twist_into(0.02, 0.0, out) == 0.0)  # not moving ahead: no twist


def test_progress_estimate_follows_the_states_and_holds_while_paused(tmp_path):
    from types import SimpleNamespace

    from robot_us.scan.runner import SETTLE_ESTIMATE_S, RunOptions, ScanRunner

    cfg = Config()
    runner = ScanRunner(cfg, RunOptions(out_dir=tmp_path, progress=object()))
    got = []
    runner._progress = SimpleNamespace(update=lambda f, state, *a: got.append((f, state)))
    scan = SimpleNamespace(state=S.PLANNING, active_state=S.PLANNING, t_state=0.0, s=0.0)
    scan.length, scan.planned = 0.1, None
    runner.scan = scan
    runner._report_progress()  # not planned yet
    plan = SimpleNamespace(duration_s=14.0, segment_durations_s={"transfer": 2.0, "sweep": 10.0})
    scan.planned = SimpleNamespace(plan=plan)
    runner._on_planned()
    fc = cfg.force_control.contact
    approach = cfg.trajectory.standoff / fc.approach_speed
    retract = fc.retract_distance / fc.retract_speed + 0.5
    total = 0.1 + 2.0 + approach + SETTLE_ESTIMATE_S + 10.0 + retract
    scan.state = scan.active_state = S.SWEEP
    scan.s = 0.05
    runner._report_progress()  # half the sweep
    scan.state = S.PAUSED  # paused in the sweep: where it paused
    runner._report_progress()
    runner.t, scan.t_state = 100.0, 99.0
    scan.state = scan.active_state = S.RETRACT  # a second into the retract
    runner._report_progress()
    scan.state = scan.active_state = S.ABORTING
    runner._report_progress()
    sweep_half = (0.1 + 2.0 + approach + SETTLE_ESTIMATE_S + 5.0) / total
    assert got[0] == (0.0, "planning")
    assert got[1] == (pytest.approx(sweep_half), "sweep")
    assert got[2] == (pytest.approx(sweep_half), "paused")
    assert got[3][0] == pytest.approx((total - retract + 1.0) / total)
    assert got[4] == (pytest.approx(1.0), "aborting")
