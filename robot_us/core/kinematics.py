"""Arm kinematics for the loop and the planners: roboticstoolbox ETS models (C++ backed,
~10-20 us per call), never DH models, built from the arm's entry in the arm-model registry
(``robot_us.core.arms``). Frames: ``base`` -> ``flange`` -> ``probe`` (tip).

Real-time contract: ``fk`` and ``jacobian`` write into caller-provided arrays when given;
roboticstoolbox itself allocates its small result arrays (measured in bench/loop_timing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_us.core.arms import arm_model


def _c_entry_points(ets):
    """roboticstoolbox's C++ forward kinematics / Jacobian entry points for ``ets``, or
    None. ``ETS.eval``/``ETS.jacob0`` spend 10-30 us per call resolving their arguments
    in Python before the ~3 us C++ call; for an unbranched arm (compact q = global q)
    calling the entry points directly gives identical results (checked at start). The
    compiled functions themselves (``_fknm_c``) are preferred over the ``fknm`` facade,
    whose per-call symbolic-input and array-conversion checks cost another ~1 us; the
    arguments are then made C-contiguous float64 here."""
    try:
        from roboticstoolbox.ets.fknm import ETS_fkine, ETS_jacob0
    except ImportError:
        return None
    try:
        from roboticstoolbox._fknm_c import ETS_fkine as fkine_c
        from roboticstoolbox._fknm_c import ETS_jacob0 as jacob0_c
    except ImportError:
        fkine_c, jacob0_c = ETS_fkine, ETS_jacob0
    handle = getattr(ets, "_fknm", None)
    if handle is None or list(ets.jindices) != list(range(ets.n)):
        return None
    return handle, fkine_c, jacob0_c


def probe_transform(tip_offset: float) -> np.ndarray:
    """T_flange_probe: a translation of ``tip_offset`` (m, ``cfg.probe.tip_offset``) along
    the flange z axis (the probe frame shares the flange's axes)."""
    T = np.eye(4)
    T[2, 3] = tip_offset
    return T


@dataclass(frozen=True)
class JointLimits:
    """Joint position limits (rad) and velocity limits (rad/s)."""

    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray


class ArmKinematics:
    """Forward kinematics and geometric Jacobian of the registered arm ``model`` carrying a
    tool (the probe) at ``T_flange_tool``; ``arm`` is its registry entry, ``limits`` and
    ``q_ready`` (rad) come from it."""

    def __init__(self, model: str, T_flange_tool: np.ndarray | None = None) -> None:
        self.arm = arm_model(model)
        self.model = model
        self.ets = self.arm.ets()
        self.n = self.ets.n
        if self.n != self.arm.n_joints:
            raise ValueError(
                f"arm model '{model}': its ETS has {self.n} joints, the entry {self.arm.n_joints}"
            )
        self.T_flange_tool = (
            np.eye(4) if T_flange_tool is None else np.array(T_flange_tool, dtype=float)
        )
        self._T_tool_flange: np.ndarray | None = None  # inverse, made on first ``ik``
        a = self.arm
        self.limits = JointLimits(np.array(a.q_lower), np.array(a.q_upper), np.array(a.qd_max))
        self.q_ready = np.array(a.q_ready, dtype=float)
        self._c = _c_entry_points(self.ets)
        if self._c is not None:  # self-check against the public methods, else fall back
            q = self.q_ready + 0.1
            same_T = np.allclose(self.fk(q), self.ets.eval(q, tool=self.T_flange_tool))
            same_J = np.allclose(self.jacobian(q), self.ets.jacob0(q, tool=self.T_flange_tool))
            if not (same_T and same_J):
                self._c = None

    def home(self, q_home: tuple[float, ...] | list[float] = ()) -> np.ndarray:
        """The start configuration (rad): ``q_home`` (``robot.q_home``) when given, else the
        arm's own ``q_home``. A wrong number of values is a ``ValueError`` naming the key."""
        if len(q_home) == 0:
            return np.array(self.arm.q_home, dtype=float)
        if len(q_home) != self.n:
            raise ValueError(
                f"robot.q_home has {len(q_home)} values; the {self.arm.name} has {self.n} joints"
            )
        return np.array(q_home, dtype=float)

    @property
    def fast(self) -> bool:
        """True when the C++ entry points are used directly (see ``_c_entry_points``)."""
        return self._c is not None

    def fk(self, q: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """T_base_tool (4x4) at ``q`` (rad); written into ``out`` when given."""
        if self._c is not None:
            handle, fkine, _ = self._c
            T = fkine(handle, np.ascontiguousarray(q, dtype=float), None, self.T_flange_tool, True)
        else:
            T = self.ets.eval(q, tool=self.T_flange_tool)
        if out is None:
            return T
        out[:] = T
        return out

    def jacobian(self, q: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Geometric Jacobian (6 x n) of the tool point in the base frame, rows [v; w]."""
        if self._c is not None:
            handle, _, jacob0 = self._c
            J = jacob0(handle, np.ascontiguousarray(q, dtype=float), self.T_flange_tool)
        else:
            J = self.ets.jacob0(q, tool=self.T_flange_tool)
        if out is None:
            return J
        out[:] = J
        return out

    def ik(
        self,
        T_base_tool: np.ndarray,
        q0: np.ndarray | None,
        *,
        iterations: int = 100,
        searches: int = 20,
        tol: float = 1e-10,
        joint_limits: bool = True,
    ) -> tuple[np.ndarray, bool, str]:
        """Joint positions (rad) putting the tool at ``T_base_tool``, searched from ``q0``
        (None: random starts) by roboticstoolbox's ``ik_LM`` (``searches`` restarts of
        ``iterations`` steps); returns (q, converged, reason). Planning and set-up only."""
        if self._T_tool_flange is None:
            self._T_tool_flange = np.linalg.inv(self.T_flange_tool)
        sol = self.ets.ik_LM(
            T_base_tool @ self._T_tool_flange,
            q0=q0,
            ilimit=iterations,
            slimit=searches,
            tol=tol,
            joint_limits=joint_limits,
        )
        return np.asarray(sol.q, dtype=float), bool(sol.success), str(sol.reason)
