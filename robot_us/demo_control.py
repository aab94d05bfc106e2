"""The first-form demo controller: a Cartesian pose servo through a damped-least-squares
Jacobian solve, plus a 1-DoF admittance (pure damper) along the probe axis, plus a
static wrench compensator (tare + probe gravity from config). Small on purpose: the real
hybrid force/position controller lives in ``force_control/`` and replaces this in
``robot-us demo``. Pure numpy; no I/O, clocks or pybullet.

Real-time contract: ``update`` methods work in preallocated arrays and read no config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dposv

from robot_us.kinematics import ArmKinematics

#: Standard gravity (m/s^2), along -z of the base frame.
GRAVITY = 9.81
#: Damping of the least-squares Jacobian solve (m, rad).
DLS_DAMPING = 0.01


def rotation_error(R_target: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Small-angle rotation vector (rad, base frame) taking ``R`` towards ``R_target``."""
    E = R_target @ R.T
    return 0.5 * np.array([E[2, 1] - E[1, 2], E[0, 2] - E[2, 0], E[1, 0] - E[0, 1]])


@dataclass(frozen=True)
class ServoGains:
    """Pose servo gains (1/s) and Cartesian speed limits (m/s, rad/s)."""

    position: float = 8.0
    orientation: float = 8.0
    max_linear: float = 0.15
    max_angular: float = 0.8


class PoseServo:
    """Tool twist command -> joint velocities: v = v_ff + K e, qd = J^T (J J^T + l^2 I)^-1 v,
    e the tool pose error in the base frame; linear and angular speed capped."""

    def __init__(self, kin: ArmKinematics, gains: ServoGains | None = None) -> None:
        self.kin = kin
        self.gains = gains or ServoGains()
        self._T = np.eye(4)
        self._J = np.zeros((6, kin.n))
        self._twist = np.zeros(6)
        self._A = np.zeros((6, 6))
        self._damp = (DLS_DAMPING**2) * np.eye(6)
        self.qd = np.zeros(kin.n)

    def tool_pose(self, q: np.ndarray) -> np.ndarray:
        """T_base_tool (4x4) at ``q``, written into an internal buffer."""
        return self.kin.fk(q, out=self._T)

    def update(
        self,
        q: np.ndarray,
        T_target: np.ndarray,
        twist_ff: np.ndarray | None = None,
        T: np.ndarray | None = None,
    ) -> np.ndarray:
        """Joint velocities (rad/s) towards ``T_target`` (4x4, base) plus the feed-forward
        tool twist ``twist_ff`` [v; w] (m/s, rad/s, base frame). ``T``: the tool pose at
        ``q`` when the caller already has it (saves one forward kinematics)."""
        g = self.gains
        if T is None:
            T = self.kin.fk(q, out=self._T)
        tw = self._twist
        tw[:3] = g.position * (T_target[:3, 3] - T[:3, 3])
        tw[3:] = g.orientation * rotation_error(T_target[:3, :3], T[:3, :3])
        if twist_ff is not None:
            tw += twist_ff
        return self.solve(q, tw)

    def solve(self, q: np.ndarray, twist: np.ndarray) -> np.ndarray:
        """Joint velocities (rad/s) for a tool twist [v; w] (base frame), speed-capped."""
        g = self.gains
        tw = self._twist
        if tw is not twist:
            tw[:] = twist
        lin = math.sqrt(float(tw[:3] @ tw[:3]))
        if lin > g.max_linear:
            tw[:3] *= g.max_linear / lin
        ang = math.sqrt(float(tw[3:] @ tw[3:]))
        if ang > g.max_angular:
            tw[3:] *= g.max_angular / ang
        J = self.kin.jacobian(q, out=self._J)
        np.matmul(J, J.T, out=self._A)
        self._A += self._damp
        _, x, info = dposv(self._A, tw)  # Cholesky solve: J J^T + l^2 I is SPD
        if info != 0:
            raise np.linalg.LinAlgError(f"damped least squares failed (LAPACK info {info})")
        np.matmul(J.T, x, out=self.qd)
        return self.qd


@dataclass(frozen=True)
class AdmittanceGains:
    """Probe-axis admittance: damper B (N·s/m), speed limit (m/s), force filter (Hz)."""

    damping: float = 400.0
    max_speed: float = 0.02
    filter_hz: float = 30.0


class AxisAdmittance:
    """Pure-damper admittance along the probe axis: v = (F_set - F) / B, F the filtered
    contact force pushing back on the probe (N, positive in contact), v the tool speed
    along +z of the probe (into the body, m/s)."""

    def __init__(self, gains: AdmittanceGains, dt: float) -> None:
        self.gains = gains
        a = 2.0 * np.pi * gains.filter_hz * dt
        self._alpha = a / (1.0 + a)
        self.force = 0.0

    def reset(self, force: float) -> None:
        """Start the force filter at ``force`` (N)."""
        self.force = force

    def update(self, force: float, setpoint: float) -> float:
        """Probe-axis speed (m/s) from a new contact force sample (N) and the setpoint."""
        self.force += self._alpha * (force - self.force)
        v = (setpoint - self.force) / self.gains.damping
        return max(-self.gains.max_speed, min(self.gains.max_speed, v))


class WrenchCompensator:
    """Raw F/T reading -> contact wrench on the probe (sensor frame): subtract the tared
    bias and the carried mass's weight. Sensor convention: the tool's wrench on the
    sensor (pressing the probe into the body reads -z)."""

    def __init__(self, mass: float, com: np.ndarray) -> None:
        self.mass = mass
        self.com = np.asarray(com, dtype=float)
        self.bias = np.zeros(6)
        self._g = np.zeros(6)
        self.out = np.zeros(6)

    def gravity(self, R_base_sensor: np.ndarray) -> np.ndarray:
        """The carried mass's wrench on the sensor (sensor frame) at this orientation."""
        f = self.mass * GRAVITY * -R_base_sensor[2, :]  # R^T (0, 0, -g)
        self._g[:3] = f
        self._g[3:] = np.cross(self.com, f)
        return self._g

    def tare(self, mean_raw: np.ndarray, R_base_sensor: np.ndarray) -> None:
        """Estimate the bias from the mean raw reading at rest, out of contact."""
        self.bias[:] = mean_raw - self.gravity(R_base_sensor)

    def update(self, raw: np.ndarray, R_base_sensor: np.ndarray) -> np.ndarray:
        """Contact wrench (sensor frame) from a raw reading."""
        np.subtract(raw, self.bias, out=self.out)
        self.out -= self.gravity(R_base_sensor)
        return self.out
