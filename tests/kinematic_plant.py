"""Test helper: a velocity-controlled arm (command latency, first-order joint velocity
lag) whose probe presses on a horizontal tissue surface (optionally moving), read by a
force sensor at its own rate and latency. Synthetic input for the controller's unit
tests; the real plant is the pybullet cell in ``sim/``.

The tissue law is the simulator's exponential one (``sim.tissue_law``, without
relaxation): F = (k0 / beta) (exp(beta d) - 1) with tangent stiffness ``stiffness`` at
5 N and ``stiffening`` times softer at first touch (1: the linear spring F = k d), plus
``damping`` times the indentation rate while in contact (Kelvin-Voigt, as the simulator's
``sim.phantom.damping``; the force never pulls)."""

from __future__ import annotations

import math

import numpy as np

from force_control import ForceControlConfig, make_controller
from force_control.wrench_filter import LowPassFilter
from robot_us.core.kinematics import ArmKinematics

TIP_OFFSET = 0.1375
#: Force at which ``stiffness`` is the tangent stiffness (N).
REFERENCE_FORCE = 5.0


def probe_down_pose(x: float, y: float, z: float) -> np.ndarray:
    """T_base_probe with the probe z axis pointing down (into a horizontal surface)."""
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = (x, y, z)
    return T


class PlanePlant:
    """Panda + probe over a spring plane at height ``z_surface`` (+ sinusoidal motion)."""

    def __init__(
        self,
        cfg: ForceControlConfig | None = None,
        stiffness: float = 2000.0,
        z_surface: float = 0.30,
        amplitude: float = 0.0,
        freq_hz: float = 0.3,
        noise: float = 0.0,
        seed: int = 0,
        dt: float = 1e-3,
        *,
        stiffening: float = 1.0,
        sensor_hz: float = 1000.0,
        latency: float = 0.0,
        command_latency: int = 0,
        lag: float = 0.003,
        damping: float = 0.0,
    ) -> None:
        T = np.eye(4)
        T[2, 3] = TIP_OFFSET
        self.kin = ArmKinematics("panda", T)
        self.cfg = cfg or ForceControlConfig()
        self.dt = dt
        self.ctl = make_controller(self.cfg, self.kin.limits, dt)
        self.q = self.kin.q_ready.copy()
        self.qd = np.zeros(7)
        self.inp = self.ctl.inp
        self.inp.force_setpoint = self.cfg.force_setpoint
        self.k = stiffness
        self.k0 = stiffness / stiffening
        self.beta = (stiffness - self.k0) / REFERENCE_FORCE
        self.z0 = z_surface
        self.damping = damping
        #: pressing moments about the tip added to every sample (N·m, probe x, y): the
        #: plane itself gives none
        self.moment = np.zeros(2)
        self._pen_prev: float | None = None
        self.amp = amplitude
        self.w = 2 * math.pi * freq_hz
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.lp = LowPassFilter(self.cfg.wrench.filter_cutoff_hz, 1.0 / dt)
        self.t = 0.0
        self.k_cycle = 0
        self.force = 0.0
        self.surface_removed = False
        self.tau = max(lag, dt)
        self.sensor_every = max(1, round(1.0 / (sensor_hz * dt)))
        self.latency_cycles = round(latency / dt)
        self._pending: list[tuple[int, np.ndarray]] = []  # (arrival cycle, wrench)
        self._sample = np.zeros(6)
        self._arrived_at = 0
        self._commands = [np.zeros(7) for _ in range(command_latency + 1)]

    def law(self, depth: float) -> float:
        """Tissue force (N) at indentation ``depth`` (m)."""
        if depth <= 0.0:
            return 0.0
        if self.beta <= 0.0:
            return self.k * depth
        return self.k0 / self.beta * math.expm1(min(self.beta * depth, 50.0))

    def surface_z(self) -> float:
        """Current surface height (m)."""
        return self.z0 + self.amp * math.sin(self.w * self.t)

    def step(self):
        """One cycle: sense, control, integrate; returns the controller output."""
        inp = self.inp
        inp.q[:] = self.q
        inp.qd[:] = self.qd
        T = self.kin.fk(self.q, out=inp.T_base_probe)
        self.kin.jacobian(self.q, out=inp.J)
        pen = self.surface_z() - T[2, 3]
        rate = 0.0 if self._pen_prev is None else (pen - self._pen_prev) / self.dt
        self._pen_prev = pen
        force = self.law(pen)
        if pen > 0.0 and self.damping:
            force = max(force + self.damping * rate, 0.0)
        self.force = 0.0 if self.surface_removed else force
        if self.k_cycle % self.sensor_every == 0:  # acquire a sample
            w = np.zeros(6)
            w[:3] = T[:3, :3].T @ np.array([0.0, 0.0, -self.force])  # pressing wrench
            w[3:5] = self.moment
            if self.noise:
                w[:3] += self.rng.normal(0.0, self.noise, 3)
            self._pending.append((self.k_cycle + self.latency_cycles, w))
        new = False
        while self._pending and self._pending[0][0] <= self.k_cycle:
            arrival, self._sample = self._pending.pop(0)
            self._arrived_at = arrival
            new = True
        inp.wrench_raw[:] = self._sample
        inp.wrench_new = new
        inp.wrench_delay = (self.k_cycle - self._arrived_at + self.latency_cycles) * self.dt
        inp.wrench[:] = self.lp.update(self._sample)
        out = self.ctl.update()
        self._commands.append(out.qd.copy())
        cmd = self._commands.pop(0)
        self.qd += (cmd - self.qd) * (self.dt / self.tau)
        self.q += self.qd * self.dt
        self.t += self.dt
        self.k_cycle += 1
        return out

    def tip(self) -> np.ndarray:
        """Probe tip position (m)."""
        return self.inp.T_base_probe[:3, 3].copy()
