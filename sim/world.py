"""The pybullet scanning cell: an arm carrying the probe tool on a 6-axis F/T sensor,
a rigid patient bed and a compliant phantom (cylinder or torso) whose skin is exactly
``sim.phantom_geometry``. The world frame IS the robot base frame (base at the origin,
z up). One ``step()`` advances one control period: the tissue's contact wrench on the
lens (``sim.lens_contact``) and the arm's low-level controller (``sim.joint_servo``) act,
then pybullet integrates.

Real-time contract: ``step``, ``probe_pose``, ``contact_force`` are called from the
loop (lockstep) and must stay cheap; they do not read configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_us.core.arms import ArmModel, SimUrdf
from robot_us.core.kinematics import ArmKinematics, probe_transform
from sim.joint_servo import ACTUATION_MODELS
from sim.lens_contact import LensContact
from sim.phantom_geometry import PhantomGeometry
from sim.probe_tool import PROBE_LINK, SENSING_JOINT, SENSOR_LINK, ProbeTool
from sim.urdf_builder import build_arm_urdf

#: Standard gravity (m/s^2), along -z of the base frame.
GRAVITY = 9.81
#: Thickness of the bed box below its top surface (m).
BED_THICKNESS = 0.1
#: Friction coefficient of the probe's surfaces against rigid bodies (the bed).
PROBE_FRICTION = 1.0
#: Largest vertical phantom shift ``shift_phantom`` accepts (m).
MAX_PHANTOM_SHIFT = 0.05


@dataclass
class ContactPoints:
    """Probe/phantom contact points (base frame): ``positions`` on the undeformed skin
    (N x 3, m), ``normals`` out of the phantom towards the probe (N x 3), ``forces``
    normal force per point (N,), ``depths`` indentation per point (N, m)."""

    positions: np.ndarray
    normals: np.ndarray
    forces: np.ndarray
    depths: np.ndarray

    def __len__(self) -> int:
        return len(self.forces)


def _pose_matrix(pos, quat) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.array(p.getMatrixFromQuaternion(quat)).reshape(3, 3)
    T[:3, 3] = pos
    return T


class SimWorld:
    """The simulated cell. Attributes: ``client``, ``robot_id``, ``phantom_id``,
    ``bed_id``, ``geometry``, ``kin``, ``T_flange_probe``, ``dt`` (s), ``t`` (s)."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.tool = ProbeTool.from_config(cfg.probe)
        self.dt = 1.0 / cfg.loop.rate_hz
        self.t = 0.0
        self.n_steps = 0
        self.geometry: PhantomGeometry = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
        self.T_flange_probe = probe_transform(cfg.probe.tip_offset)
        self.T_sensor_probe = np.eye(4)
        self.T_sensor_probe[2, 3] = self.tool.sensor_to_tip
        self.kin = ArmKinematics(cfg.robot.model, self.T_flange_probe)
        self.arm: ArmModel = self.kin.arm
        if self.arm.sim is None:
            raise ValueError(f"robot.model '{self.arm.name}' has no simulation model")
        self.urdf: SimUrdf = self.arm.sim  # how the arm's URDF is built (registry entry)
        ph = cfg.sim.phantom
        self._breath_a = ph.breathing_amplitude
        self._breath_w = 2.0 * math.pi * ph.breathing_hz
        self._shift = 0.0  # extra vertical phantom offset (m), see shift_phantom
        self._body_dz = 0.0  # vertical offset the phantom body was last placed at (m)
        self.contact = LensContact(self.geometry, self.tool, ph, cfg.sim.tissue, self.dt)
        self._tip_wrench = np.zeros(6)  # contact wrench at the probe tip (base, [f; m])

        mode = p.GUI if cfg.sim.gui else p.DIRECT
        self.client = p.connect(mode)
        if self.client < 0:
            raise RuntimeError("pybullet could not connect (GUI needs a display)")
        c = self.client
        p.resetSimulation(physicsClientId=c)
        p.setGravity(0, 0, -GRAVITY, physicsClientId=c)
        p.setTimeStep(self.dt, physicsClientId=c)
        p.setPhysicsEngineParameter(
            numSolverIterations=cfg.sim.solver_iterations,
            numSubSteps=0,
            deterministicOverlappingPairs=1,
            jointFeedbackMode=p.JOINT_FEEDBACK_IN_JOINT_FRAME,
            physicsClientId=c,
        )
        self._build_robot()
        self._build_bed()
        self._build_phantom()
        self.joints = ACTUATION_MODELS.create(cfg.sim.actuation.model, self)
        self.q_home = self.kin.home(cfg.robot.q_home)
        self.reset_joints(self.q_home)
        # one physics step so that joint reaction forces (the F/T reading) are valid
        # from the start; sim time stays 0
        p.stepSimulation(physicsClientId=c)

    # -- building -------------------------------------------------------------------
    def _build_robot(self) -> None:
        c = self.client
        urdf = build_arm_urdf(self.arm.name, self.urdf, self.tool)
        flags = p.URDF_USE_INERTIA_FROM_FILE
        self.robot_id = p.loadURDF(
            str(urdf), [0, 0, 0], [0, 0, 0, 1], useFixedBase=True, flags=flags, physicsClientId=c
        )
        links: dict[str, int] = {}
        joints: dict[str, int] = {}
        revolute: list[int] = []
        for i in range(p.getNumJoints(self.robot_id, physicsClientId=c)):
            info = p.getJointInfo(self.robot_id, i, physicsClientId=c)
            joints[info[1].decode()] = i
            links[info[12].decode()] = i
            if info[2] == p.JOINT_REVOLUTE:
                revolute.append(i)
        if len(revolute) != self.arm.n_joints:
            raise RuntimeError(
                f"{self.urdf.path}: found {len(revolute)} revolute joints, "
                f"expected {self.arm.n_joints}"
            )
        self.joint_indices = revolute
        self.link_index = links
        self.flange_link = links[self.urdf.flange_link]
        self.sensor_link = links[SENSOR_LINK]
        self.probe_link = links[PROBE_LINK]
        self.sensing_joint = joints[SENSING_JOINT]
        p.enableJointForceTorqueSensor(self.robot_id, self.sensing_joint, True, physicsClientId=c)
        p.changeDynamics(
            self.robot_id,
            self.probe_link,
            lateralFriction=PROBE_FRICTION,
            spinningFriction=0.0,
            rollingFriction=0.0,
            physicsClientId=c,
        )
        for i in revolute:  # no joint friction / damping beyond the motors
            p.changeDynamics(
                self.robot_id, i, linearDamping=0.0, angularDamping=0.0, physicsClientId=c
            )

    def _build_bed(self) -> None:
        c, bed = self.client, self.cfg.sim.bed
        half = [0.5 * bed.size_xy[0], 0.5 * bed.size_xy[1], 0.5 * BED_THICKNESS]
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=c)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half, rgbaColor=[0.35, 0.45, 0.55, 1], physicsClientId=c
        )
        pos = [bed.center_xy[0], bed.center_xy[1], bed.top_z - 0.5 * BED_THICKNESS]
        self.bed_id = p.createMultiBody(0, col, vis, pos, physicsClientId=c)

    def _build_phantom(self) -> None:
        """The phantom as a visual body only (the camera renders and segments it): the
        tissue's contact is ``sim.lens_contact``, from the exact geometry."""
        c, g = self.client, self.geometry
        verts, idx, normals = g.visual_mesh()
        vis = p.createVisualShape(
            p.GEOM_MESH,
            vertices=verts.tolist(),
            indices=idx.ravel().tolist(),
            normals=normals.tolist(),
            rgbaColor=[0.93, 0.76, 0.65, 1],
            physicsClientId=c,
        )
        self._phantom_origin = (g.center_x, g.center_y, 0.0)
        self.phantom_id = p.createMultiBody(
            0, -1, vis, list(self._phantom_origin), physicsClientId=c
        )

    # -- time -----------------------------------------------------------------------
    def breathing_offset(self, t: float | None = None) -> float:
        """Vertical phantom shift (m) at time ``t`` (default: now): breathing plus any
        ``shift_phantom`` offset. All ground truth (``geometry`` queries) uses it."""
        if self._breath_a == 0.0:
            return self._shift
        tt = self.t if t is None else t
        return self._breath_a * math.sin(self._breath_w * tt) + self._shift

    def shift_phantom(self, dz: float) -> None:
        """Move the phantom by ``dz`` (m) vertically from its rest height, from the next
        step on (the patient moves or sinks into the mattress; fault-injection tests)."""
        if not math.isfinite(dz) or abs(dz) > MAX_PHANTOM_SHIFT:
            raise ValueError(f"phantom shift {dz} m outside +-{MAX_PHANTOM_SHIFT} m")
        self._shift = float(dz)

    def step(self) -> None:
        """Advance one period: the phantom moves to its offset (``breathing_offset``) at
        the end of the step; the tissue's wrench on the lens (from the probe's pose now
        and the skin at the end of the step) and the joints' motor targets are set; then
        the physics steps."""
        c = self.client
        t_next = (self.n_steps + 1) * self.dt
        dz = self.breathing_offset(t_next)
        dz_rate = (dz - self._body_dz) / self.dt
        if dz != self._body_dz:
            self._body_dz = dz
            x, y, z = self._phantom_origin
            p.resetBasePositionAndOrientation(
                self.phantom_id, [x, y, z + dz], [0, 0, 0, 1], physicsClientId=c
            )
        s = p.getLinkState(
            self.robot_id, self.probe_link, computeForwardKinematics=True, physicsClientId=c
        )
        rot = p.getMatrixFromQuaternion(s[5])
        applied = self.contact.step(s[4], rot, dz, dz_rate)
        wrench = None
        if applied is not None:
            force, point, torque = applied
            p.applyExternalForce(
                self.robot_id, self.probe_link, force, point, p.WORLD_FRAME, physicsClientId=c
            )
            p.applyExternalTorque(
                self.robot_id, self.probe_link, torque, p.WORLD_FRAME, physicsClientId=c
            )
            wrench = self._tip_wrench_of(s[4], rot)
        self.joints.step(wrench)
        p.stepSimulation(physicsClientId=c)
        self.n_steps += 1
        self.t = t_next

    def _tip_wrench_of(self, pos, rot) -> np.ndarray:
        """The contact wrench on the probe about its tip (base frame, [f; m])."""
        fx, fy, fz, mx, my, mz = self.contact.wrench
        L = self.tool.sensor_to_tip
        tx, ty, tz = pos[0] + rot[2] * L, pos[1] + rot[5] * L, pos[2] + rot[8] * L
        w = self._tip_wrench
        w[0], w[1], w[2] = fx, fy, fz
        w[3] = mx - (ty * fz - tz * fy)
        w[4] = my - (tz * fx - tx * fz)
        w[5] = mz - (tx * fy - ty * fx)
        return w

    # -- state ----------------------------------------------------------------------
    def reset_joints(self, q: np.ndarray) -> None:
        """Teleport the arm to ``q`` (rad) at rest and hold it there (zero velocity).
        Joint reaction forces (the F/T reading) refresh with the next ``step``."""
        c = self.client
        for j, qi in zip(self.joint_indices, q, strict=True):
            p.resetJointState(self.robot_id, j, float(qi), 0.0, physicsClientId=c)
        self.joints.reset()
        self.contact.reset()
        p.setJointMotorControlArray(
            self.robot_id,
            self.joint_indices,
            p.VELOCITY_CONTROL,
            targetVelocities=[0.0] * len(self.joint_indices),
            forces=self.arm.tau_max,
            physicsClientId=c,
        )

    def joint_positions(self) -> np.ndarray:
        """Joint positions (rad)."""
        states = p.getJointStates(self.robot_id, self.joint_indices, physicsClientId=self.client)
        return np.array([s[0] for s in states])

    def link_pose(self, link: int) -> np.ndarray:
        """T_base_link (4x4) of a robot link's URDF frame."""
        s = p.getLinkState(
            self.robot_id, link, computeForwardKinematics=True, physicsClientId=self.client
        )
        return _pose_matrix(s[4], s[5])

    def flange_pose(self) -> np.ndarray:
        """T_base_flange (4x4), ground truth."""
        return self.link_pose(self.flange_link)

    def sensor_pose(self) -> np.ndarray:
        """T_base_sensor (4x4), ground truth."""
        return self.link_pose(self.probe_link)

    def probe_pose(self) -> np.ndarray:
        """T_base_probe (4x4), ground truth: the centre of the probe face."""
        return self.sensor_pose() @ self.T_sensor_probe

    def indentation(self) -> float:
        """Depth (m) of the probe tip below the undeformed (breathing-shifted) skin along
        the skin normal; negative when the tip is outside."""
        tip = self.probe_pose()[:3, 3]
        return -float(self.geometry.signed_distance(tip, self.breathing_offset()))

    def contact_points(self) -> ContactPoints:
        """The probe/phantom contact points of the last step: points on the undeformed
        skin, normals out of it, normal force and indentation per point (one point with
        ``sim.tissue.pressure = "deepest"``, docs/simulation.md)."""
        pts = self.contact.points
        n = len(pts)
        pos, nrm = np.zeros((n, 3)), np.zeros((n, 3))
        f, d = np.zeros(n), np.zeros(n)
        for i, (point, normal, force, depth) in enumerate(pts):
            pos[i], nrm[i], f[i], d[i] = point, normal, force, depth
        return ContactPoints(pos, nrm, f, d)

    def contact_force(self) -> float:
        """Summed normal force of the tissue on the probe during the last step (N)."""
        return self.contact.normal_force

    def contact_wrench(self) -> np.ndarray:
        """The tissue's whole wrench on the probe during the last step: force (N) and
        moment about the base origin (N·m), base frame; includes friction."""
        return np.array(self.contact.wrench)

    def close(self) -> None:
        """Disconnect the pybullet client."""
        if self.client >= 0 and p.isConnected(self.client):
            p.disconnect(self.client)
        self.client = -1

    def __enter__(self) -> SimWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
