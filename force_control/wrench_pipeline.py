"""Wrench pipeline: raw F/T reading -> bias removed -> probe gravity removed -> contact
wrench at the probe tip in the probe frame -> low-pass filtered.

Output convention: the *pressing* wrench, i.e. the wrench the probe applies to the
tissue, in the probe frame about the probe tip. Pressing the probe face straight into
the skin gives a positive ``fz`` (probe z points into the tissue).

Frames: the sensor frame is the flange frame shifted along flange z; the probe frame is
the flange frame shifted by ``tip_offset`` along flange z. Both share the flange's axes,
so forces need no rotation and torques move by the lever ``sensor -> tip``.

Real-time contract: ``update`` allocates no arrays; the six-channel arithmetic runs on
Python floats (cheaper than numpy calls at this size); configuration was consumed by the
constructor.
"""

from __future__ import annotations

import numpy as np

from force_control.bias import BiasEstimator, TareStatus
from force_control.config import WrenchConfig
from force_control.gravity import ProbeLoad
from force_control.wrench_filter import LowPassFilter


class WrenchPipeline:
    """Turns raw sensor readings into the filtered pressing wrench at the probe tip.

    ``wrench`` is the filtered pressing wrench (probe frame, about the tip);
    ``wrench_unfiltered`` the same before the low-pass (what the safety layers use).
    """

    def __init__(
        self,
        cfg: WrenchConfig,
        rate_hz: float,
        probe_mass: float,
        probe_com: np.ndarray,
        sensor_to_tip: float,
        initial_bias: np.ndarray | None = None,
    ) -> None:
        self.load = ProbeLoad(probe_mass, probe_com) if cfg.gravity_compensation else None
        self.tare = BiasEstimator(self.load, cfg.tare_samples)
        if initial_bias is not None:
            self.tare.set_bias(initial_bias)
        self.filter = LowPassFilter(cfg.filter_cutoff_hz, rate_hz, 6)
        self.lever = float(sensor_to_tip)
        self.wrench_unfiltered = np.zeros(6)
        self.wrench = self.filter.y  # a view that the filter updates in place
        self._bias_list = tuple(self.tare.bias.tolist())
        self._bias_version = self.tare.version

    @property
    def bias(self) -> np.ndarray:
        """Current bias estimate (sensor frame, N and N·m)."""
        return self.tare.bias

    def start_tare(self) -> None:
        """Start estimating the bias; keep the probe still and out of contact until
        ``tare.status`` is DONE."""
        self.tare.start()

    def update(self, raw: np.ndarray, R_base_probe: np.ndarray, new_sample: bool) -> np.ndarray:
        """Process the latest raw reading (sensor frame) at probe orientation
        ``R_base_probe`` (3x3); returns the filtered pressing wrench (probe frame)."""
        if new_sample and self.tare.status is TareStatus.RUNNING:
            self.tare.add(raw, R_base_probe)
        r0, r1, r2, r3, r4, r5 = raw.tolist()
        b0, b1, b2, b3, b4, b5 = self._bias_list
        if self.tare.version != self._bias_version:
            self._bias_version = self.tare.version
            self._bias_list = b0, b1, b2, b3, b4, b5 = self.tare.bias.tolist()
        # environment wrench on the tool at the sensor origin = raw - bias - gravity
        ex, ey, ez = r0 - b0, r1 - b1, r2 - b2
        tx, ty, tz = r3 - b3, r4 - b4, r5 - b5
        load = self.load
        if load is not None:
            # the probe's weight (sensor frame; the sensor shares the probe's axes)
            fx, fy, fz, gx, gy, gz = load.wrench_values(*R_base_probe[2].tolist())
            ex -= fx
            ey -= fy
            ez -= fz
            tx -= gx
            ty -= gy
            tz -= gz
        # pressing wrench = -environment wrench; move the torque from the sensor to the
        # tip: tau_tip = tau_s - (p_tip - p_s) x f with p_tip - p_s = lever * z
        L = self.lever
        w = [-ex, -ey, -ez, -(tx + L * ey), -(ty - L * ex), -tz]
        self.wrench_unfiltered[:] = w
        return self.filter.update_list(w)
