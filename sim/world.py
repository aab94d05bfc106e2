"""The pybullet scanning cell: an arm carrying the probe tool on a 6-axis F/T sensor,
a rigid patient bed and a compliant cylinder phantom whose skin is exactly
``sim.phantom_geometry``. The world frame IS the robot base frame (base at the origin,
z up). One ``step()`` advances one control period.

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
from sim.contact_law import CONTACT_BREAKING_FACTOR, apply_contact_law
from sim.phantom_geometry import PhantomGeometry
from sim.probe_tool import PROBE_LINK, SENSING_JOINT, SENSOR_LINK, ProbeTool
from sim.urdf_builder import build_arm_urdf

#: Standard gravity (m/s^2), along -z of the base frame.
GRAVITY = 9.81
#: Thickness of the bed box below its top surface (m).
BED_THICKNESS = 0.1
#: Friction coefficient of the probe's surfaces; pybullet multiplies the two bodies'
#: coefficients, so the phantom's ``lateral_friction`` is the probe/skin friction.
PROBE_FRICTION = 1.0
#: Segments of the phantom's render mesh over its skin arc.
PHANTOM_ARC_SEGMENTS = 720
#: Largest vertical phantom shift ``shift_phantom`` accepts (m).
MAX_PHANTOM_SHIFT = 0.05


@dataclass
class ContactPoints:
    """Probe/phantom contact points (base frame): ``positions`` on the skin (N x 3, m),
    ``normals`` out of the phantom towards the probe (N x 3), ``forces`` normal force per
    point (N,), ``depths`` penetration per point (N, m, positive = overlapping)."""

    positions: np.ndarray
    normals: np.ndarray
    forces: np.ndarray
    depths: np.ndarray

    def __len__(self) -> int:
        return len(self.forces)


def phantom_visual_mesh(g: PhantomGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render mesh of the skin above the bed (vertices, triangle indices, normals) in the
    phantom body's frame (z = cylinder axis = base y, y = base -z). Finely tessellated
    (``PHANTOM_ARC_SEGMENTS``) so rendered depth matches the exact cylinder to ~1 um;
    pybullet's own cylinder mesh is far coarser."""
    th = np.linspace(-g.theta_max, g.theta_max, PHANTOM_ARC_SEGMENTS + 1)
    s, c = np.sin(th), np.cos(th)
    half = 0.5 * g.length
    n_arc = len(th)
    verts, normals = [], []
    for z in (-half, half):  # skin rings
        verts += [(g.radius * si, -g.radius * ci, z) for si, ci in zip(s, c, strict=True)]
        normals += [(si, -ci, 0.0) for si, ci in zip(s, c, strict=True)]
    idx = []
    for i in range(n_arc - 1):
        a, b = i, i + 1
        idx += [(a, b, a + n_arc), (b, b + n_arc, a + n_arc)]
    # end caps: fans from the chord centre at bed level
    base_y = -(g.bed_z - g.axis_z)
    for z, sign in ((-half, -1.0), (half, 1.0)):
        start = len(verts)
        verts.append((0.0, base_y, z))
        normals.append((0.0, 0.0, sign))
        verts += [(g.radius * si, -g.radius * ci, z) for si, ci in zip(s, c, strict=True)]
        normals += [(0.0, 0.0, sign)] * n_arc
        for i in range(n_arc - 1):
            tri = (start, start + 1 + i, start + 2 + i)
            idx.append(tri if sign < 0 else (tri[0], tri[2], tri[1]))
    return np.array(verts), np.array(idx, dtype=np.int64), np.array(normals)


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
        self.geometry = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
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
            contactBreakingThreshold=CONTACT_BREAKING_FACTOR,
            jointFeedbackMode=p.JOINT_FEEDBACK_IN_JOINT_FRAME,
            physicsClientId=c,
        )
        self._build_robot()
        self._build_bed()
        self._build_phantom()
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
        c, g = self.client, self.geometry
        col = p.createCollisionShape(
            p.GEOM_CYLINDER, radius=g.radius, height=g.length, physicsClientId=c
        )
        verts, idx, normals = phantom_visual_mesh(g)
        vis = p.createVisualShape(
            p.GEOM_MESH,
            vertices=verts.tolist(),
            indices=idx.ravel().tolist(),
            normals=normals.tolist(),
            rgbaColor=[0.93, 0.76, 0.65, 1],
            physicsClientId=c,
        )
        # cylinder axis (local z) along base y
        self._phantom_quat = p.getQuaternionFromEuler([-0.5 * math.pi, 0, 0])
        self.phantom_id = p.createMultiBody(
            0,
            col,
            vis,
            [g.center_x, g.center_y, g.axis_z],
            self._phantom_quat,
            physicsClientId=c,
        )
        ph = self.cfg.sim.phantom
        apply_contact_law(c, self.phantom_id, ph.stiffness, ph.damping, ph.lateral_friction)

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
        """Advance one period: move the phantom to its offset (``breathing_offset``) at
        the end of the step if that changed, then step the physics."""
        c = self.client
        t_next = (self.n_steps + 1) * self.dt
        dz = self.breathing_offset(t_next)
        if dz != self._body_dz:
            self._body_dz = dz
            g = self.geometry
            p.resetBasePositionAndOrientation(
                self.phantom_id,
                [g.center_x, g.center_y, g.axis_z + dz],
                self._phantom_quat,
                physicsClientId=c,
            )
        p.stepSimulation(physicsClientId=c)
        self.n_steps += 1
        self.t = t_next

    # -- state ----------------------------------------------------------------------
    def reset_joints(self, q: np.ndarray) -> None:
        """Teleport the arm to ``q`` (rad) at rest and hold it there (zero velocity).
        Joint reaction forces (the F/T reading) refresh with the next ``step``."""
        c = self.client
        for j, qi in zip(self.joint_indices, q, strict=True):
            p.resetJointState(self.robot_id, j, float(qi), 0.0, physicsClientId=c)
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
        """Current probe/phantom contact points (touching or overlapping, after the last
        step). A lens contact is carried by one point (docs/simulation.md)."""
        pts = p.getContactPoints(
            bodyA=self.robot_id,
            bodyB=self.phantom_id,
            linkIndexA=self.probe_link,
            physicsClientId=self.client,
        )
        pts = [cp for cp in pts if cp[8] <= 0.0]  # drop speculative (separated) points
        n = len(pts)
        pos, nrm = np.zeros((n, 3)), np.zeros((n, 3))
        f, d = np.zeros(n), np.zeros(n)
        for i, cp in enumerate(pts):
            pos[i] = cp[6]
            nrm[i] = cp[7]
            d[i] = -cp[8]
            f[i] = cp[9]
        return ContactPoints(pos, nrm, f, d)

    def contact_force(self) -> float:
        """Sum of the probe/phantom contact normal forces (N)."""
        pts = p.getContactPoints(
            bodyA=self.robot_id,
            bodyB=self.phantom_id,
            linkIndexA=self.probe_link,
            physicsClientId=self.client,
        )
        return float(sum(cp[9] for cp in pts))

    def close(self) -> None:
        """Disconnect the pybullet client."""
        if self.client >= 0 and p.isConnected(self.client):
            p.disconnect(self.client)
        self.client = -1

    def __enter__(self) -> SimWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
