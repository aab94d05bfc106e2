"""A planned scan from the server process (which plans) to the control process (which
executes): the plan's arrays, its sweep path and feed-forward twist table are pickled;
what holds a ruckig object (the transfer moves, the time law) is rebuilt on arrival from
the same inputs (joint goals, configured limits), which takes well under a millisecond.

Only the server's own child process reads these bytes, over a link in a private folder;
they never come from a client.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from robot_us.config import Config
from robot_us.core.kinematics import JointLimits
from robot_us.scan.planning import PlannedScan, assemble_planned
from trajectory.transfer import TransferLimits, TransferMove


def pack_plan(planned: PlannedScan, q_start: np.ndarray) -> bytes:
    """``planned`` (planned from joints ``q_start``, rad) as bytes."""
    payload: dict[str, Any] = {
        "plan": planned.plan,
        "path": planned.path,
        "twist": planned.twist,
        "q_start": np.asarray(q_start, dtype=float),
        "goals": [m.q_goal for m in planned.transfer],
    }
    return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def unpack_plan(cfg: Config, limits: JointLimits, data: bytes) -> tuple[PlannedScan, np.ndarray]:
    """The ``PlannedScan`` of ``pack_plan``'s bytes and the joints it starts from (rad);
    the transfer moves are recomputed with the arm's ``limits`` scaled as the planner
    does (``cfg.trajectory``)."""
    payload = pickle.loads(data)  # our own child process, over a private ipc folder
    tr = cfg.trajectory
    tl = TransferLimits.scaled(
        limits, tr.transfer_velocity_scale, tr.transfer_acceleration, tr.transfer_jerk
    )
    q_prev = payload["q_start"]
    moves = []
    for goal in payload["goals"]:
        moves.append(TransferMove(q_prev, goal, tl))
        q_prev = goal
    planned = assemble_planned(cfg, payload["plan"], payload["path"], payload["twist"], moves)
    return planned, payload["q_start"]
