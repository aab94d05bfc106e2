"""Scan building blocks without a simulator: the transition table, the image-quality
policy, the time-scaled joint move, the controller's joint-space mode, and the scan as a
reference provider on a fake control cycle (stage semantics, result codes, re-seek)."""

import numpy as np
import pytest

from force_control import ControllerOutput, Event, Mode
from robot_us.config import Config
from robot_us.control_cycle import RequestResult
from robot_us.core.config_schema import ConfigError
from robot_us.core.kinematics import ArmKinematics
from robot_us.core.types import JointKinematics, SurfacePath
from robot_us.reference_provider import CycleInputs, CycleOutcome, ReferenceResult
from robot_us.safety import FaultLatch, SupervisorResult
from robot_us.scan.config import ScanConfig, check_force_limits
from robot_us.scan.joint_move import JointMoveFollower
from robot_us.scan.messages import ScanRequest
from robot_us.scan.planning import PlannedScan
from robot_us.scan.quality_policy import PolicyLevel, QualityObservation, QualityPolicy
from robot_us.scan.states import ScanFault, ScanState, Trigger
from robot_us.scan.sweep_twist import SweepTwist
from robot_us.scan.transitions import (
    ACTIVE,
    MOVING,
    RESUME_PREVIOUS,
    TABLE,
    TERMINAL,
    next_state,
)
from tests.kinematic_plant import PlanePlant
from trajectory.probe_path import ProbePath
from trajectory.time_law import ArcTimeLaw, TimeLawLimits
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


# -- the scan as a reference provider, on a fake control cycle ----------------------------
class FakeCycle:
    """Stands in for ``ControlCycle``: records the requests, answers with ``refuse``'s
    result code (``OK`` otherwise), keeps the last references."""

    def __init__(self, n: int = 7, dt: float = 1e-3) -> None:
        self.dt = dt
        self.requests: list[str] = []
        self.refuse: dict[str, RequestResult] = {}
        self.T_ref = np.eye(4)
        self.q_ref = np.zeros(n)
        self.force: float | None = None
        self.tares = 0  # completed F/T tares
        self.bias_correction = np.zeros(6)

    def _ask(self, name: str) -> RequestResult:
        self.requests.append(name)
        return self.refuse.get(name, RequestResult.OK)

    def set_reference(self, T, twist=None) -> None:
        self.T_ref[:] = T

    def set_joint_reference(self, q, qd=None) -> None:
        self.q_ref[:] = q

    def set_force(self, force: float) -> RequestResult:
        res = self._ask("set_force")
        if res is RequestResult.OK:
            self.force = force
        return res

    def track_joints(self) -> RequestResult:
        return self._ask("track_joints")

    def approach(self) -> RequestResult:
        return self._ask("approach")

    def retract(self) -> RequestResult:
        return self._ask("retract")

    def hold(self) -> RequestResult:
        return self._ask("hold")

    def start_tare(self) -> None:
        self.requests.append("start_tare")

    def retare(self) -> RequestResult:
        res = self._ask("retare")
        if res is RequestResult.OK:  # done at once, having found a drift
            self.tares += 1
            self.bias_correction[:] = [0.0, 0.0, 0.12, 0.0, 0.0, 0.0]
        return res


class FakeLoop:
    """Drives a ``Scan`` through ``update``/``observe`` like the control cycle does; the
    arm follows the joint reference exactly (a perfect plant)."""

    def __init__(self, cfg: Config | None = None) -> None:
        from robot_us.scan.scan import Scan

        self.cycle = FakeCycle()
        self.scan = Scan(cfg or Config(), self.cycle)
        self.inputs = CycleInputs(arm=JointKinematics(7), wrench=np.zeros(6))
        self.outcome = CycleOutcome(
            control=ControllerOutput(7), safety=SupervisorResult(), latch=FaultLatch()
        )
        self.mode = Mode.IDLE
        self.k = -1

    def step(self, n: int = 1, event: Event = Event.NONE) -> ReferenceResult:
        """``n`` cycles; ``event`` reported by the controller in the first."""
        res = ReferenceResult.WORKING
        for i in range(n):
            self.k += 1
            inp = self.inputs
            inp.k, inp.t, inp.mode = self.k, self.k * self.cycle.dt, self.mode
            inp.arm.q[:] = self.cycle.q_ref
            res = self.scan.update(inp)
            out = self.outcome
            out.k, out.t = inp.k, inp.t
            out.control.mode = self.mode
            out.control.event = event if i == 0 else Event.NONE
            res = self.scan.observe(out)
        return res

    def to_sweep(self) -> None:
        """From idle to the sweep of a 40 mm straight path."""
        s = np.linspace(0.0, 0.04, 41)
        poses = np.tile(np.diag([1.0, -1.0, -1.0, 1.0]), (len(s), 1, 1))
        poses[:, 1, 3] = s
        path = ProbePath(s, poses)
        law = ArcTimeLaw(TimeLawLimits(path.length, 0.01, 0.05, 0.5, self.cycle.dt))
        move = _move()
        planned = PlannedScan(
            plan=None,
            path=path,
            twist=SweepTwist(path),
            law=law,
            transfer=[move],
            q_approach=move.q_goal,
            T_path_start=poses[0],
        )
        scan = self.scan
        scan.start(ScanRequest(path=SurfacePath(poses[:, :3, 3], -poses[:, :3, 2])))
        self.step()
        assert scan.state is S.PLANNING
        scan.planned = planned  # what service() does outside the loop
        self.step()
        assert scan.state is S.TRANSFER and self.cycle.requests[-1] == "track_joints"
        self.mode = Mode.JOINT
        self.step(round(move.duration / self.cycle.dt) + 5)
        assert scan.state is S.APPROACH and self.cycle.requests[-1] == "approach"
        self.mode = Mode.APPROACH
        self.step(10)
        self.mode = Mode.CONTACT
        self.step(1, Event.CONTACT_MADE)
        assert scan.state is S.SETTLE
        self.step(1, Event.SETTLED)
        self.step(round(scan.cfg.scan.settle_time / self.cycle.dt) + 1)
        assert scan.state is S.SWEEP


def test_scan_commands_follow_the_table_without_a_simulator():
    """Commands on a scan whose cycle is a stub: refused ones are reported, abort before
    anything moved ends at once with its cause."""
    loop = FakeLoop()
    scan = loop.scan
    scan.resume()
    scan.pause()
    scan.abort("not needed")
    assert loop.step() is ReferenceResult.FINISHED
    kinds = [(e.kind, e.cause) for e in scan.events]
    assert kinds[0] == ("command_refused", "resume is not possible in IDLE")
    assert kinds[1] == ("command_refused", "pause is not possible in IDLE")
    assert kinds[2] == ("abort", "not needed")
    assert scan.state is ScanState.ABORTED and scan.outcome.cause == "aborted: not needed"
    assert scan.status.state == ScanState.ABORTED
    with pytest.raises(ValueError, match="speed override"):
        scan.set_speed(1.5)


def test_every_state_has_one_row_and_the_pausable_ones_are_the_tables():
    scan = FakeLoop().scan
    assert set(scan._rows) == set(ScanState)
    pausable = {s for (s, trig) in TABLE if trig is Trigger.PAUSE}
    assert set(scan.pausable) == pausable == set(MOVING)


def test_the_scan_reacts_to_a_controller_event_in_the_cycle_it_happens():
    loop = FakeLoop()
    loop.to_sweep()
    scan = loop.scan
    t_settle = next(t.t for t in scan.transitions if t.dst is S.SETTLE)
    t_contact = next(t.t for t in scan.transitions if t.src is S.APPROACH)
    assert t_settle == t_contact  # the same cycle the event came from
    # the path end: retract requested, RETRACT_DONE finishes the scan in that cycle
    loop.step(6000)
    assert scan.state is S.RETRACT and loop.cycle.requests[-1] == "retract"
    loop.mode = Mode.RETRACT
    loop.step(3)
    loop.scan._retare = False  # no re-tare: RETRACT_DONE finishes the scan in that cycle
    assert loop.step(1, Event.RETRACT_DONE) is ReferenceResult.FINISHED
    assert scan.state is S.DONE and scan.outcome.s == pytest.approx(0.04)
    assert scan.outcome.bias_correction is None


@pytest.mark.parametrize("refused", [False, True])
def test_the_scan_retares_after_the_final_retract_and_reports_the_drift(refused):
    loop = FakeLoop()
    loop.to_sweep()
    scan = loop.scan
    loop.step(6000)
    loop.mode = Mode.RETRACT
    if refused:  # the cycle says the probe is in contact: no tare, nothing reported
        loop.cycle.refuse["retare"] = RequestResult.IN_CONTACT
    res = loop.step(1, Event.RETRACT_DONE)
    assert loop.cycle.requests[-1] == "retare"
    if refused:
        assert res is ReferenceResult.FINISHED and scan.outcome.bias_correction is None
        return
    assert res is ReferenceResult.WORKING and scan.state is S.RETRACT  # the tare runs
    assert loop.step(1) is ReferenceResult.FINISHED
    assert scan.state is S.DONE
    assert scan.outcome.bias_correction == pytest.approx([0.0, 0.0, 0.12, 0.0, 0.0, 0.0])
    ev = [e for e in scan.events if e.kind == "retare"]
    assert len(ev) == 1 and ev[0].detail["force_residual_N"] == pytest.approx(0.12)


def test_the_sweep_is_held_while_the_controller_reseeks_contact():
    loop = FakeLoop()
    loop.to_sweep()
    scan = loop.scan
    loop.step(500)
    s0 = scan.s
    assert s0 > 0.001  # sweeping
    loop.mode = Mode.RESEEK
    loop.step(1, Event.CONTACT_LOST)
    s_lost = scan.s
    scan.submit_quality(QualityObservation(1, scan.t, 0.05, "no_contact"))  # ignored: re-seeking
    loop.step(800)
    assert scan.reseeking and scan.state is S.SWEEP
    # the time law decelerates (jerk-limited) and then holds the arc length still
    held = scan.s
    loop.step(300)
    assert scan.s == held and s_lost <= held < s_lost + 0.002
    assert scan.quality_seen == 1 and scan.policy.override == 1.0
    loop.mode = Mode.CONTACT
    loop.step(1, Event.CONTACT_REGAINED)
    loop.step(500)
    assert scan.s > held + 0.001  # sweeping again
    assert [e.kind for e in scan.events][-2:] == ["recontact", "contact_regained"]


def test_a_refused_request_is_a_scan_fault_not_an_exception():
    loop = FakeLoop()
    loop.cycle.refuse["approach"] = RequestResult.FAULT_LATCHED
    with pytest.raises(AssertionError):
        loop.to_sweep()  # stops at the approach
    scan = loop.scan
    assert scan.state is S.SAFE_RETRACT and scan.fault == ScanFault.COMMAND
    assert "'approach' refused: fault_latched" in scan.cause
    assert loop.cycle.requests[-1] == "retract"


def test_a_bug_in_the_cycle_is_not_hidden_as_a_command_fault():
    loop = FakeLoop()
    loop.to_sweep()

    def broken(T, twist=None):
        raise ValueError("operands could not be broadcast together")  # a numpy bug

    loop.cycle.set_reference = broken
    with pytest.raises(ValueError, match="broadcast"):
        loop.step()
    assert loop.scan.fault == 0


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


def test_progress_estimate_follows_the_states_and_holds_while_paused():
    from types import SimpleNamespace

    from robot_us.scan.progress import SETTLE_ESTIMATE_S, ProgressEstimate

    cfg = Config()
    est = ProgressEstimate(cfg)
    scan = SimpleNamespace(state=S.PLANNING, active_state=S.PLANNING, t_state=0.0, s=0.0)
    scan.length = 0.1
    got = [(est.fraction(scan, 0.0), "planning")]  # not planned yet
    plan = SimpleNamespace(duration_s=14.0, segment_durations_s={"transfer": 2.0, "sweep": 10.0})
    est.planned(plan)
    fc = cfg.force_control.contact
    approach = cfg.trajectory.standoff / fc.approach_speed
    retract = fc.retract_distance / fc.retract_speed + 0.5
    total = 0.1 + 2.0 + approach + SETTLE_ESTIMATE_S + 10.0 + retract
    scan.state = scan.active_state = S.SWEEP
    scan.s = 0.05
    got.append((est.fraction(scan, 0.0), "sweep"))  # half the sweep
    scan.state = S.PAUSED  # paused in the sweep: where it paused
    got.append((est.fraction(scan, 0.0), "paused"))
    scan.t_state = 99.0
    scan.state = scan.active_state = S.RETRACT  # a second into the retract
    got.append((est.fraction(scan, 100.0), "retract"))
    scan.state = scan.active_state = S.ABORTING
    got.append((est.fraction(scan, 100.0), "aborting"))
    sweep_half = (0.1 + 2.0 + approach + SETTLE_ESTIMATE_S + 5.0) / total
    assert got[0] == (0.0, "planning")
    assert got[1] == (pytest.approx(sweep_half), "sweep")
    assert got[2] == (pytest.approx(sweep_half), "paused")
    assert got[3][0] == pytest.approx((total - retract + 1.0) / total)
    assert got[4] == (pytest.approx(1.0), "aborting")
