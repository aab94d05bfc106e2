"""The simulated 6-axis force/torque sensor: pybullet's reaction wrench at the sensing
fixed joint between the sensor body and the carried holder + probe, turned into what a
real sensor reports.

Sign convention (docs/simulation.md): the wrench that the tool side (holder + probe and
everything touching it) applies ON the sensor, in the sensor frame, moments about the
sensor origin. The probe hanging straight down reads +m g along z; pushing the probe
into the body reads a force along -z. Reading = contact + the carried mass's weight +
its inertia, plus a constant bias and Gaussian noise, sampled at ``rate_hz`` and held
between samples.

Real-time contract: ``read`` is called every cycle; it allocates nothing but pybullet's
result tuple (and only when a sample is due).
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from robot_us.core.backends import WrenchSensor
from robot_us.core.types import WrenchSample

#: Slack when deciding whether a sample is due (s), absorbs float drift of sim time.
_DUE_EPS_S = 1e-9


class SimFtSensor(WrenchSensor):
    """Sample-and-hold F/T sensor on the world's sensing joint (``sim.ft`` config)."""

    def __init__(self, world, ft) -> None:
        self._world = world
        self._client = world.client
        self._body = world.robot_id
        self._joint = world.sensing_joint
        self.rate_hz = float(ft.rate_hz)
        self._period = 1.0 / self.rate_hz
        self._due_eps = _DUE_EPS_S * self.rate_hz  # in samples
        self.bias = np.array(ft.bias, dtype=float)
        self._std = np.array([ft.force_noise_std] * 3 + [ft.torque_noise_std] * 3)
        self._rng = np.random.default_rng(ft.seed)
        self._noise = np.zeros(6)
        self._sample = WrenchSample()
        self._index = -1  # index of the last sample taken (sample k at t = k / rate)

    def true_wrench(self, out: np.ndarray | None = None) -> np.ndarray:
        """The noiseless, unbiased wrench now [fx fy fz tx ty tz] (N, N·m), sensor frame."""
        r = p.getJointState(self._body, self._joint, physicsClientId=self._client)[2]
        w = np.empty(6) if out is None else out
        for i in range(6):  # pybullet: parent on child, joint frame; we want child on parent
            w[i] = -r[i]
        return w

    def read(self, out: WrenchSample) -> bool:
        """Copy the latest sample into ``out`` with its age in simulated time; True (and
        ``seq`` advanced) when a new sample became due since the last call."""
        k = math.floor(self._world.t * self.rate_hz + self._due_eps)
        new = k > self._index
        if new:
            s = self._sample
            w = self.true_wrench(s.wrench)
            self._rng.standard_normal(out=self._noise)
            self._noise *= self._std
            w += self._noise
            w += self.bias
            s.t = k * self._period
            s.seq += 1
            self._index = k
        out.copy_from(self._sample)
        out.age = self._world.t - out.t
        return new
