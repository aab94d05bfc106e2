"""The workspace box the probe tip must stay in (base frame), as the planner checks it: a
plan that leaves it would be stopped by the safety supervisor's workspace layer, so it is
refused when planned, naming where and by how much it leaves the box."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AXES = "xyz"


@dataclass(frozen=True)
class WorkspaceBox:
    """Axis-aligned box: ``lower`` and ``upper`` corners (3, m, base frame); ``name`` says
    where it comes from in messages (e.g. the configuration keys)."""

    lower: np.ndarray
    upper: np.ndarray
    name: str = "the workspace box"

    def __post_init__(self) -> None:
        lo = np.asarray(self.lower, dtype=float)
        hi = np.asarray(self.upper, dtype=float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite([lo, hi])):
            raise ValueError(f"{self.name}: corners must be 3 finite numbers each (m)")
        if np.any(lo >= hi):
            raise ValueError(f"{self.name}: {lo.tolist()} .. {hi.tolist()} is not a box")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    def excess(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per point (N x 3, m): how far (m) it lies outside the box (0 inside) and along
        which axis (index 0-2) it is furthest out."""
        over = np.maximum(self.lower - points, points - self.upper)  # N x 3
        axis = np.argmax(over, axis=1)
        return np.maximum(over[np.arange(len(points)), axis], 0.0), axis

    def describe(self, distance: float, axis: int) -> str:
        """'by 12.0 mm along z (the workspace box 0.2..0.95, ... m)'."""
        corners = ", ".join(f"{AXES[i]} {self.lower[i]:g}..{self.upper[i]:g}" for i in range(3))
        return f"by {distance * 1e3:.1f} mm along {AXES[axis]} ({self.name}: {corners} m)"
