"""The simulated arm backend: joint velocity commands go to the world's actuation model
(``sim.joint_servo``: ideal, or the arm's latency, lag and compliance) and from there to
pybullet's velocity motors with the arm's real joint torque limits (optionally
joint-position commands, straight to pybullet's position servo).

Real-time contract: ``read`` and ``command_velocity`` are called every cycle; they do no
configuration reads and allocate only pybullet's small result tuples (and a list of the
command's floats); the per-joint work runs in C (``zip``/``map``), not in Python loops.
"""

from __future__ import annotations

from operator import le

import numpy as np
import pybullet as p

from robot_us.core.backends import ArmBackend, BackendError
from robot_us.core.types import ArmState


class SimArm(ArmBackend):
    """Joint-velocity-commanded arm in a ``SimWorld``. Velocity commands beyond the
    arm's joint velocity limits are clipped (counted in ``clipped_commands``); position
    commands outside the joint limits are refused."""

    supports_position = True

    def __init__(self, world) -> None:
        self._world = world
        self._client = world.client
        self._body = world.robot_id
        self._joints = list(world.joint_indices)
        self.n_joints = len(self._joints)
        self._max_torque = list(world.arm.tau_max)
        self._vlim = world.kin.limits.velocity.copy()
        self._vlim_list = self._vlim.tolist()
        self._qlo = world.kin.limits.lower.copy()
        self._qhi = world.kin.limits.upper.copy()
        self._cmd = np.zeros(self.n_joints)
        self.clipped_commands = 0

    def read(self, out: ArmState) -> None:
        """Joint positions (rad), velocities (rad/s), motor torques (N·m) and sim time."""
        states = p.getJointStates(self._body, self._joints, physicsClientId=self._client)
        # each state is (position, velocity, reaction wrench, applied motor torque)
        q, qd, _, tau = zip(*states, strict=True)
        out.q[:] = q
        out.qd[:] = qd
        out.tau[:] = tau
        out.t = self._world.t

    def command_velocity(self, qd: np.ndarray) -> None:
        """Joint velocities (rad/s), clipped to the velocity limits, held until the next
        command."""
        target = qd.tolist() if isinstance(qd, np.ndarray) else [float(x) for x in qd]
        if len(target) != self.n_joints:
            raise BackendError(
                f"joint velocity command must have {self.n_joints} values, got {len(target)}"
            )
        if not all(map(le, map(abs, target), self._vlim_list)):  # also catches NaN
            cmd = self._cmd
            cmd[:] = qd
            if not np.isfinite(cmd).all():
                raise BackendError(f"non-finite joint velocity command: {list(qd)}")
            np.clip(cmd, -self._vlim, self._vlim, out=cmd)
            self.clipped_commands += 1
            target = cmd.tolist()
        self._world.joints.command(target)

    def command_position(self, q: np.ndarray) -> None:
        """Joint positions (rad) through pybullet's position servo (torque-limited)."""
        q = np.asarray(q, dtype=float)
        if q.shape != (self.n_joints,) or not np.isfinite(q).all():
            raise BackendError(f"joint position command must be {self.n_joints} finite values")
        bad = np.flatnonzero((q < self._qlo) | (q > self._qhi))
        if bad.size:
            j = int(bad[0])
            raise BackendError(
                f"joint {j + 1} position {q[j]:.4f} rad outside its limits "
                f"[{self._qlo[j]:.4f}, {self._qhi[j]:.4f}]"
            )
        self._world.joints.release()
        p.setJointMotorControlArray(
            self._body,
            self._joints,
            p.POSITION_CONTROL,
            targetPositions=q.tolist(),
            forces=self._max_torque,
            physicsClientId=self._client,
        )

    def stop(self) -> None:
        """Command zero joint velocity."""
        self._cmd[:] = 0.0
        self.command_velocity(self._cmd)
