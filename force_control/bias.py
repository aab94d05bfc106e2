"""Bias (tare) estimation of a force/torque sensor: with the probe free in air, the
average raw reading minus the known gravity load of the probe is the sensor's offset.

Real-time contract: ``add`` is allocation-free (running sums in preallocated arrays) and
may be called from the loop on each new sensor sample.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from force_control.gravity import ProbeLoad


class TareStatus(IntEnum):
    """State of a tare."""

    IDLE = 0  # no tare running; the last bias stays in use
    RUNNING = 1
    DONE = 2


class BiasEstimator:
    """Averages ``n_samples`` gravity-compensated raw readings into a bias estimate."""

    def __init__(self, load: ProbeLoad | None, n_samples: int) -> None:
        if n_samples < 1:
            raise ValueError(f"tare needs at least 1 sample, got {n_samples}")
        self.load = load
        self.n_samples = int(n_samples)
        self.bias = np.zeros(6)
        self.status = TareStatus.IDLE
        self._sum = np.zeros(6)
        self._g = np.zeros(6)
        self._count = 0
        self.version = 0  # incremented whenever ``bias`` changes
        #: what the last completed tare changed (new minus old bias, sensor frame, N and
        #: N·m): the offset the sensor had drifted by since the tare before it
        self.correction = np.zeros(6)
        self.tares = 0  # completed tares

    def set_bias(self, bias: np.ndarray) -> None:
        """Use ``bias`` (sensor frame, N and N·m) from now on."""
        self.bias[:] = bias
        self.version += 1

    def start(self) -> None:
        """Begin a new tare; the previous bias stays in use until it completes."""
        self._sum[:] = 0.0
        self._count = 0
        self.status = TareStatus.RUNNING

    def cancel(self) -> None:
        """Drop a running tare (the probe touched something); the last bias stays."""
        if self.status is TareStatus.RUNNING:
            self.status = TareStatus.IDLE

    def add(self, raw: np.ndarray, R_base_sensor: np.ndarray) -> TareStatus:
        """Accumulate one new raw sample (sensor frame) taken at orientation
        ``R_base_sensor``; returns DONE once (the bias is then updated)."""
        if self.status is not TareStatus.RUNNING:
            return self.status
        self._sum += raw
        if self.load is not None:
            self._sum -= self.load.wrench(R_base_sensor, self._g)
        self._count += 1
        if self._count >= self.n_samples:
            np.multiply(self.bias, -1.0, out=self.correction)
            np.multiply(self._sum, 1.0 / self._count, out=self.bias)
            self.correction += self.bias
            self.tares += 1
            self.version += 1
            self.status = TareStatus.DONE
        return self.status

    @property
    def progress(self) -> float:
        """Fraction of the running tare done (1.0 when not running)."""
        if self.status is not TareStatus.RUNNING:
            return 1.0
        return self._count / self.n_samples
