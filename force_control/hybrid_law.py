"""The hybrid force/position law in the probe frame.

For each probe axis i in [x y z rx ry rz] a selection value s_i in [0, 1] says how much of
it is force-controlled:

    e_w   = w_des - w                      (pressing wrench error)
    drive = s * e_w + K_c * e_pose         (K_c: compliance spring, 0 in hybrid mode)
    v_adm = admittance(drive)              (mass-damper + integral, anti-windup)
    twist = (1 - s) * K_p * e_pose + s * v_adm + twist_ff

so pure position control is s = 0, the usual hybrid scan is s = [0 0 1 0 0 0] (force
along the probe axis, pose on the others) and pure compliance is s = 1 with a spring
K_c > 0 to the reference. The commanded linear and angular speeds are clamped
(uniform scaling; reported as ``saturation`` for anti-windup).

Real-time contract: allocation-free; all gains are arrays precomputed at construction.
"""

from __future__ import annotations

import math

import numpy as np

from force_control.admittance import Admittance


class HybridLaw:
    """Selection-vector hybrid force/position law producing a probe-frame twist."""

    def __init__(
        self,
        selection: np.ndarray,
        admittance: Admittance,
        pose_gain: np.ndarray,
        compliance_stiffness: np.ndarray,
        max_linear_speed: float,
        max_angular_speed: float,
    ) -> None:
        s = np.asarray(selection, float)
        if s.shape != (6,) or np.any(s < 0) or np.any(s > 1):
            raise ValueError(f"selection must be 6 values in [0, 1], got {selection}")
        self.selection = s.copy()
        self.admittance = admittance
        self.kp = np.asarray(pose_gain, float).copy()
        self.kc = np.asarray(compliance_stiffness, float).copy()
        self.max_lin = max_linear_speed
        self.max_ang = max_angular_speed
        self.twist = np.zeros(6)
        self.wrench_error = np.zeros(6)
        self.saturation = 1.0
        self._drive = np.zeros(6)
        self._t = np.zeros(6)
        self._integrated = np.zeros(6)
        self._integrate_flag = False

    def update(
        self,
        selection: np.ndarray,
        pose_error: np.ndarray,
        wrench: np.ndarray,
        wrench_setpoint: np.ndarray,
        twist_ff: np.ndarray,
        integrate: bool,
        vmax: np.ndarray | None = None,
    ) -> np.ndarray:
        """One period. ``selection`` (6) for this cycle, ``pose_error`` (probe frame),
        ``wrench`` / ``wrench_setpoint`` (pressing, probe frame), ``twist_ff`` (probe
        frame). Returns the probe-frame twist (written into ``self.twist``)."""
        ew, drive, t = self.wrench_error, self._drive, self._t
        np.subtract(wrench_setpoint, wrench, out=ew)
        np.multiply(ew, selection, out=drive)
        self._integrated[:] = drive
        np.multiply(self.kc, pose_error, out=t)
        drive += t
        v_adm = self.admittance.update(drive, self._integrated, integrate, vmax)
        tw = self.twist
        # (1 - s) * kp * e_pose
        np.multiply(self.kp, pose_error, out=tw)
        np.multiply(tw, selection, out=t)
        tw -= t
        np.multiply(v_adm, selection, out=t)
        tw += t
        tw += twist_ff
        lin = math.sqrt(tw[0] * tw[0] + tw[1] * tw[1] + tw[2] * tw[2])
        ang = math.sqrt(tw[3] * tw[3] + tw[4] * tw[4] + tw[5] * tw[5])
        sat = 1.0
        if lin > self.max_lin:
            sat = self.max_lin / lin
        if ang > self.max_ang:
            sat = min(sat, self.max_ang / ang)
        if sat < 1.0:
            tw *= sat
        self.saturation = sat
        self._integrate_flag = integrate
        return tw

    def back_calculate(self, saturation: float) -> None:
        """Anti-windup after the joint-space limits achieved only ``saturation`` (0..1)
        of the twist: shrink the admittance state and undo this cycle's integration."""
        if saturation < 1.0:
            self.admittance.back_calculate(
                saturation, self._integrated if self._integrate_flag else None
            )
