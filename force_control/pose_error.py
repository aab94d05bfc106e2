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
    bound at construction (views precomputed) and read on every ``update``."""

    def __init__(self, T_base_probe: np.ndarray, T_base_ref: np.ndarray) -> None:
        self.error = np.zeros(6)
        self._ep = self.error[:3]
        self._er = self.error[3:]
        self._R = T_base_probe[:3, :3]
        self._RT = self._R.T
        self._p = T_base_probe[:3, 3]
        self._Rref = T_base_ref[:3, :3]
        self._pref = T_base_ref[:3, 3]
        self._Rerr = np.zeros((3, 3))
        self._dp = np.zeros(3)

    def update(self) -> np.ndarray:
        """Error of the probe pose relative to the reference, probe frame."""
        np.subtract(self._pref, self._p, out=self._dp)
        np.matmul(self._dp, self._R, out=self._ep)  # R.T @ dp
        np.matmul(self._RT, self._Rref, out=self._Rerr)
        rotation_log(self._Rerr, self._er)
        return self.error
