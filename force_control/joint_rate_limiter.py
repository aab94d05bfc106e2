"""Joint velocity and acceleration limits on a joint velocity command. Both scale the
command uniformly (the Cartesian direction of motion is kept, only slowed), and report
the achieved fraction so the admittance can back-calculate (anti-windup).

Real-time contract: allocates no arrays (Python floats; the peak ratios are taken with
``map`` over the joints, which keeps the loops in C).
"""

from __future__ import annotations

from operator import sub, truediv

import numpy as np


class JointRateLimiter:
    """Limits ``|qd| <= velocity_limit`` and ``|qd - qd_prev| <= acceleration_limit * dt``."""

    def __init__(self, velocity_limit: np.ndarray, acceleration_limit: np.ndarray, dt: float):
        vmax = np.asarray(velocity_limit, float)
        dv_max = np.asarray(acceleration_limit, float) * dt * np.ones_like(vmax)
        if np.any(vmax <= 0) or np.any(dv_max <= 0):
            raise ValueError("joint velocity and acceleration limits must be > 0")
        self.n = len(vmax)
        self.vmax = vmax.tolist()
        self.dv_max = dv_max.tolist()
        self.prev = np.zeros(self.n)  # the last command actually sent
        self.velocity_scale = 1.0
        self.acceleration_scale = 1.0

    def reset(self, qd: np.ndarray | float = 0.0) -> None:
        """Set the previous command (e.g. the measured joint velocity at start)."""
        self.prev[:] = qd

    def limit(self, qd: np.ndarray) -> float:
        """Limit ``qd`` in place; returns the velocity-limit scale (1.0 when not limited;
        the short-lived acceleration scaling is in ``acceleration_scale``)."""
        q = qd.tolist()
        prev = self.prev.tolist()
        # max(0.0, ...) skips NaN ratios like a running "if r > peak" loop would
        peak = max(0.0, *map(truediv, map(abs, q), self.vmax))
        s = 1.0 if peak <= 1.0 else 1.0 / peak
        qs = q if s == 1.0 else [s * x for x in q]
        peak = max(0.0, *map(truediv, map(abs, map(sub, qs, prev)), self.dv_max))
        b = 1.0 if peak <= 1.0 else 1.0 / peak
        if s < 1.0 or b < 1.0:
            q = [p + b * (x - p) for x, p in zip(qs, prev, strict=True)]
            qd[:] = q
        self.velocity_scale = s
        self.acceleration_scale = b
        self.prev[:] = q
        return s
