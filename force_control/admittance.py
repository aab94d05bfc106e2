"""Per-axis admittance: a virtual mass-damper (plus an integral of the wrench error)
that turns a wrench error into a velocity, with anti-windup.

    M dv/dt + D v = u          (u = drive: wrench error, optionally + spring term)
    v_out = v + Ki * integral(e_w) dt

The mass-damper is discretised exactly for a drive held over one period
(``v <- alpha v + (1 - alpha) u / D``, ``alpha = exp(-D dt / M)``), so it is stable for
any M, D > 0 and period. Anti-windup: ``v`` and the output are clamped to the velocity
limit; the integral is clamped to its limit, and when the joint-space chain could only
realise part of the command (``back_calculate``) the velocity state is scaled to what was
achieved and the cycle's integration is undone.

Real-time contract: ``update`` allocates no arrays. The six axes are computed with Python
floats (lists), which at this size costs a fraction of the equivalent numpy calls; the
properties ``v``, ``integral`` and ``out`` return array copies of the state for
inspection (built on access, never in the loop).
"""

from __future__ import annotations

import math

import numpy as np

_AXES = range(6)


class Admittance:
    """A 6-axis (probe frame) admittance with per-axis mass, damping, integral gain,
    integral clamp and velocity clamp."""

    def __init__(
        self,
        mass: np.ndarray,
        damping: np.ndarray,
        integral_gain: np.ndarray,
        integral_limit: np.ndarray,
        velocity_limit: np.ndarray,
        dt: float,
    ) -> None:
        mass = np.asarray(mass, float)
        damping = np.asarray(damping, float)
        if np.any(mass <= 0) or np.any(damping <= 0):
            raise ValueError("admittance mass and damping must be > 0 on every axis")
        self.dt = float(dt)
        alpha = np.exp(-damping / mass * dt)
        self.alpha = alpha.tolist()  # velocity decay per period
        self.beta = ((1.0 - alpha) / damping).tolist()  # drive -> velocity per period
        self.ki = np.asarray(integral_gain, float).tolist()
        self.integral_limit = np.asarray(integral_limit, float).tolist()
        # configured gains, and the scale each axis runs at (``scale_axis``)
        self._beta0 = list(self.beta)
        self._ki0 = list(self.ki)
        self._ilim0 = list(self.integral_limit)
        self.scale = [1.0] * 6
        self.vmax = np.asarray(velocity_limit, float).tolist()
        # axes whose integral term is active (the others skip the integration)
        self._integrating = tuple(k for k in _AXES if self.ki[k] != 0.0)
        self._v = [0.0] * 6  # mass-damper velocity state
        self._i = [0.0] * 6  # integrated wrench error, N·s and N·m·s
        self._out = [0.0] * 6  # output velocity

    @property
    def v(self) -> np.ndarray:
        """Mass-damper velocity state (6, m/s and rad/s; a copy)."""
        return np.array(self._v)

    @property
    def integral(self) -> np.ndarray:
        """Integrated wrench error (6, N·s and N·m·s; a copy)."""
        return np.array(self._i)

    @property
    def out(self) -> np.ndarray:
        """Output velocity of the last update (6, m/s and rad/s; a copy)."""
        return np.array(self._out)

    def reset(self, v0: float = 0.0, integral: float = 0.0) -> None:
        """Set the velocity state (bumpless transfer) and the integral on every axis."""
        self._v = [float(v0)] * 6
        self._i = [float(integral)] * 6
        self._out = [self._v[k] + self.ki[k] * self._i[k] for k in _AXES]

    def scale_axis(self, k: int, scale: float) -> None:
        """Run axis ``k`` at ``scale`` times its configured gains: the damping and mass
        divided by ``scale`` (same D/M), the integral gain times ``scale``. The integral's
        velocity contribution and clamp are kept (bumpless when the scale changes)."""
        old = self.scale[k]
        if scale == old:
            return
        self.scale[k] = scale
        self.beta[k] = self._beta0[k] * scale
        self.ki[k] = self._ki0[k] * scale
        self.integral_limit[k] = self._ilim0[k] / scale
        self._i[k] *= old / scale

    def reset_integral(self) -> None:
        """Zero the integral, keep the velocity state."""
        self._i = [0.0] * 6

    def update(
        self,
        drive: list[float],
        error: list[float] | None,
        vmax: list[float] | None = None,
    ) -> list[float]:
        """One period: ``drive`` (wrench units, 6 floats) feeds the mass-damper;
        ``error`` (or None to freeze it) feeds the integral; ``vmax`` optionally tightens
        the velocity clamp this cycle. Returns the output velocity (probe frame, list)."""
        v, integ, out = self._v, self._i, self._out
        if error is not None:
            dt, ilim = self.dt, self.integral_limit
            for k in self._integrating:
                ik = integ[k] + error[k] * dt
                il = ilim[k]
                integ[k] = il if ik > il else (-il if ik < -il else ik)
        lims = self.vmax if vmax is None else list(map(min, self.vmax, vmax))
        ki = self.ki
        for k, (a, b, d, lim) in enumerate(zip(self.alpha, self.beta, drive, lims, strict=True)):
            vk = a * v[k] + b * d
            vk = lim if vk > lim else (-lim if vk < -lim else vk)
            v[k] = vk
            ok = vk + ki[k] * integ[k]
            out[k] = lim if ok > lim else (-lim if ok < -lim else ok)
        return out

    def back_calculate(self, saturation: float, undo_integral: list[float] | None = None) -> None:
        """The downstream chain achieved only ``saturation`` (0..1) of the commanded
        twist: scale the velocity state to what was achieved and, if given, undo this
        cycle's integration (``undo_integral`` = the error that was integrated)."""
        if saturation >= 1.0 or math.isnan(saturation):
            return
        v, integ, dt = self._v, self._i, self.dt
        for k in _AXES:
            v[k] *= saturation
        if undo_integral is not None:
            for k in self._integrating:
                integ[k] -= undo_integral[k] * dt
