"""The arm's low-level controller as the simulated joints see it (``sim.actuation.model =
"arm"``): joint velocity commands pass through

1. a command latency of ``latency_cycles`` control periods (a delay line);
2. a first-order lag of time constant ``lag``: qd_m += (1 - exp(-dt / lag)) (qd_cmd - qd_m);
3. joint compliance: the joint yields to the external torque tau_ext = J^T w_contact and
   to the friction it does not cancel, tau_f = F_c tanh(qd_m / v_s) + b qd_m, by
   delta -> (tau_ext - tau_f) / K with time constant ``compliance_time`` (K: the joint
   stiffness of the arm's profile: an impedance-controlled Panda yields, a
   position-controlled arm's servo holds);

and pybullet's joint velocity motors then follow qd_m + d(delta)/dt. The external torque
that drives the deflection is the mean of this and the last step's: fed back explicitly,
one step late, through stiff tissue (6000-10000 N/m with the Panda's joint stiffness) the
deflection loop has a gain above 1 at the step rate's Nyquist frequency and settles into
a period-2 limit cycle (contact force alternating 8.4 / 9.3 N and the sensing joint's
reaction -10.3 / -2.5 N step by step, measured on the harsh profile while breathing),
which a 100 Hz F/T sensor, sampling every 10th step, aliases to a constant offset of
several newtons. The two-step mean has a zero at Nyquist and removes it; it delays the
torque by half a step. Values per arm:
``sim/actuation.py``; ``latency_cycles`` and ``lag`` can be overridden in ``sim.actuation``.

``sim.actuation.model = "ideal"`` is ``DirectJoints``: each command goes to the motors at
once and the joints follow it in the next physics step.

Real-time contract: ``command`` and ``step`` work in place on preallocated arrays; the
Jacobian (roboticstoolbox's C kernel) and the joint state are read only while there is a
contact wrench.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from robot_us.core.actuation import ActuationProfile
from robot_us.core.registry import Registry


class DirectJoints:
    """Ideal actuation: a joint velocity command reaches pybullet's velocity motors (with
    the arm's torque limits) at once."""

    def __init__(self, world) -> None:
        self._client = world.client
        self._body = world.robot_id
        self._joints = list(world.joint_indices)
        self._max_torque = list(world.arm.tau_max)

    def command(self, qd: list[float]) -> None:
        """Joint velocities (rad/s) for the next physics step."""
        p.setJointMotorControlArray(
            self._body,
            self._joints,
            p.VELOCITY_CONTROL,
            targetVelocities=qd,
            forces=self._max_torque,
            physicsClientId=self._client,
        )

    def step(self, wrench: np.ndarray | None) -> None:
        """Nothing between command and motors."""

    def release(self) -> None:
        """Nothing to release (position commands go to the motors directly)."""

    def reset(self) -> None:
        """Nothing in flight."""


class JointServo:
    """Delay line, lag and compliance between the commanded and the applied joint
    velocities (module docstring)."""

    def __init__(self, world, profile: ActuationProfile, actuation) -> None:
        """``world``: the ``SimWorld`` (pybullet ids, the arm's kinematics with the probe,
        ``dt``); ``profile``: the arm's ``ActuationProfile`` (its registry entry's); ``actuation``:
        ``sim.actuation`` config (its ``latency_cycles``/``lag`` override the profile's
        when >= 0)."""
        kin = world.kin
        n = kin.n
        self._client = world.client
        self._body = world.robot_id
        self._joints = list(world.joint_indices)
        self._max_torque = list(world.arm.tau_max)
        self._active = True  # False while position commands drive the motors
        dt = world.dt
        if len(profile.joint_stiffness) != n:
            raise ValueError(
                f"actuation profile of '{world.arm.name}' has {len(profile.joint_stiffness)} "
                f"joints; the arm has {n}"
            )
        self.profile = profile
        self.latency_cycles = (
            profile.latency_cycles if actuation.latency_cycles < 0 else actuation.latency_cycles
        )
        self.lag = profile.lag if actuation.lag < 0 else float(actuation.lag)
        self.dt = float(dt)
        self._alpha = 1.0 if self.lag <= 0 else -math.expm1(-self.dt / self.lag)
        self._beta = (
            1.0 if profile.compliance_time <= 0 else -math.expm1(-self.dt / profile.compliance_time)
        )
        self._kin = kin
        self._compliance = 1.0 / np.array(profile.joint_stiffness, dtype=float)
        self._coulomb = np.array(profile.coulomb_friction, dtype=float)
        self._inv_vs = 1.0 / np.array(profile.friction_velocity, dtype=float)
        self._viscous = np.array(profile.viscous_damping, dtype=float)
        self._line = np.zeros((self.latency_cycles + 1, n))  # delay line of commands
        self._head = 0
        self.qd_lagged = np.zeros(n)  # the joints' velocity after latency and lag (rad/s)
        self.deflection = np.zeros(n)  # compliance deflection (rad)
        self.target = np.zeros(n)  # what pybullet's motors get (rad/s)
        self._J = np.zeros((6, n))
        self._q = np.zeros(n)
        self._tau = np.zeros(n)
        self._tmp = np.zeros(n)
        self._tau_ext = np.zeros(n)  # the last step's external joint torque
        self._had_contact = False

    @classmethod
    def for_world(cls, world) -> JointServo:
        """The servo of the world's arm model with its ``sim.actuation`` settings."""
        return cls(world, world.arm.actuation, world.cfg.sim.actuation)

    def reset(self) -> None:
        """At rest, nothing in flight (the arm was teleported)."""
        self._line[:] = 0.0
        self.qd_lagged[:] = 0.0
        self.deflection[:] = 0.0
        self.target[:] = 0.0

    def release(self) -> None:
        """Position commands drive the motors until the next velocity command."""
        self._active = False
        self.reset()

    def command(self, qd: list[float]) -> None:
        """The joint velocity command of this control cycle (rad/s)."""
        self._line[self._head] = qd
        self._active = True

    def step(self, wrench: np.ndarray | None) -> None:
        """Set pybullet's motors for the next physics step from the command in flight and
        the contact ``wrench`` at the probe tip (base frame, [f; m about the tip]; None
        without contact)."""
        if not self._active:
            return
        line = self._line
        oldest = (self._head + 1) % len(line)  # the command latency_cycles ago
        qd = self.qd_lagged
        tmp = self._tmp
        np.subtract(line[oldest], qd, out=tmp)
        tmp *= self._alpha
        qd += tmp
        # advance the line; the newest command stays in force until the next one
        line[oldest] = line[self._head]
        self._head = oldest
        # deflection target: (tau_ext - tau_f) / K
        tau = self._tau
        np.multiply(qd, self._inv_vs, out=tau)
        np.tanh(tau, out=tau)
        tau *= self._coulomb
        np.multiply(qd, self._viscous, out=tmp)
        tau += tmp
        np.negative(tau, out=tau)
        if wrench is not None:
            states = p.getJointStates(self._body, self._joints, physicsClientId=self._client)
            self._q[:] = [s[0] for s in states]
            self._kin.jacobian(self._q, out=self._J)
            np.dot(wrench, self._J, out=tmp)  # J^T w
            tau_ext = self._tau_ext
            if self._had_contact:  # mean of this and the last step's (module docstring)
                tau_ext += tmp
                tau_ext *= 0.5
                tau += tau_ext
            else:
                tau += tmp
            tau_ext[:] = tmp
            self._had_contact = True
        else:
            self._had_contact = False
        tau *= self._compliance
        tau -= self.deflection
        tau *= self._beta  # change of the deflection this step
        self.deflection += tau
        np.multiply(tau, 1.0 / self.dt, out=self.target)
        self.target += qd
        p.setJointMotorControlArray(
            self._body,
            self._joints,
            p.VELOCITY_CONTROL,
            targetVelocities=self.target.tolist(),
            forces=self._max_torque,
            physicsClientId=self._client,
        )


#: Actuation models by ``sim.actuation.model``: ``factory(world) -> joints``.
ACTUATION_MODELS: Registry = Registry("actuation model")
ACTUATION_MODELS.register("ideal", DirectJoints)
ACTUATION_MODELS.register("arm", JointServo.for_world)
