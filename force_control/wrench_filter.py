"""Low-pass filter for wrench signals: a 2nd-order Butterworth biquad per axis (bilinear
transform with pre-warping), direct form II transposed.

Real-time contract: ``update`` is allocation-free (state and output preallocated);
coefficients are computed once in the constructor.
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
        self.y = np.zeros(n)
        self._z1 = np.zeros(n)
        self._z2 = np.zeros(n)
        self._t = np.zeros(n)
        self._primed = False

    def reset(self, value: np.ndarray | float = 0.0) -> None:
        """Set the filter to steady state at ``value``."""
        self.y[:] = value
        # steady state of DF2T: z1 = (1 - b0) y, z2 = (b2 - a2) y
        np.multiply(self.y, 1.0 - self.b0, out=self._z1)
        np.multiply(self.y, self.b2 - self.a2, out=self._z2)
        self._primed = True

    def update(self, x: np.ndarray) -> np.ndarray:
        """Filter one sample ``x``; returns the output array (updated in place). The first
        sample primes the filter to steady state (no start-up transient)."""
        if not self._primed:
            self.reset(x)
            return self.y
        y, z1, z2, t = self.y, self._z1, self._z2, self._t
        np.multiply(x, self.b0, out=y)
        y += z1
        # z1 = b1 x - a1 y + z2
        np.multiply(x, self.b1, out=z1)
        np.multiply(y, self.a1, out=t)
        z1 -= t
        z1 += z2
        # z2 = b2 x - a2 y
        np.multiply(x, self.b2, out=z2)
        np.multiply(y, self.a2, out=t)
        z2 -= t
        return y
