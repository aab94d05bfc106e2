"""Reading preallocated ring buffers back in time order (outside the loop)."""

from __future__ import annotations

import numpy as np


def ordered(arr: np.ndarray, count: int, capacity: int) -> np.ndarray:
    """The records of a ring ``arr`` (``count`` ever written, ``capacity`` slots), oldest
    first, as a copy."""
    n = min(count, capacity)
    if count <= capacity:
        return arr[:n].copy()
    i = count % capacity
    return np.concatenate([arr[i:], arr[:i]])
