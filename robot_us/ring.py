"""Preallocated column ring buffers for per-cycle records: written in place by the loop
(newest overwrite oldest), read back in time order outside it.

Real-time contract: a subclass's ``push`` writes slot ``count % capacity`` of each
column and then increments ``count``; no allocation, no lock (one writer).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np


def ordered(arr: np.ndarray, count: int, capacity: int) -> np.ndarray:
    """The records of a ring ``arr`` (``count`` ever written, ``capacity`` slots), oldest
    first, as a copy."""
    n = min(count, capacity)
    if count <= capacity:
        return arr[:n].copy()
    i = count % capacity
    return np.concatenate([arr[i:], arr[:i]])


class ColumnRing:
    """One preallocated numpy column per name in ``COLUMNS`` (name -> dtype), each an
    attribute of the ring; subclasses add a ``push`` for their record."""

    COLUMNS: ClassVar[dict[str, type]] = {}

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"ring capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.count = 0  # total records ever written
        for name, dtype in self.COLUMNS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def ordered(self, name: str) -> np.ndarray:
        """The stored records of column ``name``, oldest first (a copy)."""
        if name not in self.COLUMNS:
            raise KeyError(f"no column '{name}' in {type(self).__name__}: {list(self.COLUMNS)}")
        return ordered(getattr(self, name), self.count, self.capacity)
