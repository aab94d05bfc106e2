"""Cartesian twist -> joint velocity by damped least squares, with a secondary task in the
null space that pulls redundant (7-DoF) arms away from their joint limits.

    qd = qd0 + J^T (J J^T + lambda^2 I)^-1 (v - J qd0)

``qd0`` is the joint-limit-avoidance velocity; the formula equals ``J# v + (I - J# J) qd0``
with ``J#`` the damped pseudo-inverse, using one 6x6 ``solve`` and no explicit inverse.
The damping rises from ``damping`` to ``singular_damping`` as the manipulability
``sqrt(det(J J^T))`` falls below ``manipulability_threshold``.

Real-time contract: preallocated work arrays; ``np.linalg.solve`` and ``det`` allocate
their small results internally (a few microseconds, measured in bench/force_tracking).
"""

from __future__ import annotations

import math

import numpy as np


class DampedLeastSquares:
    """Twist (base frame, [v; w]) -> joint velocity for an ``n``-joint arm."""

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
        self._r = np.zeros(6)
        self._rho = np.zeros(self.n)
        self._diag = np.arange(6) * 7  # flat indices of a 6x6 diagonal

    def nullspace_velocity(self, q: np.ndarray) -> np.ndarray:
        """Joint-limit avoidance velocity (rad/s): -k * rho^3 with rho the joint position
        normalised to [-1, 1] over its range (negligible mid-range, strong near limits)."""
        rho = self._rho
        np.subtract(q, self.q_mid, out=rho)
        rho *= self.inv_half_range
        np.power(rho, 3, out=self.qd0)
        self.qd0 *= -self.k_null
        return self.qd0

    def solve(self, J: np.ndarray, twist: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Joint velocity (rad/s) realising ``twist`` (6, base frame) at ``q`` with
        Jacobian ``J`` (6 x n); written into and returning ``self.qd``."""
        A = self._A
        np.matmul(J, J.T, out=A)
        det = np.linalg.det(A)
        w = math.sqrt(det) if det > 0.0 else 0.0
        self.manipulability = w
        lam_sq = self.lambda0_sq
        if w < self.w_threshold:
            x = 1.0 - w / self.w_threshold
            lam_sq += (self.lambda1_sq - self.lambda0_sq) * x * x
        A.flat[self._diag] += lam_sq
        r = self._r
        if self.use_nullspace:
            qd0 = self.nullspace_velocity(q)
            np.matmul(J, qd0, out=r)
            np.subtract(twist, r, out=r)
        else:
            r[:] = twist
        y = np.linalg.solve(A, r)
        np.matmul(y, J, out=self.qd)  # J^T y
        if self.use_nullspace:
            self.qd += self.qd0
        return self.qd
