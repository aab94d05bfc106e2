"""Joint velocity and acceleration limits on a joint velocity command. Both scale the
command uniformly (the Cartesian direction of motion is kept, only slowed), and report
the achieved fraction so the admittance can back-calculate (anti-windup).

Real-time contract: allocation-free.
"""

from __future__ import annotations

import numpy as np

_max = np.maximum.reduce


class JointRateLimiter:
    """Limits ``|qd| <= velocity_limit`` and ``|qd - qd_prev| <= acceleration_limit * dt``."""

    def __init__(self, velocity_limit: np.ndarray, acceleration_limit: np.ndarray, dt: float):
        self.vmax = np.asarray(velocity_limit, float).copy()
        self.dv_max = np.asarray(acceleration_limit, float) * dt * np.ones_like(self.vmax)
        if np.any(self.vmax <= 0) or np.any(self.dv_max <= 0):
            raise ValueError("joint velocity and acceleration limits must be > 0")
        self.prev = np.zeros(len(self.vmax))  # the last command actually sent
        self.velocity_scale = 1.0
        self.acceleration_scale = 1.0
        self._t = np.zeros(len(self.vmax))

    def reset(self, qd: np.ndarray | float = 0.0) -> None:
        """Set the previous command (e.g. the measured joint velocity at start)."""
        self.prev[:] = qd

    def limit(self, qd: np.ndarray) -> float:
        """Limit ``qd`` in place; returns the velocity-limit scale (1.0 when not limited;
        the short-lived acceleration scaling is in ``acceleration_scale``)."""
        t = self._t
        np.abs(qd, out=t)
        np.divide(t, self.vmax, out=t)
        peak = float(_max(t))
        s = 1.0 if peak <= 1.0 else 1.0 / peak
        if s < 1.0:
            qd *= s
        self.velocity_scale = s
        # acceleration: scale the change uniformly
        np.subtract(qd, self.prev, out=t)
        np.abs(t, out=t)
        np.divide(t, self.dv_max, out=t)
        peak = float(_max(t))
        b = 1.0 if peak <= 1.0 else 1.0 / peak
        if b < 1.0:
            qd -= self.prev
            qd *= b
            qd += self.prev
        self.acceleration_scale = b
        self.prev[:] = qd
        return s
