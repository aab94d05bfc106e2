"""Preallocated column ring buffers for records: written in place (newest overwrite
oldest), read back in time order afterwards.

Real-time contract: ``push`` writes slot ``count % capacity`` of each column and then
increments ``count``; no array is allocated, no lock is taken (one writer).
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
    """One preallocated numpy column per name in ``COLUMNS`` (name -> dtype, or (dtype,
    shape) for a column of arrays), each an attribute of the ring."""

    COLUMNS: ClassVar[dict[str, type | tuple[type, tuple[int, ...]]]] = {}

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"ring capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.count = 0  # total records ever written
        cols = []
        for name, spec in self.COLUMNS.items():
            dtype, shape = spec if isinstance(spec, tuple) else (spec, ())
            col = np.zeros((capacity, *shape), dtype=dtype)
            setattr(self, name, col)
            cols.append(col)
        self._cols = tuple(cols)

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def push(self, *values) -> None:
        """Record one row: one value per column, in the order of ``COLUMNS`` (overwrites
        the oldest row when full)."""
        if len(values) != len(self._cols):
            raise TypeError(
                f"{type(self).__name__}.push takes {len(self._cols)} values "
                f"({', '.join(self.COLUMNS)}), got {len(values)}"
            )
        i = self.count % self.capacity
        for col, v in zip(self._cols, values, strict=True):
            col[i] = v
        self.count += 1

    def ordered(self, name: str) -> np.ndarray:
        """The stored records of column ``name``, oldest first (a copy)."""
        if name not in self.COLUMNS:
            raise KeyError(f"no column '{name}' in {type(self).__name__}: {list(self.COLUMNS)}")
        return ordered(getattr(self, name), self.count, self.capacity)
