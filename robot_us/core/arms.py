"""The arm-model registry: one ``ArmModel`` entry per arm holds everything the stack knows
about it. The configuration's ``robot.model`` choices are the registered names,
``robot_us.core.kinematics.ArmKinematics`` builds its ETS and limits from the entry, and
the simulator (``sim/``) reads the entry's URDF facts (``ArmModel.sim``). Adding an arm is
one ``register_arm(ArmModel(...))`` call here (see docs/simulation.md); the UR e-Series
entries take their DH-built ETS and speeds from ``robot_us.core.ur_models``. An entry
also carries the arm's actuation profile (``robot_us.core.actuation``), which the
simulator applies in its realistic profiles.

Values are the manufacturers' data-sheet values unless a comment says otherwise; angles
in rad, velocities in rad/s, torques in N·m. Importing this module does not import
roboticstoolbox (the configuration and the command line's argument parser load it): the
ETS builders import it when called.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from robot_us.core.actuation import POSITION_SERVO_STIFFNESS, ActuationProfile
from robot_us.core.registry import Registry
from robot_us.core.ur_models import UR_MODELS, UrModel

if TYPE_CHECKING:
    from roboticstoolbox import ETS


@dataclass(frozen=True)
class SimUrdf:
    """How the simulator turns a pybullet_data URDF into a probe-carrying arm.

    ``path`` is relative to ``pybullet_data.getDataPath()``. ``flange_parent`` is the
    URDF link the flange hangs from and ``flange_offset`` (m) the flange's distance along
    that link's z axis; when the URDF already has a flange link, ``flange_link`` equals
    ``flange_parent`` and the offset is 0. ``drop_links`` are removed with everything
    below them and their joints (the gripper)."""

    path: str
    flange_link: str
    flange_parent: str
    flange_offset: float = 0.0
    drop_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArmModel:
    """One arm. ``ets`` builds its base -> flange ETS (roboticstoolbox; called once per
    ``ArmKinematics``). Joint position limits ``q_lower``/``q_upper`` (rad), velocity
    limits ``qd_max`` (rad/s) and torque limits ``tau_max`` (N·m) per joint; ``q_home``
    (rad) is where the arm starts (``robot.q_home = []``); ``q_ready`` (rad) is a
    well-conditioned configuration the planner also seeds its IK searches from. ``sim``
    is how the simulator builds it (None: hardware only); ``actuation`` how the arm's own
    low-level controller follows velocity commands (latency, lag, friction, compliance)."""

    name: str
    description: str
    ets: Callable[[], ETS]
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    tau_max: tuple[float, ...]
    q_home: tuple[float, ...]
    q_ready: tuple[float, ...]
    actuation: ActuationProfile
    sim: SimUrdf | None = None

    def __post_init__(self) -> None:
        n = len(self.q_home)
        per_joint = [(f, getattr(self, f)) for f in ("q_lower", "q_upper", "qd_max", "tau_max")]
        per_joint.append(("q_ready", self.q_ready))
        for f in ("joint_stiffness", "coulomb_friction", "friction_velocity", "viscous_damping"):
            per_joint.append((f"actuation.{f}", getattr(self.actuation, f)))
        for field, values in per_joint:
            if len(values) != n:
                raise ValueError(
                    f"arm model '{self.name}': {field} has {len(values)} values, q_home has {n}"
                )
        if any(lo >= hi for lo, hi in zip(self.q_lower, self.q_upper, strict=True)):
            raise ValueError(f"arm model '{self.name}': q_lower must be below q_upper")
        if min(self.qd_max) <= 0.0 or min(self.tau_max) <= 0.0:
            raise ValueError(f"arm model '{self.name}': velocity and torque limits must be > 0")
        bounds = tuple(zip(self.q_lower, self.q_upper, strict=True))
        for field in ("q_home", "q_ready"):
            q = getattr(self, field)
            if not all(lo <= x <= hi for (lo, hi), x in zip(bounds, q, strict=True)):
                raise ValueError(f"arm model '{self.name}': {field} is outside the joint limits")

    @property
    def n_joints(self) -> int:
        """Number of actuated joints."""
        return len(self.q_home)


#: Arm models by ``robot.model`` name.
ARMS: Registry[ArmModel] = Registry("arm model")


def register_arm(model: ArmModel) -> ArmModel:
    """Register ``model`` under its name (the ``robot.model`` choice); returns it."""
    ARMS.register(model.name, lambda: model)
    return model


def arm_model(name: str) -> ArmModel:
    """The registered arm model ``name`` (a ``RegistryError`` names the known ones)."""
    return ARMS.create(name)


def simulated_arms() -> list[str]:
    """Names of the registered arms the simulator can build (``ArmModel.sim`` set)."""
    return [n for n in ARMS.names() if arm_model(n).sim is not None]


# -- Franka Emika Panda ---------------------------------------------------------------

#: Franka Panda friction (Gaz et al. 2019, RA-L 4(4)): tau = FI_1 / (1 + exp(-FI_2 qd))
#: - FI_1 / 2 = (FI_1 / 2) tanh(FI_2 qd / 2), i.e. Coulomb FI_1 / 2 smoothed over 2 / FI_2.
PANDA_FI_1 = (0.54615, 0.87224, 0.64068, 1.2794, 0.83904, 0.30301, 0.56489)
PANDA_FI_2 = (5.1181, 9.0657, 10.136, 5.5903, 8.3469, 17.133, 10.336)
#: A Franka arm under libfranka's joint velocity interface (docs/simulation.md "Actuation").
FRANKA_ACTUATION = ActuationProfile(
    control="joint impedance (libfranka joint velocity interface)",
    latency_cycles=1,
    lag=0.004,
    joint_stiffness=(3000.0, 3000.0, 3000.0, 2500.0, 2500.0, 2000.0, 2000.0),
    compliance_time=0.01,
    coulomb_friction=tuple(0.5 * f for f in PANDA_FI_1),
    friction_velocity=tuple(2.0 / f for f in PANDA_FI_2),
    viscous_damping=(0.0,) * 7,
)


@cache
def _panda_robot():
    # roboticstoolbox takes ~1 s to import: loaded when kinematics are built, not with
    # the configuration that imports this module
    import roboticstoolbox as rtb

    return rtb.models.Panda()


def _panda_ets() -> ETS:
    """Panda ETS of roboticstoolbox's URDF model, base -> ``panda_link8`` (the flange)."""
    return _panda_robot().ets(end="panda_link8")


register_arm(
    ArmModel(
        name="panda",
        description="Franka Emika Panda",
        ets=_panda_ets,
        q_lower=(-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973),
        q_upper=(2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973),
        qd_max=(2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61),
        tau_max=(87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0),
        # probe face at (0.35, 0, 0.40) m pointing straight down (probe z = -z base), the
        # array along base +y; the arm stays behind the camera's view of the phantom
        # (checked by tests/test_sim_camera.py)
        q_home=(0.0, -0.6667, 0.0, -2.4182, 0.0, 1.7515, -0.5 * math.pi),
        q_ready=(0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.25 * math.pi),  # roboticstoolbox's qr
        actuation=FRANKA_ACTUATION,
        sim=SimUrdf(
            path="franka_panda/panda.urdf",
            flange_link="panda_link8",
            flange_parent="panda_link8",
            drop_links=("panda_hand", "panda_leftfinger", "panda_rightfinger"),
        ),
    )
)


# -- Franka Research 3 (hardware only: pybullet_data has no FR3 URDF) -----------------

register_arm(
    ArmModel(
        name="fr3",
        description="Franka Research 3",
        ets=_panda_ets,  # the Panda's kinematic structure (same DH parameters)
        # FR3 joint position and velocity limits (Franka's "Robot and interface
        # specifications" for FR3); torques as the Panda's
        q_lower=(-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159),
        q_upper=(2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159),
        qd_max=(2.62, 2.62, 2.62, 2.62, 5.26, 4.18, 5.26),
        tau_max=(87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0),
        q_home=(0.0, -0.6667, 0.0, -2.4182, 0.0, 1.7515, -0.5 * math.pi),  # the Panda's
        q_ready=(0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.25 * math.pi),
        actuation=FRANKA_ACTUATION,  # the Panda's friction (judgment)
    )
)


# -- KUKA LBR iiwa 14 R820 ------------------------------------------------------------


def _lbr_ets() -> ETS:
    """LBR iiwa 14 R820 ETS from the joint origins of pybullet_data's kuka_iiwa/model.urdf
    (flange 0.126 m beyond joint 6's axis). roboticstoolbox's ``models.LBR`` carries two
    spurious 0.436 mm x offsets (up to 0.86 mm flange error against the simulated arm)."""
    # roboticstoolbox loads lazily (see _panda_robot)
    from roboticstoolbox import ET

    return (
        ET.tz(0.36) * ET.Rz() * ET.Ry() * ET.Rz() * ET.tz(0.42) * ET.Ry(flip=True) * ET.Rz()
        * ET.tz(0.4) * ET.Ry() * ET.Rz() * ET.tz(0.126)
    )  # fmt: skip


register_arm(
    ArmModel(
        name="lbr",
        description="KUKA LBR iiwa 14 R820",
        ets=_lbr_ets,
        q_lower=(-2.9668, -2.0942, -2.9668, -2.0942, -2.9668, -2.0942, -3.0541),
        q_upper=(2.9668, 2.0942, 2.9668, 2.0942, 2.9668, 2.0942, 3.0541),
        qd_max=(1.483, 1.483, 1.745, 1.308, 2.268, 2.356, 2.356),
        tau_max=(320.0, 320.0, 176.0, 176.0, 110.0, 40.0, 40.0),
        q_home=(0.0, -0.0788, 0.0, -1.9417, 0.0, 1.2787, 0.5 * math.pi),  # the Panda's probe pose
        q_ready=(0.0, -0.3, 0.0, -1.9, 0.0, 1.5, 0.25 * math.pi),  # roboticstoolbox's qr
        actuation=ActuationProfile(
            control="joint position (KUKA FRI position mode)",
            latency_cycles=1,
            lag=0.005,
            joint_stiffness=(POSITION_SERVO_STIFFNESS,) * 7,
            compliance_time=0.005,
            coulomb_friction=(0.8, 0.8, 0.6, 0.6, 0.4, 0.3, 0.3),
            friction_velocity=(0.2,) * 7,
            viscous_damping=(0.1,) * 7,
        ),
        sim=SimUrdf(
            path="kuka_iiwa/model.urdf",
            flange_link="lbr_iiwa_flange",
            flange_parent="lbr_iiwa_link_7",
            flange_offset=0.045,  # the iiwa 14 flange face: 0.126 m beyond joint 6's axis
        ),
    )
)


# -- Universal Robots e-Series (hardware only: pybullet_data has no UR URDF) ----------

#: Joint torque limits (N·m) of Universal Robots' ur_description joint_limits.yaml.
UR_TAU_MAX = {
    "ur3e": (54.0, 54.0, 28.0, 9.0, 9.0, 9.0),
    "ur5e": (150.0, 150.0, 150.0, 28.0, 28.0, 28.0),
    "ur10e": (330.0, 330.0, 150.0, 56.0, 56.0, 56.0),
}
#: Coulomb friction (N·m) a position-servoed UR joint shows: the three large joints, then
#: the wrists (a judgment, see docs/simulation.md "Actuation").
UR_COULOMB = (1.0, 1.0, 1.0, 0.4, 0.4, 0.4)


def _ur_entry(ur: UrModel) -> ArmModel:
    """The arm-model entry of an e-Series arm: DH-built ETS, +-2 pi joints, data-sheet
    speeds, starting at the ready pose (flange straight down)."""
    n = ur.n_joints
    return ArmModel(
        name=ur.name,
        description=f"Universal Robots {ur.name.upper()[:-1]}e",
        ets=ur.ets,
        q_lower=(-2.0 * math.pi,) * n,
        q_upper=(2.0 * math.pi,) * n,
        qd_max=ur.max_speed,
        tau_max=UR_TAU_MAX[ur.name],
        q_home=ur.q_ready,
        q_ready=ur.q_ready,
        actuation=ActuationProfile(
            control="joint position (RTDE servoJ / speedJ at 500 Hz)",
            latency_cycles=2,
            lag=0.01,
            joint_stiffness=(POSITION_SERVO_STIFFNESS,) * n,
            compliance_time=0.005,
            coulomb_friction=UR_COULOMB,
            friction_velocity=(0.2,) * n,
            viscous_damping=(0.1,) * n,
        ),
    )


for _ur in UR_MODELS.values():
    register_arm(_ur_entry(_ur))
