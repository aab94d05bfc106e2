"""Inverse kinematics along a pose path, with the checks that make it executable: pose
reached (else out of reach), joints inside their limits with a margin, Yoshikawa
manipulability above a threshold (else near-singular), and no joint jump between
neighbouring poses above ``max_joint_jump_per_m`` (else discontinuity).

Each pose is solved with roboticstoolbox's C++ Levenberg-Marquardt solver seeded from the
previous pose's solution, after a small null-space step that moves the (7-DoF) arm
towards mid-range joints without moving the probe: the redundancy is spent on keeping
away from joint limits, and consecutive solutions stay on the same branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robot_us.core.kinematics import ArmKinematics
from trajectory.config import TrajectoryConfig
from trajectory.errors import FailureReason, first_run

#: Largest position error (m) of an IK solution counted as reaching the pose.
IK_POSITION_TOLERANCE = 1e-4
#: Largest orientation error (rad) of an IK solution counted as reaching the pose.
IK_ORIENTATION_TOLERANCE = 1e-3
#: Levenberg-Marquardt iterations per pose (seeded from a neighbour: 1-3 suffice).
IK_ITERATIONS = 50
#: Solver residual tolerance (0.5 e^T e with e in m and rad).
IK_RESIDUAL = 1e-12
#: Seeds tried for the first pose of a path (deterministic).
START_SEEDS = 12
#: The end of a failing run is searched every this many poses, then refined.
SPAN_STRIDE = 10
#: Fixed random seeds (besides the last solutions and the ready pose) tried there.
SPAN_RANDOM_SEEDS = 12
#: Null-space motion is capped to this many rad (largest joint) per metre of path.
NULLSPACE_MAX_RATE = 10.0


@dataclass
class TrackResult:
    """IK along a pose path: joints (N x n, rad) and, per pose, ``None`` or the failure
    reason with a short detail; ``solved`` counts the poses attempted."""

    q: np.ndarray
    reasons: list[FailureReason | None] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    solved: int = 0

    def first_failure(self) -> tuple[int, int, list[FailureReason], str] | None:
        """(first, last) index of the first run of failing poses, the reasons in the order
        they appear in that run, and the first detail; None if all passed."""
        bad = np.array([r is not None for r in self.reasons], dtype=bool)
        if not bad.any():
            return None
        i, j = first_run(bad)
        reasons: list[FailureReason] = []
        for r in self.reasons[i : j + 1]:
            if r is not None and r not in reasons:
                reasons.append(r)
        return i, j, reasons, self.details[i]


class PathIK:
    """IK and feasibility checks for probe poses (T_base_probe) on one arm."""

    def __init__(self, kin: ArmKinematics, cfg: TrajectoryConfig) -> None:
        self.kin = kin
        self.cfg = cfg
        lim = kin.limits
        self.lower = lim.lower + cfg.joint_limit_margin
        self.upper = lim.upper - cfg.joint_limit_margin
        self.centre = 0.5 * (lim.lower + lim.upper)
        self.half_range = 0.5 * (lim.upper - lim.lower)
        self.jacobian = kin.jacobian  # C++ entry points when available (robot_us.core.kinematics)

    def pose_error(self, q: np.ndarray, T_base_probe: np.ndarray) -> tuple[float, float]:
        """(position error m, orientation error rad) of the probe at ``q``."""
        T = self.kin.fk(q)
        dp = float(np.linalg.norm(T[:3, 3] - T_base_probe[:3, 3]))
        c = (np.trace(T[:3, :3].T @ T_base_probe[:3, :3]) - 1.0) / 2.0
        return dp, float(np.arccos(np.clip(c, -1.0, 1.0)))

    def manipulability(self, J: np.ndarray) -> float:
        """Yoshikawa manipulability sqrt(det(J J^T)) of a 6 x n Jacobian."""
        return float(np.sqrt(max(np.linalg.det(J @ J.T), 0.0)))

    def check(
        self, q: np.ndarray, T_base_probe: np.ndarray, reached: bool | None = None
    ) -> tuple[FailureReason | None, str, np.ndarray]:
        """Static checks of one solution: reached (``reached`` from the solver skips the
        forward-kinematics check when True), inside limits, away from singularity.
        Returns (reason or None, detail, tool Jacobian at q)."""
        J = self.jacobian(q)
        if not reached:
            dp, dr = self.pose_error(q, T_base_probe)
            if dp > IK_POSITION_TOLERANCE or dr > IK_ORIENTATION_TOLERANCE:
                return (
                    FailureReason.OUT_OF_REACH,
                    "no joint configuration puts the probe there (IK does not converge; "
                    f"{dp * 1e3:.0f} mm away at the last try)",
                    J,
                )
        below, above = q < self.lower, q > self.upper
        if below.any() or above.any():
            j = int(np.argmax(below | above))
            return (
                FailureReason.JOINT_LIMIT,
                f"joint {j + 1} at {q[j]:.3f} rad is outside [{self.lower[j]:.3f}, "
                f"{self.upper[j]:.3f}] rad (limits with a {self.cfg.joint_limit_margin} rad "
                "margin)",
                J,
            )
        w = self.manipulability(J)
        if w < self.cfg.min_manipulability:
            return (
                FailureReason.NEAR_SINGULAR,
                f"manipulability {w:.4f} < {self.cfg.min_manipulability}",
                J,
            )
        return None, "", J

    def solve(self, T_base_probe: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, bool]:
        """One IK solve from ``seed`` (no limit rejection: the checks classify); returns
        (q, converged)."""
        q, ok, _ = self.kin.ik(
            T_base_probe,
            seed,
            iterations=IK_ITERATIONS,
            searches=1,
            tol=IK_RESIDUAL,
            joint_limits=False,
        )
        return q, ok

    def start_candidates(
        self, T_base_probe: np.ndarray, q_start: np.ndarray, count: int
    ) -> list[np.ndarray]:
        """Up to ``count`` distinct feasible solutions for one pose, best first: far from
        joint limits and close to ``q_start``. Deterministic (fixed seeds)."""
        rng = np.random.default_rng(0)
        lim = self.kin.limits
        seeds = [q_start, self.kin.q_ready]
        seeds += [rng.uniform(lim.lower, lim.upper) for _ in range(START_SEEDS)]
        found: list[tuple[float, np.ndarray]] = []
        for seed in seeds:
            q, reached = self.solve(T_base_probe, seed)
            if self.check(q, T_base_probe, reached)[0] is not None:
                continue
            if any(np.abs(q - other).max() < 0.2 for _, other in found):
                continue
            span = self.upper - self.lower
            margin = float(np.min(np.minimum(q - self.lower, self.upper - q) / span))
            found.append((margin - 0.1 * float(np.linalg.norm(q - q_start)), q))
        found.sort(key=lambda item: -item[0])
        return [q for _, q in found[:count]]

    def _nullspace_step(self, q: np.ndarray, J: np.ndarray, ds: float) -> np.ndarray:
        """``q`` moved away from joint limits in the null space of the Jacobian ``J`` (at
        ``q``): the step is -gain * x / (1 - (x/h)^2)^2 per joint (x offset from mid-range,
        h half range; a scaled gradient of the Chan-Dubey joint-limit cost, ~ -gain * x near
        mid-range and growing without bound near a limit), projected, capped at
        ``NULLSPACE_MAX_RATE`` * ``ds``."""
        gain = self.cfg.redundancy_gain
        if gain <= 0.0:
            return q
        x = q - self.centre
        r = np.minimum((x / self.half_range) ** 2, 0.99)
        dq = -gain * x / (1.0 - r) ** 2
        dq -= J.T @ np.linalg.solve(J @ J.T, J @ dq)
        cap = NULLSPACE_MAX_RATE * ds
        big = float(np.abs(dq).max())
        if big > cap:
            dq *= cap / big
        return q + dq

    def _first_feasible(self, T: np.ndarray, seeds: list[np.ndarray]):
        """The first seed whose IK solution passes the static checks: (q, None, "") or
        (last q, reason, detail) if none does."""
        for seed in seeds:
            q, reached = self.solve(T, seed)
            reason, detail, _ = self.check(q, T, reached)
            if reason is None:
                return q, None, ""
        return q, reason, detail

    def _span_end(
        self, poses: np.ndarray, i: int, q_fail: np.ndarray, q_good: np.ndarray, out: TrackResult
    ) -> None:
        """Extend ``out`` (failed at pose ``i``) over the failing run: probe every
        ``SPAN_STRIDE`` poses from several seeds (the last failing and last good solutions,
        the ready pose, a few fixed random ones) until a pose is feasible again, then
        refine back to the first feasible pose. The run is out.reasons[i:out.solved]."""
        n = len(poses)
        rng = np.random.default_rng(1)
        lim = self.kin.limits
        extra = [rng.uniform(lim.lower, lim.upper) for _ in range(SPAN_RANDOM_SEEDS)]
        k, q_seed = i, q_fail

        def record(m: int, q: np.ndarray, reason, detail) -> None:
            out.q[m] = q
            while len(out.reasons) < m:  # poses skipped by the stride share the reason
                out.reasons.append(reason)
                out.details.append(detail)
            out.reasons.append(reason)
            out.details.append(detail)
            out.solved = m + 1

        while k < n - 1:
            nxt = min(k + SPAN_STRIDE, n - 1)
            seeds = [q_seed, q_good, self.kin.q_ready, *extra]
            q, reason, detail = self._first_feasible(poses[nxt], seeds)
            if reason is None:
                for m in range(k + 1, nxt):
                    q2, r2, d2 = self._first_feasible(poses[m], [q, q_seed, q_good])
                    if r2 is None:
                        record(m, q2, None, "")
                        return
                    record(m, q2, r2, d2)
                record(nxt, q, None, "")
                return
            record(nxt, q, reason, detail)
            k, q_seed = nxt, q

    def track(
        self,
        poses: np.ndarray,
        s: np.ndarray,
        q_prev: np.ndarray,
        s_prev: float | None = None,
        find_span_end: bool = False,
    ) -> TrackResult:
        """Solve every pose (N x 4 x 4) in order, seeding each from the previous solution
        (``q_prev`` before the first; ``s_prev`` its arc length, None = no jump check on
        the first pose). Stops at the first failing pose, or with ``find_span_end`` once the
        first failing run of poses has ended (retrying its poses from other seeds to find
        where the path becomes feasible again)."""
        n = len(poses)
        out = TrackResult(q=np.zeros((n, self.kin.n)))
        jump = self.cfg.max_joint_jump_per_m
        step = self.cfg.resample_step
        prev_ok = s_prev is not None
        s_last = s_prev if s_prev is not None else float(s[0])
        q_good = q_prev
        J_prev = self.jacobian(q_prev) if prev_ok else None
        for i in range(n):
            ds = max(abs(float(s[i]) - s_last), step)
            seed = self._nullspace_step(q_prev, J_prev, ds) if prev_ok else q_prev
            q, reached = self.solve(poses[i], seed)
            reason, detail, J = self.check(q, poses[i], reached)
            if reason is None and prev_ok:
                dq = float(np.abs(q - q_prev).max())
                if dq > jump * ds:
                    reason = FailureReason.DISCONTINUITY
                    detail = (
                        f"joints jump {dq:.3f} rad over {ds * 1e3:.1f} mm "
                        f"(limit {jump * ds:.3f} rad): the arm would switch configuration"
                    )
            out.q[i] = q
            out.reasons.append(reason)
            out.details.append(detail)
            out.solved = i + 1
            if reason is not None:
                if find_span_end:
                    self._span_end(poses, i, q, q_good, out)
                break
            q_good = q_prev = q
            J_prev, s_last = J, float(s[i])
            prev_ok = True
        return out
