"""Gravity load of the carried probe (holder + probe) as the F/T sensor sees it.

Sensor convention (all of robot-us): a ``WrenchSensor`` reports the wrench that the tool
side exerts on the sensor, in the sensor frame, about the sensor origin. A probe hanging
still in air therefore reads its own weight: ``f = m * R_base_sensor.T @ g`` with
``g = [0, 0, -9.81]``, and ``tau = com x f``.

Real-time contract: ``ProbeLoad.wrench_values`` is scalar arithmetic on Python floats
(the wrench pipeline's per-cycle path); ``ProbeLoad.wrench`` writes the same into a
caller-provided array.
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
        self._mg = -self.mass * GRAVITY
        self._c = tuple(self.com.tolist())

    def wrench_values(
        self, r20: float, r21: float, r22: float
    ) -> tuple[float, float, float, float, float, float]:
        """Gravity wrench [f; tau] (N, N·m, sensor frame) as floats, given the third row
        ``(r20, r21, r22)`` of ``R_base_sensor``."""
        # f = R^T (0, 0, -m g) = -m g * (third row of R); tau = com x f
        mg = self._mg
        fx, fy, fz = mg * r20, mg * r21, mg * r22
        cx, cy, cz = self._c
        return fx, fy, fz, cy * fz - cz * fy, cz * fx - cx * fz, cx * fy - cy * fx

    def wrench(self, R_base_sensor: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Gravity wrench [f; tau] (N, N·m) of the load in the sensor frame, into ``out``."""
        out[:] = self.wrench_values(*R_base_sensor[2].tolist())
        return out
