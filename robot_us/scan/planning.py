"""The planning step of a scan, outside the control loop: map the stroke onto the skin
(if the request has one), plan the scan from the arm's current joints, and prepare what
the loop needs (the sweep as a ``ProbePath`` and its feed-forward twist table, the time
law, the transfer move). Takes tens
to a few hundred milliseconds; the scan runs it from ``Scan.service()``, never from a
control cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.stroke_mapping import StrokeMapper, StrokeMapping
from robot_us.config import Config
from robot_us.core.kinematics import ArmKinematics
from robot_us.core.types import ScanPlan, SegmentKind
from robot_us.scan.messages import ScanRequest
from robot_us.scan.sweep_twist import SweepTwist
from trajectory.planner import ScanPlanner
from trajectory.probe_path import ProbePath
from trajectory.time_law import ArcTimeLaw, TimeLawLimits
from trajectory.transfer import TransferMove
from trajectory.workspace import WorkspaceBox


class ScanPlanningError(ValueError):
    """The stroke could not be mapped or the path not planned (message names the cause;
    ``stage`` is ``mapping`` or ``planning``)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@dataclass
class PlannedScan:
    """Everything the loop needs for one scan."""

    plan: ScanPlan
    path: ProbePath  # the sweep, pose at arc length
    twist: SweepTwist  # the sweep's feed-forward twist at arc length and path speed
    law: ArcTimeLaw
    transfer: list[TransferMove]  # the joint moves to the pre-approach pose, in order
    q_approach: np.ndarray  # rad, the pre-approach joints (transfer goal)
    T_path_start: np.ndarray  # 4x4, the first sweep pose (on the skin)
    mapping: StrokeMapping | None = None

    @property
    def length(self) -> float:
        """Sweep length (m)."""
        return self.path.length


def make_planner(cfg: Config, kin: ArmKinematics) -> ScanPlanner:
    """The scan planner of ``cfg`` for the arm ``kin``, holding plans to the safety
    supervisor's workspace box (``safety.workspace_min`` / ``workspace_max``)."""
    box = WorkspaceBox(
        cfg.safety.workspace_min, cfg.safety.workspace_max, "safety.workspace_min/max"
    )
    return ScanPlanner(kin, cfg.trajectory, workspace=box)


def plan_scan(
    cfg: Config, kin: ArmKinematics, request: ScanRequest, q_start: np.ndarray
) -> PlannedScan:
    """Map (if needed) and plan ``request`` from joints ``q_start`` (rad); raises
    ``ScanPlanningError`` naming the stage and the cause."""
    mapping = None
    path = request.path
    if path is None:
        try:
            mapping = StrokeMapper(cfg.perception).map(request.frame, request.stroke)
        except ValueError as exc:
            raise ScanPlanningError("mapping the stroke", str(exc)) from exc
        path = mapping.path
    dt = 1.0 / cfg.loop.rate_hz
    planner = make_planner(cfg, kin)
    q0 = np.array(q_start, dtype=float)
    try:
        plan, transfer = planner.plan_with_transfer(
            path, q0, plane=request.plane, speed=request.speed
        )
    except ValueError as exc:
        raise ScanPlanningError("planning", str(exc)) from exc
    probe_path = ProbePath.from_plan(plan)
    tr = cfg.trajectory
    law = ArcTimeLaw(
        TimeLawLimits(
            length=probe_path.length,
            max_speed=plan.speed_m_s,
            max_acceleration=tr.max_acceleration,
            max_jerk=tr.max_jerk,
            dt=dt,
        )
    )
    i_app = plan.segment(SegmentKind.APPROACH)
    i_sweep = plan.segment(SegmentKind.SWEEP)
    q_app = plan.joints[i_app[0]].copy()
    return PlannedScan(
        plan=plan,
        path=probe_path,
        twist=SweepTwist(probe_path),
        law=law,
        transfer=transfer,
        q_approach=q_app,
        T_path_start=plan.poses[i_sweep[0]].copy(),
        mapping=mapping,
    )
