"""Low-pass filter for wrench signals: a 2nd-order Butterworth biquad per axis (bilinear
transform with pre-warping), direct form II transposed.

Real-time contract: ``update`` allocates no arrays (the output array is preallocated and
the per-channel state is kept as Python floats: for six channels plain float arithmetic
is several times cheaper than numpy calls); coefficients are computed in the constructor.
"""

from __future__ import annotations

import math

import numpy as np

#: Highest cut-off as a fraction of the sample rate (below Nyquist with a margin).
MAX_CUTOFF_FRACTION = 0.45


class LowPassFilter:
    """2nd-order Butterworth low-pass over ``n`` channels sampled at ``rate_hz``."""

    def __init__(self, cutoff_hz: float, rate_hz: float, n: int = 6) -> None:
        if not 0.0 < cutoff_hz < MAX_CUTOFF_FRACTION * rate_hz:
            raise ValueError(
                f"low-pass cut-off {cutoff_hz} Hz must be in (0, {MAX_CUTOFF_FRACTION} x "
                f"{rate_hz} Hz)"
            )
        self.cutoff_hz = cutoff_hz
        self.rate_hz = rate_hz
        k = math.tan(math.pi * cutoff_hz / rate_hz)
        q = 1.0 / math.sqrt(2.0)
        norm = 1.0 / (1.0 + k / q + k * k)
        self.b0 = k * k * norm
        self.b1 = 2.0 * self.b0
        self.b2 = self.b0
        self.a1 = 2.0 * (k * k - 1.0) * norm
        self.a2 = (1.0 - k / q + k * k) * norm
        self.n = n
        self.y = np.zeros(n)
        self._ys = [0.0] * n
        self._z1 = [0.0] * n
        self._z2 = [0.0] * n
        self._primed = False

    def reset(self, value: np.ndarray | float = 0.0) -> None:
        """Set the filter to steady state at ``value``."""
        self.y[:] = value
        ys = self.y.tolist()
        self._ys = ys
        # steady state of DF2T: z1 = (1 - b0) y, z2 = (b2 - a2) y
        self._z1 = [(1.0 - self.b0) * v for v in ys]
        self._z2 = [(self.b2 - self.a2) * v for v in ys]
        self._primed = True

    def update(self, x: np.ndarray) -> np.ndarray:
        """Filter one sample ``x``; returns the output array (updated in place). The first
        sample primes the filter to steady state (no start-up transient)."""
        return self.update_list(x.tolist())

    def update_list(self, xs: list[float]) -> np.ndarray:
        """``update`` for a sample given as a list of floats (saves a conversion)."""
        if not self._primed:
            self.reset(np.asarray(xs))
            return self.y
        b0, b1, b2, a1, a2 = self.b0, self.b1, self.b2, self.a1, self.a2
        z1, z2, ys = self._z1, self._z2, self._ys
        for i in range(self.n):
            xi = xs[i]
            yi = b0 * xi + z1[i]
            z1[i] = b1 * xi - a1 * yi + z2[i]
            z2[i] = b2 * xi - a2 * yi
            ys[i] = yi
        self.y[:] = ys
        return self.y
