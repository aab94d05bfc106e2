"""The hybrid force/position law in the probe frame.

For each probe axis i in [x y z rx ry rz] a selection value s_i in [0, 1] says how much of
it is force-controlled:

    e_w   = w_des - w                      (pressing wrench error)
    drive = s * e_w + K_c * e_pose         (K_c: compliance spring, 0 in hybrid mode)
    v_adm = admittance(drive)              (mass-damper + integral, anti-windup)
    twist = (1 - s) * K_p * e_pose + s * v_adm + twist_ff

so pure position control is s = 0, the usual hybrid scan is s = [0 0 1 0 0 0] (force
along the probe axis, pose on the others) and pure compliance is s = 1 with a spring
K_c > 0 to the reference. A ``Selection`` holds one s with its precomputed gains; the
controller keeps one per mode. The commanded linear and angular speeds are clamped
(uniform scaling; reported as ``saturation`` for anti-windup).

Real-time contract: allocation-free; all gains are arrays precomputed at construction.
"""

from __future__ import annotations

import math

import numpy as np

from force_control.admittance import Admittance


class Selection:
    """A selection vector ``s`` (6, values in [0, 1]) with ``(1 - s) * K_p`` precomputed."""

    def __init__(self, s: np.ndarray, pose_gain: np.ndarray) -> None:
        s = np.asarray(s, float)
        if s.shape != (6,) or np.any(s < 0) or np.any(s > 1):
            raise ValueError(f"selection must be 6 values in [0, 1], got {s}")
        self.s = s.copy()
        self.kp_free = (1.0 - s) * np.asarray(pose_gain, float)
        self.any_force = bool(np.any(s > 0))


class HybridLaw:
    """Selection-vector hybrid force/position law producing a probe-frame twist."""

    def __init__(
        self,
        admittance: Admittance,
        pose_gain: np.ndarray,
        compliance_stiffness: np.ndarray,
        max_linear_speed: float,
        max_angular_speed: float,
    ) -> None:
        self.admittance = admittance
        self.kp = np.asarray(pose_gain, float).copy()
        self.kc = np.asarray(compliance_stiffness, float).copy()
        self.use_spring = bool(np.any(self.kc > 0))
        self.max_lin = max_linear_speed
        self.max_ang = max_angular_speed
        self.twist = np.zeros(6)
        self.wrench_error = np.zeros(6)
        self.saturation = 1.0
        self._drive = np.zeros(6)
        self._sew = np.zeros(6)
        self._t = np.zeros(6)
        self._integrated: np.ndarray | None = None

    def selection(self, s: np.ndarray) -> Selection:
        """A ``Selection`` for ``s`` with this law's pose gains."""
        return Selection(s, self.kp)

    def update(
        self,
        sel: Selection,
        pose_error: np.ndarray,
        wrench: np.ndarray,
        wrench_setpoint: np.ndarray,
        twist_ff: np.ndarray,
        integrate: bool,
        vmax: np.ndarray | None = None,
    ) -> np.ndarray:
        """One period with selection ``sel``: ``pose_error`` (probe frame), ``wrench`` /
        ``wrench_setpoint`` (pressing, probe frame), ``twist_ff`` (probe frame).
        Returns the probe-frame twist (``self.twist``)."""
        tw, t = self.twist, self._t
        np.multiply(sel.kp_free, pose_error, out=tw)
        if sel.any_force or self.use_spring:
            ew, sew, drive = self.wrench_error, self._sew, self._drive
            np.subtract(wrench_setpoint, wrench, out=ew)
            np.multiply(ew, sel.s, out=sew)
            d = sew
            if self.use_spring:
                np.multiply(self.kc, pose_error, out=drive)
                drive += sew
                d = drive
            self._integrated = sew if integrate else None
            v_adm = self.admittance.update(d, self._integrated, vmax)
            np.multiply(v_adm, sel.s, out=t)
            tw += t
        else:
            self._integrated = None
        tw += twist_ff
        lin = math.hypot(tw[0], tw[1], tw[2])
        ang = math.hypot(tw[3], tw[4], tw[5])
        sat = 1.0
        if lin > self.max_lin:
            sat = self.max_lin / lin
        if ang > self.max_ang:
            sat = min(sat, self.max_ang / ang)
        if sat < 1.0:
            tw *= sat
        self.saturation = sat
        return tw

    def back_calculate(self, saturation: float) -> None:
        """Anti-windup after the joint-space limits achieved only ``saturation`` (0..1)
        of the twist: shrink the admittance state and undo this cycle's integration."""
        if saturation < 1.0:
            self.admittance.back_calculate(saturation, self._integrated)
