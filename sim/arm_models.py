"""The arms the simulated cell can carry: which pybullet_data URDF, which links to drop
(the gripper), where the flange is, realistic joint torque limits and a home
configuration. Add an arm by registering one more ``ArmModel`` (see docs/simulation.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot_us.core.registry import Registry

#: Panda home (rad): probe face at (0.35, 0, 0.40) m pointing straight down (probe z =
#: -z base), the array along base +y; the arm stays behind the camera's view of the
#: phantom (checked by tests/test_sim_camera.py).
PANDA_Q_HOME = (0.0, -0.6667, 0.0, -2.4182, 0.0, 1.7515, -0.5 * math.pi)
#: LBR iiwa home (rad): the same probe pose as ``PANDA_Q_HOME``.
LBR_Q_HOME = (0.0, -0.0788, 0.0, -1.9417, 0.0, 1.2787, 0.5 * math.pi)

#: Panda joint torque limits (N·m), Franka data sheet.
PANDA_MAX_TORQUE = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
#: LBR iiwa 14 R820 joint torque limits (N·m), KUKA data sheet.
LBR_MAX_TORQUE = (320.0, 320.0, 176.0, 176.0, 110.0, 40.0, 40.0)


@dataclass(frozen=True)
class ArmModel:
    """One arm: its pybullet_data URDF and how to turn it into a probe-carrying arm.

    ``flange_parent`` is the URDF link the flange hangs from, ``flange_offset`` (m) the
    flange's distance along that link's z axis (0 when the URDF already has a flange
    link, then ``flange_link`` is that link). ``drop_links`` are removed with their
    joints (the gripper)."""

    name: str
    urdf: str  # relative to pybullet_data
    flange_link: str
    flange_parent: str
    flange_offset: float
    drop_links: tuple[str, ...]
    max_torque: tuple[float, ...]
    q_home: tuple[float, ...]

    @property
    def n_joints(self) -> int:
        """Number of actuated joints."""
        return len(self.q_home)

    def home(self) -> np.ndarray:
        """The home configuration (rad) as an array."""
        return np.array(self.q_home, dtype=float)


#: Arm models by ``robot.model`` name.
ARM_MODELS: Registry[ArmModel] = Registry("arm model")
ARM_MODELS.register(
    "panda",
    lambda: ArmModel(
        name="panda",
        urdf="franka_panda/panda.urdf",
        flange_link="panda_link8",
        flange_parent="panda_link8",
        flange_offset=0.0,
        drop_links=("panda_hand", "panda_leftfinger", "panda_rightfinger"),
        max_torque=PANDA_MAX_TORQUE,
        q_home=PANDA_Q_HOME,
    ),
)
ARM_MODELS.register(
    "lbr",
    lambda: ArmModel(
        name="lbr",
        urdf="kuka_iiwa/model.urdf",
        flange_link="lbr_iiwa_flange",
        flange_parent="lbr_iiwa_link_7",
        flange_offset=0.045,  # the iiwa 14 flange face: 0.126 m beyond joint 6's axis
        drop_links=(),
        max_torque=LBR_MAX_TORQUE,
        q_home=LBR_Q_HOME,
    ),
)


def arm_model(name: str) -> ArmModel:
    """The registered arm model ``name`` (error names the known models)."""
    return ARM_MODELS.create(name)
