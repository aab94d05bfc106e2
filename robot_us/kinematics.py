"""Arm kinematics for the loop and the planners: roboticstoolbox ETS models (C++ backed,
~10-20 us per call), never DH models. Frames: ``base`` -> ``flange`` -> ``probe`` (tip).

Real-time contract: ``fk`` and ``jacobian`` write into caller-provided arrays when given;
roboticstoolbox itself allocates its small result arrays (measured in bench/loop_timing).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

#: Flange link name of each supported arm in its roboticstoolbox model.
FLANGE_LINKS = {"panda": "panda_link8", "lbr": "tool0"}


@cache
def _robot(model: str):
    import roboticstoolbox as rtb

    factories = {"panda": rtb.models.Panda, "lbr": rtb.models.LBR}
    if model not in factories:
        raise ValueError(f"unknown robot model '{model}'; available: {', '.join(factories)}")
    return factories[model]()


@dataclass(frozen=True)
class JointLimits:
    """Joint position limits (rad) and velocity limits (rad/s)."""

    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray


#: Joint velocity limits (rad/s) from the manufacturers' data sheets.
VELOCITY_LIMITS = {
    "panda": np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]),
    "lbr": np.array([1.483, 1.483, 1.745, 1.308, 2.268, 2.356, 2.356]),  # iiwa 14 R820
}


class ArmKinematics:
    """Forward kinematics and geometric Jacobian of an arm with a tool (the probe)."""

    def __init__(self, model: str, T_flange_tool: np.ndarray | None = None) -> None:
        robot = _robot(model)
        self.model = model
        self.ets = robot.ets(end=FLANGE_LINKS[model])
        self.n = self.ets.n
        self.T_flange_tool = (
            np.eye(4) if T_flange_tool is None else np.array(T_flange_tool, dtype=float)
        )
        qlim = np.array(robot.qlim, dtype=float)
        self.limits = JointLimits(qlim[0].copy(), qlim[1].copy(), VELOCITY_LIMITS[model].copy())
        self.q_ready = np.array(robot.qr, dtype=float)

    def fk_flange(self, q: np.ndarray) -> np.ndarray:
        """T_base_flange (4x4) at joint positions ``q`` (rad)."""
        return self.ets.eval(q)

    def fk(self, q: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """T_base_tool (4x4) at ``q`` (rad); written into ``out`` when given."""
        T = self.ets.eval(q, tool=self.T_flange_tool)
        if out is None:
            return T
        out[:] = T
        return out

    def jacobian(self, q: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Geometric Jacobian (6 x n) of the tool point in the base frame, rows [v; w]."""
        J = self.ets.jacob0(q, tool=self.T_flange_tool)
        if out is None:
            return J
        out[:] = J
        return out
