"""The simulated 6-axis force/torque sensor: pybullet's reaction wrench at the sensing
fixed joint between the sensor body and the carried holder + probe, turned into what a
real sensor reports.

Sign convention (docs/simulation.md): the wrench that the tool side (holder + probe and
everything touching it) applies ON the sensor, in the sensor frame, moments about the
sensor origin. The probe hanging straight down reads +m g along z; pushing the probe
into the body reads a force along -z.

What a sample is: acquired at t_k = k / ``rate_hz`` (sim time): the true wrench (contact
+ the carried mass's weight + its inertia) + Gaussian noise + the bias, which drifts like
a warming sensor (b(t) = b0 + r tau (1 - exp(-t / tau)): initial rate r, thermal time
constant tau), clipped to the measuring range and quantised to the output resolution.
It becomes readable ``latency`` later (transport) and is held until the next one
arrives; ``out.t`` is that arrival time, as a driver stamps a sample on receipt.

Real-time contract: ``read`` is called every cycle; it allocates nothing but pybullet's
result tuple (and only when a sample is due); pending samples sit in a preallocated ring.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from robot_us.core.backends import WrenchSensor
from robot_us.core.types import WrenchSample

#: Slack when deciding whether a sample is due or has arrived (s): absorbs float drift.
_DUE_EPS_S = 1e-9


class SimFtSensor(WrenchSensor):
    """Sampled, delayed, drifting F/T sensor on the world's sensing joint (``sim.ft``)."""

    def __init__(self, world, ft) -> None:
        self._world = world
        self._client = world.client
        self._body = world.robot_id
        self._joint = world.sensing_joint
        self.rate_hz = float(ft.rate_hz)
        self.latency = float(ft.latency)
        self._period = 1.0 / self.rate_hz
        self._due_eps = _DUE_EPS_S * self.rate_hz  # in samples
        self.bias = np.array(ft.bias, dtype=float)
        self._drift_rate = np.array(ft.drift_rate, dtype=float)
        self._drift_tau = float(ft.drift_time_constant)
        self._drifts = bool(np.any(self._drift_rate))
        self._range = np.array(ft.range, dtype=float)
        self._step = np.array(ft.resolution, dtype=float)
        self._quantised = self._step > 0.0
        self._inv_step = np.divide(1.0, self._step, out=np.zeros(6), where=self._quantised)
        self._std = np.array([ft.force_noise_std] * 3 + [ft.torque_noise_std] * 3)
        self._rng = np.random.default_rng(ft.seed)
        self._tmp = np.zeros(6)
        # ring of acquired, not yet delivered samples (acquisition index, time, wrench)
        n = math.ceil(self.latency * self.rate_hz) + 2
        self._ring_w = np.zeros((n, 6))
        self._ring_t = np.zeros(n)
        self._head = 0  # next slot to write
        self._count = 0  # samples in the ring
        self._sample = WrenchSample()
        self._index = -1  # index of the last sample acquired (sample k at t = k / rate)

    def true_wrench(self, out: np.ndarray | None = None) -> np.ndarray:
        """The noiseless, unbiased wrench now [fx fy fz tx ty tz] (N, N·m), sensor frame."""
        r = p.getJointState(self._body, self._joint, physicsClientId=self._client)[2]
        w = np.empty(6) if out is None else out
        for i in range(6):  # pybullet: parent on child, joint frame; we want child on parent
            w[i] = -r[i]
        return w

    def bias_at(self, t: float) -> np.ndarray:
        """The sensor's offset at sim time ``t`` (s): power-on bias plus its drift."""
        return self.bias + self._drift_rate * self._drift_tau * -math.expm1(-t / self._drift_tau)

    def _acquire(self, k: int) -> None:
        """Take sample ``k`` of the true wrench now into the ring."""
        n = len(self._ring_t)
        slot = self._head
        w = self.true_wrench(self._ring_w[slot])
        tmp = self._tmp
        self._rng.standard_normal(out=tmp)
        tmp *= self._std
        w += tmp
        w += self.bias
        t_k = k * self._period
        if self._drifts:
            warmed = self._drift_tau * -math.expm1(-t_k / self._drift_tau)
            np.multiply(self._drift_rate, warmed, tmp)
            w += tmp
        np.clip(w, -self._range, self._range, out=w)
        if self._quantised.any():
            np.multiply(w, self._inv_step, out=tmp)
            np.round(tmp, out=tmp)
            tmp *= self._step
            np.copyto(w, tmp, where=self._quantised)
        self._ring_t[slot] = t_k + self.latency
        self._head = (slot + 1) % n
        if self._count < n:
            self._count += 1

    def read(self, out: WrenchSample) -> bool:
        """Copy the latest arrived sample into ``out``; True (and ``seq`` advanced by the
        samples that arrived) when one arrived since the last call."""
        t = self._world.t
        k = math.floor(t * self.rate_hz + self._due_eps)
        if k > self._index:
            self._acquire(k)
            self._index = k
        new = False
        n = len(self._ring_t)
        s = self._sample
        while self._count:
            tail = (self._head - self._count) % n
            t_arrive = self._ring_t[tail]
            if t_arrive > t + _DUE_EPS_S:
                break
            s.wrench[:] = self._ring_w[tail]
            s.t = t_arrive
            s.seq += 1
            self._count -= 1
            new = True
        out.copy_from(s)
        out.age = t - out.t  # since it arrived (the transport latency is not included)
        return new
