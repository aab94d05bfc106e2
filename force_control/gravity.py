"""Gravity load of the carried probe (holder + probe) as the F/T sensor sees it.

Sensor convention (all of robot-us): a ``WrenchSensor`` reports the wrench that the tool
side exerts on the sensor, in the sensor frame, about the sensor origin. A probe hanging
still in air therefore reads its own weight: ``f = m * R_base_sensor.T @ g`` with
``g = [0, 0, -9.81]``, and ``tau = com x f``.

Real-time contract: ``ProbeLoad.wrench`` writes into a caller-provided array and does
not allocate arrays.
"""

from __future__ import annotations

import numpy as np

#: Standard gravity (m/s²), acting along -z of the base frame.
GRAVITY = 9.81


class ProbeLoad:
    """Mass ``mass`` (kg) with centre of mass ``com`` (m, sensor frame) carried by the
    sensor; computes its gravity wrench in the sensor frame."""

    def __init__(self, mass: float, com: np.ndarray) -> None:
        if mass < 0.0:
            raise ValueError(f"probe mass must be >= 0 kg, got {mass}")
        self.mass = float(mass)
        self.com = np.array(com, dtype=float).reshape(3)
        self._f = np.zeros(3)

    def wrench(self, R_base_sensor: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Gravity wrench [f; tau] (N, N·m) of the load in the sensor frame, into ``out``."""
        # f = R^T (0, 0, -m g) = -m g * (third row of R)
        f = self._f
        np.multiply(R_base_sensor[2], -self.mass * GRAVITY, out=f)
        out[:3] = f
        c = self.com
        out[3] = c[1] * f[2] - c[2] * f[1]
        out[4] = c[2] * f[0] - c[0] * f[2]
        out[5] = c[0] * f[1] - c[1] * f[0]
        return out
