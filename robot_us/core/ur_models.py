"""Universal Robots e-Series arms (UR3e, UR5e, UR10e) as data: the published standard DH
parameters, joint limits, data-sheet joint speeds and a ready pose, and the ETS built
from the DH table (roboticstoolbox's UR models need a URDF download; these need nothing).

Frames: the ETS maps ``base`` (UR's base frame, the DH frame 0) to ``flange`` (DH frame 6,
UR's ``tool0``: z out of the tool flange). Standard DH per joint i:
``Rz(q_i) · Tz(d_i) · Tx(a_i) · Rx(alpha_i)``.

These are entries for the one arm-model registry of the base layer (registered there,
not here); the UR driver (``hardware_drivers.ur_rtde_arm``) commands them at RTDE's
500 Hz (``NATIVE_RATE_HZ``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: RTDE control rate of the e-Series controller (Hz): the control loop runs at this rate.
NATIVE_RATE_HZ = 500.0

_HALF_PI = 0.5 * math.pi
#: Twist angles alpha (rad), the same for the three arms.
_ALPHA = (_HALF_PI, 0.0, 0.0, _HALF_PI, -_HALF_PI, 0.0)
#: Joint position limits of the e-Series (rad): +-360 deg on every joint.
_QLIM = (-2.0 * math.pi, 2.0 * math.pi)


@dataclass(frozen=True)
class UrModel:
    """One e-Series arm. ``a``, ``d`` (m) and ``alpha`` (rad) are the standard DH parameters
    (theta_i = q_i); ``max_speed`` (rad/s) the data-sheet joint speeds; ``payload`` (kg)
    and ``reach`` (m) from the data sheet; ``q_ready`` (rad) a pose with the flange
    pointing straight down (-z) at +x of the base."""

    name: str
    a: tuple[float, ...]
    d: tuple[float, ...]
    alpha: tuple[float, ...]
    max_speed: tuple[float, ...]
    payload: float
    reach: float
    q_ready: tuple[float, ...] = (math.pi, -_HALF_PI, _HALF_PI, -_HALF_PI, -_HALF_PI, 0.0)
    rate_hz: float = NATIVE_RATE_HZ

    @property
    def n_joints(self) -> int:
        """Number of joints (6)."""
        return len(self.a)

    def qlim(self) -> np.ndarray:
        """Joint limits (2 x 6, rad): row 0 lower, row 1 upper."""
        return np.array([[_QLIM[0]] * self.n_joints, [_QLIM[1]] * self.n_joints])

    def velocity_limits(self) -> np.ndarray:
        """Data-sheet joint speed limits (rad/s)."""
        return np.array(self.max_speed, dtype=float)

    def ets(self):
        """T_base_flange as a roboticstoolbox ETS from the DH table (zero constants left out)."""
        from roboticstoolbox import ET

        ets = None
        for a, d, alpha in zip(self.a, self.d, self.alpha, strict=True):
            # appended one ET at a time: ETS * ET numbers the joints, ETS * ETS does not
            for et in (ET.Rz(), d and ET.tz(d), a and ET.tx(a), alpha and ET.Rx(alpha)):
                if et:
                    ets = et if ets is None else ets * et
        return ets

    def dh_fk(self, q: np.ndarray) -> np.ndarray:
        """T_base_flange (4x4) by multiplying the standard DH matrices (reference maths for
        tests and checks; the loop uses ``ets``)."""
        T = np.eye(4)
        for qi, a, d, alpha in zip(q, self.a, self.d, self.alpha, strict=True):
            ct, st = math.cos(qi), math.sin(qi)
            ca, sa = math.cos(alpha), math.sin(alpha)
            A = np.array(
                [
                    [ct, -st * ca, st * sa, a * ct],
                    [st, ct * ca, -ct * sa, a * st],
                    [0.0, sa, ca, d],
                    [0.0, 0.0, 0.0, 1.0],
                ]
            )
            T = T @ A
        return T


_PI = math.pi
#: The e-Series arms by ``robot.model`` name (DH from Universal Robots' published table
#: "DH parameters for calculations of kinematics and dynamics"; speeds and payloads from
#: the data sheets).
UR_MODELS: dict[str, UrModel] = {
    "ur3e": UrModel(
        name="ur3e",
        a=(0.0, -0.24355, -0.2132, 0.0, 0.0, 0.0),
        d=(0.15185, 0.0, 0.0, 0.13105, 0.08535, 0.0921),
        alpha=_ALPHA,
        max_speed=(_PI, _PI, _PI, 2 * _PI, 2 * _PI, 2 * _PI),  # 180 deg/s, wrists 360
        payload=3.0,
        reach=0.5,
    ),
    "ur5e": UrModel(
        name="ur5e",
        a=(0.0, -0.425, -0.3922, 0.0, 0.0, 0.0),
        d=(0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996),
        alpha=_ALPHA,
        max_speed=(_PI,) * 6,  # 180 deg/s on every joint
        payload=5.0,
        reach=0.85,
    ),
    "ur10e": UrModel(
        name="ur10e",
        a=(0.0, -0.6127, -0.57155, 0.0, 0.0, 0.0),
        d=(0.1807, 0.0, 0.0, 0.17415, 0.11985, 0.11655),
        alpha=_ALPHA,
        max_speed=(2 * _PI / 3, 2 * _PI / 3, _PI, _PI, _PI, _PI),  # 120 deg/s base, shoulder
        payload=12.5,
        reach=1.3,
    ),
}


def ur_model(name: str) -> UrModel:
    """The e-Series arm ``name`` (ur3e, ur5e, ur10e); ``KeyError`` naming the choices."""
    try:
        return UR_MODELS[name]
    except KeyError:
        raise KeyError(f"unknown UR model '{name}'; available: {', '.join(UR_MODELS)}") from None
