"""Cartesian twist -> joint velocity by damped least squares, with a secondary task in the
null space that pulls redundant (7-DoF) arms away from their joint limits.

    qd = qd0 + J^T (J J^T + lambda^2 I)^-1 (v - J qd0)

``qd0`` is the joint-limit-avoidance velocity (active only in the outer part of each
joint's range); the formula equals ``J# v + (I - J# J) qd0``
with ``J#`` the damped pseudo-inverse, using one 6x6 symmetric positive-definite solve
(LAPACK ``dposv``, Cholesky: a 6x6 solve without numpy's wrapper overhead) and no explicit
inverse. The Cholesky factor also gives the manipulability ``sqrt(det(J J^T))``; below
``manipulability_threshold`` the damping rises towards ``singular_damping`` (second solve).

Real-time contract: preallocated work arrays; ``dposv`` returns its small factor and
solution arrays (allocated by LAPACK's wrapper, a few microseconds). Products use
``np.dot`` (lighter dispatch than ``np.matmul`` for these small BLAS calls).
"""

from __future__ import annotations

import math
from operator import mul, sub

import numpy as np
from scipy.linalg import lapack

#: The joint-limit avoidance acts only where a joint is further than this fraction of its
#: half-range from mid-range (so a pose held mid-range has no self-motion).
NULLSPACE_ACTIVATION = 0.5


class DampedLeastSquares:
    """Twist (6, [v; w]) -> joint velocity for an ``n``-joint arm whose Jacobian is
    expressed in the same frame as the twist."""

    def __init__(
        self,
        q_lower: np.ndarray,
        q_upper: np.ndarray,
        damping: float,
        singular_damping: float,
        manipulability_threshold: float,
        nullspace_gain: float,
    ) -> None:
        self.n = len(q_lower)
        self.q_mid = 0.5 * (np.asarray(q_lower, float) + np.asarray(q_upper, float))
        self.inv_half_range = 2.0 / (np.asarray(q_upper, float) - np.asarray(q_lower, float))
        self.lambda0_sq = damping**2
        self.lambda1_sq = singular_damping**2
        self.w_threshold = manipulability_threshold
        self.k_null = nullspace_gain
        self.use_nullspace = self.n > 6 and nullspace_gain > 0.0
        self.qd = np.zeros(self.n)
        self.qd0 = np.zeros(self.n)
        self.manipulability = 0.0
        self._A = np.zeros((6, 6))
        self._A_diag = self._A.reshape(-1)[::7]  # a view of the diagonal
        self._r = np.zeros(6)
        self._scale = 1.0 / (1.0 - NULLSPACE_ACTIVATION) ** 2
        self._mid = self.q_mid.tolist()
        self._ihr = self.inv_half_range.tolist()
        self._qd0 = [0.0] * self.n
        self._qd0_nonzero = False

    def nullspace_velocity(self, q: np.ndarray) -> bool:
        """Joint-limit avoidance velocity (rad/s, into ``qd0``) towards mid-range: zero
        while the normalised joint position rho (in [-1, 1] over the range) is within
        ``NULLSPACE_ACTIVATION``, then rising quadratically to ``k`` at the limit.
        Returns False when it is zero on every joint."""
        gain = -self.k_null * self._scale
        rhos = list(map(mul, map(sub, q.tolist(), self._mid), self._ihr))
        # |rho| - a > 0 exactly when |rho| > a: the common all-inside case stays in C
        active = max(map(abs, rhos)) > NULLSPACE_ACTIVATION
        if active:
            out = self._qd0
            for i, rho in enumerate(rhos):
                x = abs(rho) - NULLSPACE_ACTIVATION
                out[i] = (gain * x * x if rho > 0.0 else -gain * x * x) if x > 0.0 else 0.0
            self.qd0[:] = out
        elif self._qd0_nonzero:
            self.qd0[:] = 0.0
        self._qd0_nonzero = active
        return active

    def solve(
        self, J: np.ndarray, twist: np.ndarray, q: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Joint velocity (rad/s) realising ``twist`` at ``q`` with Jacobian ``J``
        (6 x n); written into and returning ``out`` (default ``self.qd``)."""
        A = self._A
        np.dot(J, J.T, out=A)
        self._A_diag += self.lambda0_sq  # A = J J^T + lambda0^2 I
        null = self.use_nullspace and self.nullspace_velocity(q)
        if null:
            r = self._r
            np.dot(J, self.qd0, out=r)
            np.subtract(twist, r, out=r)
        else:
            r = twist  # dposv copies its right-hand side
        c, y, info = lapack.dposv(A, r)
        if info != 0:
            raise np.linalg.LinAlgError(f"damped least squares: dposv failed (info={info})")
        w = math.prod(c.diagonal().tolist())
        self.manipulability = w
        if w < self.w_threshold:
            x = 1.0 - w / self.w_threshold
            extra = (self.lambda1_sq - self.lambda0_sq) * x * x
            self._A_diag += extra  # dposv left A as it was
            c, y, info = lapack.dposv(A, r)
            if info != 0:
                raise np.linalg.LinAlgError(f"damped least squares: dposv failed ({info})")
        qd = self.qd if out is None else out
        np.dot(y, J, out=qd)  # J^T y
        if null:
            qd += self.qd0
        return qd
