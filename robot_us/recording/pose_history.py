"""Recent probe poses and wrenches from the state stream, to look up the pose and wrench
at an ultrasound frame's time. A preallocated sliding window (no per-drain reallocation):
rows append at the end; when full, the newest half moves to the front."""

from __future__ import annotations

import numpy as np


class PoseHistory:
    """The last ``capacity`` .. ``2 * capacity`` state rows' time, pose and wrench."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"pose history capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        size = 2 * capacity
        self.t = np.zeros(size)
        self.T = np.zeros((size, 3, 4))
        self.wrench = np.zeros((size, 6))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        """Append state rows (``robot_us.state_log`` layout), oldest first."""
        rows = rows[-self.capacity :]
        k = len(rows)
        if self.n + k > len(self.t):
            keep = min(self.n, self.capacity)
            src = slice(self.n - keep, self.n)
            self.t[:keep] = self.t[src]
            self.T[:keep] = self.T[src]
            self.wrench[:keep] = self.wrench[src]
            self.n = keep
        dst = slice(self.n, self.n + k)
        self.t[dst] = rows["t"]
        self.T[dst] = rows["T_base_probe"]
        self.wrench[dst] = rows["wrench"]
        self.n += k

    def latest_t(self) -> float | None:
        """Time of the newest row (s), None if empty."""
        return float(self.t[self.n - 1]) if self.n else None

    def lookup(self, t: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(T_base_probe 4x4, wrench) of the row nearest in time to ``t``; None if empty."""
        if self.n == 0:
            return None
        ts = self.t[: self.n]
        i = int(np.searchsorted(ts, t))
        if i >= self.n or (i > 0 and t - ts[i - 1] <= ts[i] - t):
            i = max(i - 1, 0)
        T = np.eye(4)
        T[:3] = self.T[i]
        return T, self.wrench[i].copy()
