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

Real-time contract: ``update`` is allocation-free; gains are preallocated arrays.
"""

from __future__ import annotations

import numpy as np


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
        self.alpha = np.exp(-damping / mass * dt)  # velocity decay per period
        self.beta = (1.0 - self.alpha) / damping  # drive -> velocity per period
        self.ki = np.asarray(integral_gain, float).copy()
        self.integral_limit = np.asarray(integral_limit, float).copy()
        self.vmax = np.asarray(velocity_limit, float).copy()
        self.v = np.zeros(6)  # mass-damper velocity state
        self.integral = np.zeros(6)  # integrated wrench error (N·s, N·m·s)
        self.out = np.zeros(6)
        self._t = np.zeros(6)
        self._nvmax = -self.vmax
        self._nilim = -self.integral_limit
        self._lim = self.vmax.copy()
        self._nlim = -self.vmax

    def reset(self, v0: np.ndarray | float = 0.0, integral: np.ndarray | float = 0.0) -> None:
        """Set the velocity state (bumpless transfer) and the integral."""
        self.v[:] = v0
        self.integral[:] = integral
        np.multiply(self.ki, self.integral, out=self.out)
        self.out += self.v

    def update(
        self,
        drive: np.ndarray,
        error: np.ndarray | None,
        vmax: np.ndarray | None = None,
    ) -> np.ndarray:
        """One period: ``drive`` (wrench units) feeds the mass-damper; ``error`` (or None
        to freeze it) feeds the integral; ``vmax`` optionally tightens the velocity clamp
        this cycle. Returns the output velocity (probe frame, ``self.out``)."""
        if vmax is None:
            lim, nlim = self.vmax, self._nvmax
        else:
            lim, nlim = self._lim, self._nlim
            np.minimum(self.vmax, vmax, out=lim)
            np.negative(lim, out=nlim)
        v, t, out = self.v, self._t, self.out
        np.multiply(drive, self.beta, out=t)
        v *= self.alpha
        v += t
        np.minimum(v, lim, out=v)
        np.maximum(v, nlim, out=v)
        if error is not None:
            np.multiply(error, self.dt, out=t)
            self.integral += t
            np.minimum(self.integral, self.integral_limit, out=self.integral)
            np.maximum(self.integral, self._nilim, out=self.integral)
        np.multiply(self.ki, self.integral, out=out)
        out += v
        np.minimum(out, lim, out=out)
        np.maximum(out, nlim, out=out)
        return out

    def back_calculate(self, saturation: float, undo_integral: np.ndarray | None = None) -> None:
        """The downstream chain achieved only ``saturation`` (0..1) of the commanded
        twist: scale the velocity state to what was achieved and, if given, undo this
        cycle's integration (``undo_integral`` = the error that was integrated)."""
        if saturation >= 1.0:
            return
        self.v *= saturation
        if undo_integral is not None:
            np.multiply(undo_integral, self.dt, out=self._t)
            self.integral -= self._t
