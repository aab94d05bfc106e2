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

Real-time contract: allocates no arrays; the six axes are computed with Python floats
(cheaper than numpy calls at this size; the pose error and feed-forward may be passed as
float sequences to save the conversions); gains are precomputed at construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from force_control.admittance import Admittance

_AXES = range(6)


class Selection:
    """A selection vector ``s`` (6, values in [0, 1]) with ``(1 - s) * K_p`` precomputed."""

    def __init__(self, s: np.ndarray, pose_gain: np.ndarray) -> None:
        s = np.asarray(s, float)
        if s.shape != (6,) or np.any(s < 0) or np.any(s > 1):
            raise ValueError(f"selection must be 6 values in [0, 1], got {s}")
        self.s = s.tolist()
        self.kp_free = ((1.0 - s) * np.asarray(pose_gain, float)).tolist()
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
        self.kc = np.asarray(compliance_stiffness, float).tolist()
        self.use_spring = any(k > 0 for k in self.kc)
        self.max_lin = max_linear_speed
        self.max_ang = max_angular_speed
        self.twist = np.zeros(6)
        self.saturation = 1.0
        self._sew = [0.0] * 6
        self._drive = [0.0] * 6
        self._tw = [0.0] * 6
        self._integrated: list[float] | None = None

    def selection(self, s: np.ndarray) -> Selection:
        """A ``Selection`` for ``s`` with this law's pose gains."""
        return Selection(s, self.kp)

    def update(
        self,
        sel: Selection,
        pose_error: np.ndarray | Sequence[float],
        wrench: np.ndarray | Sequence[float],
        wrench_setpoint: Sequence[float],
        twist_ff: np.ndarray | Sequence[float],
        *,
        integrate: bool,
        vmax: Sequence[float] | None = None,
    ) -> np.ndarray:
        """One period with selection ``sel``: ``pose_error`` (6, probe frame), ``wrench``
        (6, pressing, probe frame; array or floats) and ``wrench_setpoint`` (6 floats), ``twist_ff``
        (6, probe frame); ``integrate``: whether the admittance integrates the force error
        this cycle; ``vmax``: per-axis admittance velocity clamp. Returns the probe-frame
        twist (``self.twist``)."""
        e = pose_error.tolist() if isinstance(pose_error, np.ndarray) else pose_error
        w = wrench.tolist() if isinstance(wrench, np.ndarray) else wrench
        ff = twist_ff.tolist() if isinstance(twist_ff, np.ndarray) else twist_ff
        kp, s = sel.kp_free, sel.s
        tw = self._tw
        if sel.any_force or self.use_spring:
            sew, drive = self._sew, self._drive
            for k, (wd, wk, sk, kck, ek) in enumerate(
                zip(wrench_setpoint, w, s, self.kc, e, strict=True)
            ):
                x = wd - wk
                sew[k] = sk * x
                drive[k] = sk * x + kck * ek
            self._integrated = sew if integrate else None
            v_adm = self.admittance.update(drive, self._integrated, vmax)
            for k, (kpk, ek, sk, vk, fk) in enumerate(zip(kp, e, s, v_adm, ff, strict=True)):
                tw[k] = kpk * ek + sk * vk + fk
        else:
            self._integrated = None
            for k, (kpk, ek, fk) in enumerate(zip(kp, e, ff, strict=True)):
                tw[k] = kpk * ek + fk
        t0, t1, t2, t3, t4, t5 = tw
        lin = math.hypot(t0, t1, t2)
        ang = math.hypot(t3, t4, t5)
        sat = 1.0
        if lin > self.max_lin:
            sat = self.max_lin / lin
        if ang > self.max_ang:
            sat = min(sat, self.max_ang / ang)
        if sat < 1.0:
            for k in _AXES:
                tw[k] *= sat
        self.saturation = sat
        self.twist[:] = tw
        return self.twist

    def back_calculate(self, saturation: float) -> None:
        """Anti-windup after the joint-space limits achieved only ``saturation`` (0..1)
        of the twist: shrink the admittance state and undo this cycle's integration."""
        if saturation < 1.0:
            self.admittance.back_calculate(saturation, self._integrated)
