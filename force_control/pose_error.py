"""Pose error between the current probe pose and a reference, expressed in the probe
frame: translation ``R.T (p_ref - p)`` and the rotation vector ``log(R.T R_ref)``.

Real-time contract: allocation-free (writes into a caller-provided 6-vector; scalar
maths with ``math``); raw 4x4 matrices in, no SE3 objects.
"""

from __future__ import annotations

import math

import numpy as np

#: Below this rotation angle (rad) the rotation vector uses the small-angle formula.
SMALL_ANGLE = 1e-6


def rotation_log(R: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, rad) of the 3x3 rotation ``R`` into ``out`` (3)."""
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = R.tolist()
    wx = 0.5 * (r21 - r12)
    wy = 0.5 * (r02 - r20)
    wz = 0.5 * (r10 - r01)
    c = 0.5 * (r00 + r11 + r22 - 1.0)
    c = min(1.0, max(-1.0, c))
    s = math.sqrt(wx * wx + wy * wy + wz * wz)
    angle = math.atan2(s, c)
    if angle < SMALL_ANGLE:
        out[0], out[1], out[2] = wx, wy, wz
        return out
    if math.pi - angle < 1e-4:
        # near pi: axis from the diagonal of (R + I) / 2
        d = np.diag(R)
        i = int(np.argmax(d))
        v = (R[:, i] + (np.arange(3) == i)) / math.sqrt(2.0 * (1.0 + d[i]))
        out[:] = v * angle
        return out
    k = angle / s
    out[0], out[1], out[2] = wx * k, wy * k, wz * k
    return out


class PoseError:
    """The 6-D pose error [e_p; e_r] (m, rad, probe frame) of the pose held in the 4x4
    array ``T_base_probe`` relative to the 4x4 array ``T_base_ref``. Both arrays are
    bound at construction and read on every ``update`` (Python-float arithmetic: for
    3x3 products it is cheaper than numpy calls)."""

    def __init__(self, T_base_probe: np.ndarray, T_base_ref: np.ndarray) -> None:
        self.error = np.zeros(6)
        self._T = T_base_probe
        self._Tref = T_base_ref
        self._Rerr = np.zeros((3, 3))
        self._er = np.zeros(3)

    def update(self) -> np.ndarray:
        """Error of the probe pose relative to the reference, probe frame (``error``)."""
        self.error[:] = self.update_values()
        return self.error

    def update_values(self) -> tuple[float, float, float, float, float, float]:
        """``update`` as a tuple of floats (the controller's path: no array write; the
        ``error`` array is left as it was)."""
        (a0, a1, a2, px), (a3, a4, a5, py), (a6, a7, a8, pz), _ = self._T.tolist()
        (b0, b1, b2, qx), (b3, b4, b5, qy), (b6, b7, b8, qz), _ = self._Tref.tolist()
        dx, dy, dz = qx - px, qy - py, qz - pz
        # R^T dp
        ex = a0 * dx + a3 * dy + a6 * dz
        ey = a1 * dx + a4 * dy + a7 * dz
        ez = a2 * dx + a5 * dy + a8 * dz
        # R^T R_ref, only the entries the rotation vector needs
        c00 = a0 * b0 + a3 * b3 + a6 * b6
        c11 = a1 * b1 + a4 * b4 + a7 * b7
        c22 = a2 * b2 + a5 * b5 + a8 * b8
        c01 = a0 * b1 + a3 * b4 + a6 * b7
        c10 = a1 * b0 + a4 * b3 + a7 * b6
        c02 = a0 * b2 + a3 * b5 + a6 * b8
        c20 = a2 * b0 + a5 * b3 + a8 * b6
        c12 = a1 * b2 + a4 * b5 + a7 * b8
        c21 = a2 * b1 + a5 * b4 + a8 * b7
        wx = 0.5 * (c21 - c12)
        wy = 0.5 * (c02 - c20)
        wz = 0.5 * (c10 - c01)
        c = min(1.0, max(-1.0, 0.5 * (c00 + c11 + c22 - 1.0)))
        sn = math.sqrt(wx * wx + wy * wy + wz * wz)
        angle = math.atan2(sn, c)
        if angle < SMALL_ANGLE:
            k = 1.0
        elif math.pi - angle < 1e-4:  # near pi: the general formula
            Rerr = self._Rerr
            Rerr[:] = ((c00, c01, c02), (c10, c11, c12), (c20, c21, c22))
            rotation_log(Rerr, self._er)
            wx, wy, wz = self._er.tolist()
            k = 1.0
        else:
            k = angle / sn
        return ex, ey, ez, wx * k, wy * k, wz * k
