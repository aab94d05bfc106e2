"""Test helper: an ideal velocity-controlled arm (first-order joint velocity lag) whose
probe presses on a horizontal spring surface (optionally moving). Synthetic input for
the controller's unit tests; the real plant is the pybullet cell in ``sim/``."""

from __future__ import annotations

import math

import numpy as np

from force_control import ForceControlConfig, make_controller
from force_control.wrench_filter import LowPassFilter
from robot_us.core.kinematics import ArmKinematics

TIP_OFFSET = 0.1375


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
        self.z0 = z_surface
        self.amp = amplitude
        self.w = 2 * math.pi * freq_hz
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.lp = LowPassFilter(self.cfg.wrench.filter_cutoff_hz, 1.0 / dt)
        self.t = 0.0
        self.force = 0.0
        self.surface_removed = False
        self.tau = 0.003

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
        self.force = 0.0 if self.surface_removed else self.k * max(pen, 0.0)
        w = np.zeros(6)
        w[:3] = T[:3, :3].T @ np.array([0.0, 0.0, -self.force])  # pressing wrench
        if self.noise:
            w[:3] += self.rng.normal(0.0, self.noise, 3)
        inp.wrench[:] = self.lp.update(w)
        out = self.ctl.update()
        self.qd += (out.qd - self.qd) * (self.dt / self.tau)
        self.q += self.qd * self.dt
        self.t += self.dt
        return out

    def tip(self) -> np.ndarray:
        """Probe tip position (m)."""
        return self.inp.T_base_probe[:3, 3].copy()
