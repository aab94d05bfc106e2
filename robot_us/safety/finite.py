"""Defence in depth against a safety layer built from NaN or infinity: ``nan`` passes every
range comparison (``nan < lo`` is False), so a layer given one would silently never fire.
The configuration loader refuses non-finite numbers; every layer checks again here."""

from __future__ import annotations

import numpy as np


def require_finite(layer: str, **values: float | np.ndarray) -> None:
    """Raise ``ValueError`` naming ``layer`` and the parameter if any of ``values`` (scalars
    or arrays) holds NaN or an infinity."""
    for name, value in values.items():
        arr = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{layer} safety layer: {name} = {value!r} is not a finite number; refusing "
                "to build a layer that would never fire"
            )
