"""The sweep's feed-forward twist: how the probe pose changes per metre of arc length
along a ``ProbePath`` (``unit_twist``: a finite difference of ``pose_at`` over ``STEP``),
tabulated once when the scan is planned so that a control cycle only interpolates it.

Real-time contract of ``SweepTwist.twist_into``: Python-float arithmetic on a precomputed
list of tuples, writes the caller's 6-vector in place, no numpy allocation.
"""

from __future__ import annotations

import numpy as np

from force_control.pose_error import rotation_log
from trajectory.probe_path import ProbePath

#: Arc-length step (m) of the finite difference and of the table.
STEP = 0.0005


def unit_twist(path: ProbePath, s: float) -> np.ndarray:
    """``[dp/ds; w/ds]`` (base frame; 1 and rad per metre of arc) at arc length ``s`` (m):
    the finite difference over ``[s, s + STEP]``, taken at ``length - STEP`` near the end."""
    s0 = min(s, path.length - STEP)
    Ta, Tb = path.pose_at(s0, np.eye(4)), path.pose_at(s0 + STEP, np.eye(4))
    w = rotation_log(Ta[:3, :3].T @ Tb[:3, :3], np.zeros(3))
    return np.concatenate([Tb[:3, 3] - Ta[:3, 3], Ta[:3, :3] @ w]) / STEP


class SweepTwist:
    """``unit_twist`` of a path every ``STEP`` of arc length, linearly interpolated."""

    def __init__(self, path: ProbePath) -> None:
        n = int(np.ceil(path.length / STEP)) + 1
        self._rows = [tuple(unit_twist(path, min(k * STEP, path.length))) for k in range(n)]
        self._last = n - 1

    def twist_into(self, s: float, s_dot: float, out: np.ndarray) -> np.ndarray:
        """The reference twist ``[v; w]`` (base frame, m/s and rad/s) at arc length ``s``
        (m) and path speed ``s_dot`` (m/s) into ``out`` (6); zero when not moving ahead."""
        if s_dot <= 0.0:
            out[:] = 0.0
            return out
        x = max(s, 0.0) / STEP
        k = int(x)
        if k >= self._last:
            k, u = self._last - 1, 1.0
        else:
            u = x - k
        a, b = self._rows[k], self._rows[k + 1]
        ka, kb = (1.0 - u) * s_dot, u * s_dot
        for i in range(6):
            out[i] = ka * a[i] + kb * b[i]
        return out
