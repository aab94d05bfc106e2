"""Surface path -> executable scan plan: transfer (joint space, ruckig) -> approach along
the normal -> sweep along the path -> retract along the normal.

The planner smooths and resamples the path, builds the probe frames for the chosen
imaging plane, solves IK along approach, sweep and retract from a few distinct start
solutions (best first; the first that passes every check wins) and, if none works,
tries the probe turned 180 deg about its axis. An infeasible path raises
``PlanningError`` naming the first failing arc-length span and its reason; when only the
turned probe works and flipping is not allowed, the error says so
(``flip_feasible``). A plan longer than ``max_duration`` (a speed too slow for the path)
and, when the planner is given the workspace box, a probe tip leaving it anywhere in the
plan are refused too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_us.core.kinematics import ArmKinematics
from robot_us.core.types import ScanPlan, SegmentKind, SurfacePath
from trajectory.config import MAX_SCAN_SPEED, TrajectoryConfig, check_scan_speed
from trajectory.errors import FailureReason, PlanningError, first_run, span_text
from trajectory.frames import ImagingPlane, normal_segment, probe_frames
from trajectory.path_geometry import SmoothPath, spline_resample
from trajectory.reachability import PathIK, TrackResult
from trajectory.time_law import TimeLawLimits, nominal_duration
from trajectory.transfer import TransferLimits, TransferMove
from trajectory.workspace import WorkspaceBox

#: Distinct start solutions tried for each probe orientation (best first).
MAX_START_CANDIDATES = 3
#: Spacing (m) of the approach and retract poses (straight lines along the normal; the
#: resample step if that is coarser).
NORMAL_STEP = 0.005
#: Execution order of the segments (a failure earlier in this order is reported first).
_ORDER = (SegmentKind.APPROACH, SegmentKind.SWEEP, SegmentKind.RETRACT)


@dataclass
class _Failure:
    """Where one attempt failed: segment, span (m along the path, or along the normal for
    approach/retract), reasons and the first detail."""

    kind: SegmentKind
    span: tuple[float, float]
    reasons: list[FailureReason]
    detail: str
    # how to re-run the failing segment: its poses, their arc lengths, seed, s before it
    retrack: tuple | None = None

    @property
    def progress(self) -> tuple[int, float]:
        """How far execution gets before this failure (larger = further)."""
        d = self.span[0]
        if self.kind is SegmentKind.APPROACH:
            d = -d  # approach poses are solved from the skin outwards; it runs inwards
        return _ORDER.index(self.kind), d

    def describe(self, standoff: float) -> str:
        """Operator-readable place and reason."""
        reasons = ", then ".join(str(r) for r in self.reasons)
        a, b = self.span
        if self.kind is SegmentKind.SWEEP:
            where = span_text(a, b)
        else:
            at = "path start" if self.kind is SegmentKind.APPROACH else "path end"
            verb = "approach to" if self.kind is SegmentKind.APPROACH else "retract from"
            where = (
                f"during the {verb} the {at}, {a * 1e3:.1f} to {b * 1e3:.1f} mm off the skin "
                f"(stand-off {standoff * 1e3:.0f} mm)"
            )
        return f"{reasons} {where} ({self.detail})"


@dataclass
class _Solution:
    """Approach poses (stand-off -> skin) and retract poses (skin -> stand-off) with the
    joints solved at them and at the sweep poses."""

    T_approach: np.ndarray
    q_approach: np.ndarray
    q_sweep: np.ndarray
    T_retract: np.ndarray
    q_retract: np.ndarray


def speed_limit(q: np.ndarray, s: np.ndarray, qd_max: np.ndarray) -> np.ndarray:
    """Per step between neighbouring poses: the largest path speed (m/s) at which every
    joint stays within ``qd_max`` (rad/s), given joints ``q`` (N x n) at arc lengths ``s``."""
    rate = np.abs(np.diff(q, axis=0)) / np.maximum(np.diff(s), 1e-12)[:, None]  # rad/m
    return np.min(qd_max / np.maximum(rate, 1e-12), axis=1)


def _failure_of(
    track: TrackResult, kind: SegmentKind, s: np.ndarray, retrack: tuple | None = None
) -> _Failure | None:
    first = track.first_failure()
    if first is None:
        return None
    i, j, reasons, detail = first
    return _Failure(kind, (float(s[i]), float(s[j])), reasons, detail, retrack)


class ScanPlanner:
    """Plans scans for one arm (kinematics with the probe as tool) and one configuration;
    with a ``workspace`` box, every planned probe-tip position must lie inside it."""

    def __init__(
        self, kin: ArmKinematics, cfg: TrajectoryConfig, workspace: WorkspaceBox | None = None
    ) -> None:
        self.kin = kin
        self.cfg = cfg
        self.workspace = workspace
        self.ik = PathIK(kin, cfg)
        self.normal_step = max(NORMAL_STEP, cfg.resample_step)
        self.qd_max = kin.limits.velocity * cfg.joint_velocity_scale
        self.transfer_limits = TransferLimits.scaled(
            kin.limits, cfg.transfer_velocity_scale, cfg.transfer_acceleration, cfg.transfer_jerk
        )

    def _check_start(self, q_start: np.ndarray) -> np.ndarray:
        q = np.asarray(q_start, dtype=float)
        lim = self.kin.limits
        if q.shape != (self.kin.n,) or not np.all(np.isfinite(q)):
            raise PlanningError(
                FailureReason.START_STATE,
                f"start configuration must be {self.kin.n} finite joint angles, got {q.shape}",
            )
        outside = (q < lim.lower) | (q > lim.upper)
        if outside.any():
            j = int(np.argmax(outside))
            raise PlanningError(
                FailureReason.START_STATE,
                f"start configuration joint {j + 1} = {q[j]:.3f} rad is outside its limits "
                f"[{lim.lower[j]:.3f}, {lim.upper[j]:.3f}] rad",
            )
        return q

    def _speed_failure(self, *segments) -> _Failure | None:
        """The first segment (kind, q, s, speed) whose joints would exceed the allowed
        joint speeds at its speed, as a failure; None if all are fine."""
        for kind, q, s, speed in segments:
            if len(q) < 2:
                continue
            v = speed_limit(q, s, self.qd_max)
            if v.min() < speed:
                i, j = first_run(v < speed)
                return _Failure(
                    kind,
                    (float(s[i]), float(s[j + 1])),
                    [FailureReason.JOINT_SPEED],
                    f"at {speed * 1e3:.1f} mm/s the joints would exceed "
                    f"{self.cfg.joint_velocity_scale:.0%} of their speed limits; the arm "
                    f"allows {v.min() * 1e3:.1f} mm/s there",
                )
        return None

    def _attempt(
        self, T_sweep: np.ndarray, s: np.ndarray, q_start: np.ndarray, speed: float
    ) -> tuple[_Solution | None, _Failure | None]:
        """Solve approach, sweep (at ``speed`` m/s) and retract for one probe orientation."""
        cfg = self.cfg
        candidates = self.ik.start_candidates(T_sweep[0], q_start, MAX_START_CANDIDATES)
        if not candidates:
            q, reached = self.ik.solve(T_sweep[0], q_start)
            reason, detail, _ = self.ik.check(q, T_sweep[0], reached)
            reason = reason or FailureReason.OUT_OF_REACH
            return None, _Failure(SegmentKind.SWEEP, (0.0, 0.0), [reason], detail or "no IK")
        T_app = normal_segment(T_sweep[0], cfg.standoff, self.normal_step)  # outside -> in
        d_app = np.linalg.norm(T_app[:, :3, 3] - T_sweep[0, :3, 3], axis=1)
        T_ret = normal_segment(T_sweep[-1], cfg.standoff, self.normal_step)[::-1]  # in -> out
        d_ret = np.linalg.norm(T_ret[:, :3, 3] - T_sweep[-1, :3, 3], axis=1)
        best: _Failure | None = None
        for q0 in candidates:
            sweep = self.ik.track(T_sweep, s, q0)
            fail = _failure_of(sweep, SegmentKind.SWEEP, s, (T_sweep, s, q0, None))
            if fail is None:
                app_args = (T_app[::-1], d_app[::-1], sweep.q[0], 0.0)
                app = self.ik.track(*app_args)
                fail = _failure_of(app, SegmentKind.APPROACH, d_app[::-1], app_args)
            if fail is None:
                ret_args = (T_ret, d_ret, sweep.q[-1], 0.0)
                ret = self.ik.track(*ret_args)
                fail = _failure_of(ret, SegmentKind.RETRACT, d_ret, ret_args)
            if fail is None:
                fail = self._speed_failure(
                    (SegmentKind.SWEEP, sweep.q, s, speed),
                    (SegmentKind.APPROACH, app.q, d_app[::-1], cfg.approach_speed),
                    (SegmentKind.RETRACT, ret.q, d_ret, cfg.approach_speed),
                )
            if fail is None:
                return _Solution(T_app, app.q[::-1].copy(), sweep.q, T_ret, ret.q), None
            if best is None or fail.progress > best.progress:
                best = fail
        return None, best

    def plan(
        self,
        path: SurfacePath,
        q_start: np.ndarray,
        plane: ImagingPlane | str | None = None,
        speed: float | None = None,
        allow_flip: bool | None = None,
    ) -> ScanPlan:
        """Plan a scan of ``path`` starting at rest at ``q_start`` (rad). ``plane``,
        ``speed`` (m/s) and ``allow_flip`` default to the configuration. Raises
        ``PlanningError`` (a ValueError) naming the cause and the failing span."""
        return self.plan_with_transfer(path, q_start, plane, speed, allow_flip)[0]

    def plan_with_transfer(
        self,
        path: SurfacePath,
        q_start: np.ndarray,
        plane: ImagingPlane | str | None = None,
        speed: float | None = None,
        allow_flip: bool | None = None,
    ) -> tuple[ScanPlan, list[TransferMove]]:
        """``plan`` plus the joint moves of its transfer segment (what the plan's transfer
        poses were sampled from), for a caller that executes them."""
        cfg = self.cfg
        plane = ImagingPlane(plane or cfg.plane)
        speed = cfg.speed if speed is None else float(speed)
        allow_flip = cfg.allow_flip if allow_flip is None else allow_flip
        check_scan_speed(speed)
        q_start = self._check_start(q_start)
        smooth = spline_resample(path, cfg)
        self._check_sweep_duration(smooth.length, speed)
        self._check_in_workspace(SegmentKind.SWEEP, smooth.points, smooth.s)
        T_nominal = probe_frames(smooth, plane, False, cfg.max_orientation_rate)
        solution, failure = self._attempt(T_nominal, smooth.s, q_start, speed)
        if solution is not None:
            return self._checked(
                self._assemble(smooth, T_nominal, solution, q_start, plane, speed, False)
            )
        T_flip = probe_frames(smooth, plane, True, cfg.max_orientation_rate)
        flip_solution, _ = self._attempt(T_flip, smooth.s, q_start, speed)
        if flip_solution is not None and allow_flip:
            return self._checked(
                self._assemble(smooth, T_flip, flip_solution, q_start, plane, speed, True)
            )
        assert failure is not None
        if failure.retrack is not None:  # find where the first failing span ends
            poses, s_seg, seed, s_prev = failure.retrack
            track = self.ik.track(poses, s_seg, seed, s_prev, find_span_end=True)
            failure = _failure_of(track, failure.kind, s_seg) or failure
        message = (
            f"path is not feasible for the {self.kin.model} ({plane} plane): "
            f"{failure.describe(cfg.standoff)}"
        )
        if flip_solution is not None:
            message += (
                ". Turning the probe 180 deg about its axis makes the path feasible: plan "
                "again with --allow-flip (config trajectory.allow_flip = true)"
            )
        raise PlanningError(
            failure.reasons[0],
            message,
            span_m=failure.span,
            flip_feasible=flip_solution is not None,
        )

    def _duration(self, distance: float, speed: float) -> float:
        """Jerk-limited rest-to-rest time (s) over ``distance`` (m) at ``speed`` (m/s)."""
        cfg = self.cfg
        return nominal_duration(TimeLawLimits(distance, speed, cfg.max_acceleration, cfg.max_jerk))

    def _check_sweep_duration(self, length: float, speed: float) -> None:
        """Refuse (before solving anything) a speed at which the sweep of ``length`` (m)
        with the approach and retract already takes longer than ``max_duration``."""
        cfg = self.cfg
        normal = 2.0 * self._duration(cfg.standoff, cfg.approach_speed)
        total = self._duration(length, speed) + normal
        if total <= cfg.max_duration:
            return
        room = cfg.max_duration - normal
        hint = (
            f": scan at about {length / room * 1e3:.3g} mm/s or faster"
            if room > 0
            else ": approach and retract alone take longer"
        )
        raise PlanningError(
            FailureReason.TOO_LONG,
            f"at {speed * 1e3:.3g} mm/s the {length * 1e3:.1f} mm sweep makes the plan at "
            f"least {total:.4g} s long; the longest allowed is {cfg.max_duration:g} s "
            f"(trajectory.max_duration){hint}",
        )

    def _check_in_workspace(self, kind: SegmentKind, points: np.ndarray, s: np.ndarray) -> None:
        """Refuse probe-tip ``points`` (N x 3, m) of segment ``kind`` outside the workspace
        box, naming the first run outside (arc length ``s`` on the sweep)."""
        if self.workspace is None or len(points) == 0:
            return
        excess, axis = self.workspace.excess(points)
        if not np.any(excess > 0.0):
            return
        i, j = first_run(excess > 0.0)
        k = i + int(np.argmax(excess[i : j + 1]))
        how = self.workspace.describe(float(excess[k]), int(axis[k]))
        if kind is SegmentKind.SWEEP:
            where = f"the path leaves the workspace {how} {span_text(s[i], s[j])}"
            span = (float(s[i]), float(s[j]))
        else:
            what = {
                SegmentKind.TRANSFER: "the transfer move to the approach",
                SegmentKind.APPROACH: "the approach to the path start",
                SegmentKind.RETRACT: "the retract from the path end",
            }[kind]
            where = f"{what} leaves the workspace {how}"
            span = (float(s[i]), float(s[j])) if kind is not SegmentKind.TRANSFER else None
        raise PlanningError(FailureReason.WORKSPACE, where, span_m=span)

    def _checked(
        self, planned: tuple[ScanPlan, list[TransferMove]]
    ) -> tuple[ScanPlan, list[TransferMove]]:
        """The assembled plan, refused if it is longer than ``max_duration`` or any of its
        poses leaves the workspace box."""
        plan = planned[0]
        if plan.duration_s > self.cfg.max_duration:
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in plan.segment_durations_s.items())
            raise PlanningError(
                FailureReason.TOO_LONG,
                f"the plan takes {plan.duration_s:.1f} s ({parts}); the longest allowed is "
                f"{self.cfg.max_duration:g} s (trajectory.max_duration)",
            )
        # approach and retract first: a transfer leaves the box too when they do
        for kind in (SegmentKind.APPROACH, SegmentKind.RETRACT, SegmentKind.TRANSFER):
            i = plan.segment(kind)
            self._check_in_workspace(kind, plan.poses[i, :3, 3], plan.arc_length[i])
        return planned

    def _transfer_moves(
        self, q_start: np.ndarray, q_approach: np.ndarray, T_approach: np.ndarray
    ) -> list[TransferMove]:
        """The joint moves from ``q_start`` to the pre-approach joints ``q_approach``
        (pose ``T_approach``): through the pre-approach pose raised by
        ``transfer_clearance`` along base z (solved from ``q_approach``), so the probe
        comes down onto the stand-off from above instead of swinging through the body;
        one direct move when the clearance is 0 or the raised pose is not feasible."""
        lift = self.cfg.transfer_clearance
        if lift > 0.0:
            T_via = np.array(T_approach, dtype=float)
            T_via[2, 3] += lift
            q_via, reached = self.ik.solve(T_via, q_approach)
            if self.ik.check(q_via, T_via, reached)[0] is None:
                return [
                    TransferMove(q_start, q_via, self.transfer_limits),
                    TransferMove(q_via, q_approach, self.transfer_limits),
                ]
        return [TransferMove(q_start, q_approach, self.transfer_limits)]

    def _assemble(
        self,
        smooth: SmoothPath,
        T_sweep: np.ndarray,
        sol: _Solution,
        q_start: np.ndarray,
        plane: ImagingPlane,
        speed: float,
        flipped: bool,
    ) -> tuple[ScanPlan, list[TransferMove]]:
        cfg = self.cfg
        T_app, T_ret = sol.T_approach, sol.T_retract
        moves = self._transfer_moves(q_start, sol.q_approach[0], T_app[0])
        q_tr = np.concatenate([m.sample(cfg.transfer_sample_dt)[1][:-1] for m in moves])
        # (the last sample of each move is the next move's first; of the last move, the
        # first approach pose)
        T_tr = np.array([self.kin.fk(q) for q in q_tr]).reshape(-1, 4, 4)
        length = smooth.length
        normal_time = self._duration(cfg.standoff, cfg.approach_speed)
        durations = {
            SegmentKind.TRANSFER.value: sum(m.duration for m in moves),
            SegmentKind.APPROACH.value: normal_time,
            SegmentKind.SWEEP.value: self._duration(length, speed),
            SegmentKind.RETRACT.value: normal_time,
        }
        parts = [
            (SegmentKind.TRANSFER, T_tr, q_tr, np.zeros(len(q_tr))),
            (SegmentKind.APPROACH, T_app, sol.q_approach, np.zeros(len(T_app))),
            (SegmentKind.SWEEP, T_sweep, sol.q_sweep, smooth.s),
            (SegmentKind.RETRACT, T_ret, sol.q_retract, np.full(len(T_ret), length)),
        ]
        kinds: list[SegmentKind] = []
        for kind, T, _, _ in parts:
            kinds += [kind] * len(T)
        plan = ScanPlan(
            poses=np.concatenate([p[1] for p in parts]),
            arc_length=np.concatenate([p[3] for p in parts]),
            joints=np.concatenate([p[2] for p in parts]),
            kinds=kinds,
            speed_m_s=speed,
            duration_s=float(sum(durations.values())),
            robot=self.kin.model,
            plane=str(plane),
            flipped=flipped,
            max_speed_m_s=float(
                min(speed_limit(sol.q_sweep, smooth.s, self.qd_max).min(), MAX_SCAN_SPEED)
            ),
            segment_durations_s=durations,
        )
        return plan, moves
