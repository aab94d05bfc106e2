"""Online probe alignment from the contact moments: keep the probe face flat on the skin as
a sonographer does, by tilting it until the pressing moments about the probe's x and y
axes vanish.

A flat probe face pressed off-normal carries more pressure under one edge: the centre of
pressure moves off the tip, and the pressing wrench (probe frame, moments about the tip)
shows it as ``mx = F c_y`` and ``my = -F c_x`` (c: centre-of-pressure offset, m). Tilting
the probe about +y lifts its +x edge, about +x lowers its +y edge, so the correction
integrates

    d(tilt_y)/dt = gain * c_x        d(tilt_x)/dt = -gain * c_y

with ``c`` outside a dead band, only in contact above ``min_force``, and keeps the tilt
within ``max_tilt`` of the planned orientation (a cone: the norm of [tilt_x, tilt_y]). The
controller adds the tilt to the orientation error of its reference, i.e. it tracks
``R_ref Rot(tilt)`` (small angles), in ``CONTACT`` only (reset at each approach). The
moments are a weak signal: a 1 deg tilt of a 40 mm lens on 2000 N/m tissue moves the
centre of pressure ~1 mm, about the torque noise of an FT 300 at 5 N; a capsule lens
rolls about the array axis and gives no restoring moment about x (``axes``).

Real-time contract: ``update`` runs on Python floats and preallocated state only.
"""

from __future__ import annotations

import math

from force_control.config import AlignmentConfig

__all__ = ["AlignmentConfig", "ProbeAlignment"]


class ProbeAlignment:
    """Bounded tilt correction (rad about the probe's x and y axes) driven by the
    pressing moments about the tip."""

    def __init__(
        self,
        gain: float,
        deadband: float,
        max_tilt: float,
        min_force: float,
        dt: float,
        axes: tuple[float, float] = (1.0, 1.0),
        min_stiffness: float = 0.0,
    ) -> None:
        for name, v in (("gain", gain), ("deadband", deadband), ("max_tilt", max_tilt)):
            if not math.isfinite(v) or v < 0.0:
                raise ValueError(f"alignment {name} must be finite and >= 0, got {v}")
        if not min_force > 0.0:
            raise ValueError(f"alignment min_force must be > 0 N, got {min_force}")
        if len(axes) != 2 or not all(0.0 <= a <= 1.0 for a in axes):
            raise ValueError(f"alignment axes must be two shares in [0, 1], got {axes}")
        self.axes = (float(axes[0]), float(axes[1]))
        self.min_stiffness = float(min_stiffness)
        self.gain = float(gain)
        self.deadband = float(deadband)
        self.max_tilt = float(max_tilt)
        self.min_force = float(min_force)
        self.dt = float(dt)
        self.tilt_x = 0.0
        self.tilt_y = 0.0

    @classmethod
    def from_config(cls, cfg: AlignmentConfig, dt: float) -> ProbeAlignment | None:
        """The alignment ``cfg`` describes at period ``dt`` (s), or None if disabled."""
        if not cfg.enabled:
            return None
        return cls(
            cfg.gain, cfg.deadband, cfg.max_tilt, cfg.min_force, dt, cfg.axes, cfg.min_stiffness
        )

    def reset(self) -> None:
        """Back to the planned orientation (a new contact)."""
        self.tilt_x = 0.0
        self.tilt_y = 0.0

    def _dead(self, c: float) -> float:
        d = self.deadband
        return c - d if c > d else (c + d if c < -d else 0.0)

    def update(
        self, force: float, mx: float, my: float, stiffness: float = math.inf
    ) -> tuple[float, float]:
        """One cycle in contact: ``force`` the axial pressing force (N), ``mx``/``my`` the
        pressing moments about the tip (N·m, probe frame), ``stiffness`` the tissue's
        estimated tangent stiffness (N/m). Returns the tilt (rad about probe x, y); held
        while the force is below ``min_force`` or the stiffness below ``min_stiffness``."""
        if force >= self.min_force and stiffness >= self.min_stiffness:
            cx = -my / force
            cy = mx / force
            k = self.gain * self.dt
            tx = self.tilt_x - k * self.axes[0] * self._dead(cy)
            ty = self.tilt_y + k * self.axes[1] * self._dead(cx)
            n = math.hypot(tx, ty)
            if n > self.max_tilt:
                s = self.max_tilt / n
                tx, ty = tx * s, ty * s
            self.tilt_x, self.tilt_y = tx, ty
        return self.tilt_x, self.tilt_y
