"""Per-axis admittance: a virtual mass-damper (plus an integral of the wrench error)
that turns a wrench error into a velocity, with anti-windup.

    M dv/dt + D v = u          (u = drive: wrench error, optionally + spring term)
    v_out = v + Ki * integral(e_w) dt

The mass-damper is discretised exactly for a constant drive over one period, so it is
stable for any M, D > 0 and period. Anti-windup: ``v`` is clamped to the velocity limit;
the integral is clamped to its limit, frozen while the output is saturated downstream
(``saturation`` < 1), and ``v`` is back-calculated to what the arm achieved.

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
        self.inv_damping = 1.0 / damping
        self.ki = np.asarray(integral_gain, float).copy()
        self.integral_limit = np.asarray(integral_limit, float).copy()
        self.vmax = np.asarray(velocity_limit, float).copy()
        self.v = np.zeros(6)  # mass-damper velocity state
        self.integral = np.zeros(6)  # integrated wrench error (N·s, N·m·s)
        self.out = np.zeros(6)
        self._t = np.zeros(6)
        self._lim = self.vmax.copy()
        self._nlim = -self.vmax
        self._nilim = -self.integral_limit

    def reset(self, v0: np.ndarray | float = 0.0, integral: np.ndarray | float = 0.0) -> None:
        """Set the velocity state (bumpless transfer) and the integral."""
        self.v[:] = v0
        self.integral[:] = integral
        np.multiply(self.ki, self.integral, out=self.out)
        self.out += self.v

    def update(
        self,
        drive: np.ndarray,
        error: np.ndarray,
        integrate: np.ndarray | bool,
        vmax: np.ndarray | None = None,
    ) -> np.ndarray:
        """One period: ``drive`` (wrench units) feeds the mass-damper, ``error`` the
        integral where ``integrate`` (per-axis mask or bool); ``vmax`` optionally tightens
        the velocity clamp this cycle. Returns the output velocity (probe frame)."""
        lim = self._lim
        if vmax is None:
            lim[:] = self.vmax
        else:
            np.minimum(self.vmax, vmax, out=lim)
        nlim = self._nlim
        np.negative(lim, out=nlim)
        v, t = self.v, self._t
        # v <- alpha v + (1 - alpha) drive / D
        np.multiply(drive, self.inv_damping, out=t)
        t -= v
        np.multiply(t, 1.0 - self.alpha, out=t)
        v += t
        np.clip(v, nlim, lim, out=v)
        if integrate is not False:
            np.multiply(error, self.dt, out=t)
            if integrate is not True:
                t *= integrate
            self.integral += t
            np.clip(self.integral, self._nilim, self.integral_limit, out=self.integral)
        out = self.out
        np.multiply(self.ki, self.integral, out=out)
        out += v
        np.clip(out, nlim, lim, out=out)
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
