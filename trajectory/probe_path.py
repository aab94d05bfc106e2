"""The sweep as a function of arc length: ``pose_at(s, out)`` gives T_base_probe at any s
(m) by interpolating the planned poses (position linearly, orientation by normalised
quaternion interpolation; neighbours are <= 1 resample step apart and turn by less than
``max_orientation_rate`` * step, so the error against slerp is negligible).

Real-time contract of ``pose_at``: called once per cycle with the law's s; pure Python
float arithmetic on precomputed tuples, writes the caller's 4x4 array in place, no numpy
allocation.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from robot_us.core.types import ScanPlan, SegmentKind


class ProbePath:
    """Probe poses along the sweep, indexed by arc length."""

    def __init__(self, s: np.ndarray, poses: np.ndarray) -> None:
        s = np.asarray(s, dtype=float)
        poses = np.asarray(poses, dtype=float)
        if len(s) < 2 or poses.shape != (len(s), 4, 4) or np.any(np.diff(s) <= 0.0):
            raise ValueError("ProbePath needs >= 2 poses (N x 4 x 4) at increasing arc lengths")
        q = Rotation.from_matrix(poses[:, :3, :3]).as_quat()  # x y z w
        for i in range(1, len(q)):  # same hemisphere as the neighbour: shortest way round
            if q[i] @ q[i - 1] < 0.0:
                q[i] = -q[i]
        self.length = float(s[-1])
        self._s = s.tolist()
        self._inv_step = 1.0 / float(s[1] - s[0])
        self._p = [tuple(p) for p in poses[:, :3, 3].tolist()]
        self._q = [tuple(v) for v in q.tolist()]
        self._last = len(s) - 2

    @classmethod
    def from_plan(cls, plan: ScanPlan) -> ProbePath:
        """The sweep segment of a plan."""
        idx = plan.segment(SegmentKind.SWEEP)
        return cls(plan.arc_length[idx], plan.poses[idx])

    def pose_at(self, s: float, out: np.ndarray) -> np.ndarray:
        """Write T_base_probe at arc length ``s`` (m, clamped to the path) into ``out``
        (4x4) and return it."""
        ss = self._s
        if s <= 0.0:
            s = 0.0
        elif s >= self.length:
            s = self.length
        i = int(s * self._inv_step)
        if i > self._last:
            i = self._last
        while i > 0 and ss[i] > s:  # rounding, or the last (shorter/longer) step
            i -= 1
        while i < self._last and ss[i + 1] < s:
            i += 1
        u = (s - ss[i]) / (ss[i + 1] - ss[i])
        v = 1.0 - u
        px, py, pz = self._p[i]
        rx, ry, rz = self._p[i + 1]
        ax, ay, az, aw = self._q[i]
        bx, by, bz, bw = self._q[i + 1]
        x, y, z, w = v * ax + u * bx, v * ay + u * by, v * az + u * bz, v * aw + u * bw
        k = 2.0 / (x * x + y * y + z * z + w * w)
        out[0, 0] = 1.0 - k * (y * y + z * z)
        out[0, 1] = k * (x * y - z * w)
        out[0, 2] = k * (x * z + y * w)
        out[1, 0] = k * (x * y + z * w)
        out[1, 1] = 1.0 - k * (x * x + z * z)
        out[1, 2] = k * (y * z - x * w)
        out[2, 0] = k * (x * z - y * w)
        out[2, 1] = k * (y * z + x * w)
        out[2, 2] = 1.0 - k * (x * x + y * y)
        out[0, 3] = v * px + u * rx
        out[1, 3] = v * py + u * ry
        out[2, 3] = v * pz + u * rz
        out[3, 0] = out[3, 1] = out[3, 2] = 0.0
        out[3, 3] = 1.0
        return out
