"""A fixed-size histogram of durations (us) with log-spaced bins: percentiles of a whole
run from constant memory, no per-sample record (the per-cycle record is the state stream).

Bins are 0.2 % wide (relative) from ``MIN_US`` to ``MAX_US``; a percentile is the centre
of its bin, so it is within 0.1 % of the sample it stands for. Values below ``MIN_US``
count in the first bin, above ``MAX_US`` in the last; ``max`` is kept exactly.

Real-time contract: ``add`` is one ``math.log`` and one increment of an item of a
preallocated list (no array is allocated; counts above 256 are new small ints).
"""

from __future__ import annotations

import math

import numpy as np

#: Smallest and largest duration resolved (us).
MIN_US = 0.01
MAX_US = 10e6
#: Bins per unit of natural log: 500 -> bins 0.2 % wide.
BINS_PER_LOG = 500.0
#: Number of bins covering [MIN_US, MAX_US].
N_BINS = math.ceil(BINS_PER_LOG * math.log(MAX_US / MIN_US)) + 1
_INV_MIN = 1.0 / MIN_US
_LOG = math.log


class TimingHistogram:
    """Count of durations (us) per log-spaced bin; ``percentile`` and ``max`` of them."""

    def __init__(self) -> None:
        self.counts = [0] * N_BINS  # a list: incrementing an item is cheaper than numpy's
        self.max = 0.0

    def add(self, us: float) -> None:
        """Count one duration (us)."""
        if us > self.max:
            self.max = us
        x = us * _INV_MIN
        if x > 1.0:
            i = int(_LOG(x) * BINS_PER_LOG)
            if i >= N_BINS:
                i = N_BINS - 1
        else:
            i = 0
        self.counts[i] += 1

    @property
    def n(self) -> int:
        """Durations counted."""
        return sum(self.counts)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the counted durations (us); 0 when empty."""
        cum = np.cumsum(self.counts)
        n = int(cum[-1])
        if n == 0:
            return 0.0
        rank = max(1, math.ceil(q / 100.0 * n))
        i = int(np.searchsorted(cum, rank))
        centre = MIN_US * math.exp((i + 0.5) / BINS_PER_LOG)
        return min(centre, self.max)
