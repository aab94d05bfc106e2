"""The arm-model registry: each entry is consistent (its ETS has its joints, its start and
ready configurations are inside its limits), kinematics reads it, the simulator's URDF
allows at least the entry's joint ranges, and a bad entry or a bad ``robot.q_home`` is
refused with a message naming the cause."""

import dataclasses

import numpy as np
import pybullet as p
import pybullet_data
import pytest

from robot_us.core.arms import ARMS, arm_model
from robot_us.core.kinematics import ArmKinematics
from robot_us.core.registry import RegistryError

PANDA_ACTUATION = arm_model("panda").actuation


@pytest.mark.parametrize("name", ARMS.names())
def test_kinematics_read_the_entry(name):
    arm = arm_model(name)
    kin = ArmKinematics(name)
    assert kin.arm is arm
    assert kin.n == arm.n_joints
    np.testing.assert_array_equal(kin.limits.lower, arm.q_lower)
    np.testing.assert_array_equal(kin.limits.upper, arm.q_upper)
    np.testing.assert_array_equal(kin.limits.velocity, arm.qd_max)
    np.testing.assert_array_equal(kin.q_ready, arm.q_ready)
    np.testing.assert_array_equal(kin.home(), arm.q_home)
    np.testing.assert_array_equal(kin.home([0.1] * arm.n_joints), [0.1] * arm.n_joints)


def test_wrong_number_of_home_values_names_the_key():
    with pytest.raises(ValueError, match=r"robot\.q_home has 3 values; the panda has 7"):
        ArmKinematics("panda").home([0.0, 0.0, 0.0])


def test_unknown_arm_names_the_known_ones():
    with pytest.raises(RegistryError, match="fr3, lbr, panda, ur10e, ur3e, ur5e"):
        arm_model("ur5")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"qd_max": (1.0,) * 6}, "qd_max has 6 values"),
        ({"q_lower": (0.0,) * 7, "q_upper": (0.0,) * 7}, "q_lower must be below"),
        ({"tau_max": (0.0,) * 7}, "limits must be > 0"),
        ({"q_home": (3.0, 0, 0, -1.0, 0, 1.0, 0)}, "q_home is outside"),
        ({"q_ready": (0, 0, 0, 0, 0, 1.0, 0)}, "q_ready is outside"),
        (
            {"actuation": dataclasses.replace(PANDA_ACTUATION, coulomb_friction=(0.1,) * 6)},
            r"actuation\.coulomb_friction has 6 values",
        ),
    ],
)
def test_inconsistent_entry_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(arm_model("panda"), **change)


@pytest.mark.parametrize("name", [n for n in ARMS.names() if arm_model(n).sim is not None])
def test_simulated_urdf_allows_the_entry_limits(name):
    """The controller's joint ranges lie inside the simulated arm's (pybullet enforces the
    URDF's), so the safety margins act before the simulated joint stops do."""
    arm = arm_model(name)
    c = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(
            f"{pybullet_data.getDataPath()}/{arm.sim.path}", useFixedBase=True, physicsClientId=c
        )
        infos = [p.getJointInfo(body, i, physicsClientId=c) for i in range(p.getNumJoints(body))]
        revolute = [i for i in infos if i[2] == p.JOINT_REVOLUTE]
        assert len(revolute) == arm.n_joints
        lower = np.array([i[8] for i in revolute])
        upper = np.array([i[9] for i in revolute])
        assert np.all(lower <= np.array(arm.q_lower) + 1e-4)
        assert np.all(upper >= np.array(arm.q_upper) - 1e-4)
    finally:
        p.disconnect(c)


@pytest.mark.parametrize("name", ["ur3e", "ur5e", "ur10e"])
def test_ur_entries_follow_the_dh_table_and_start_flange_down(name):
    """The e-Series entries' kinematics are their published DH tables (the hardware driver
    commands them); they start at the ready pose with the flange pointing straight down."""
    from robot_us.core.ur_models import ur_model

    kin = ArmKinematics(name)
    ur = ur_model(name)
    rng = np.random.default_rng(0)
    for q in rng.uniform(-np.pi, np.pi, size=(5, 6)):
        np.testing.assert_allclose(kin.fk(q), ur.dh_fk(q), atol=1e-9)
    T = kin.fk(kin.home())
    np.testing.assert_allclose(T[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)
    assert arm_model(name).sim is None


def test_every_arm_a_hardware_driver_drives_is_registered():
    """``robot.model`` can name every arm a driver accepts (the choices are the registry)."""
    from hardware_drivers.franka_arm import FrankaArm
    from hardware_drivers.ur_rtde_arm import UrRtdeArm

    for driver in (FrankaArm, UrRtdeArm):
        for name in driver.models:
            assert arm_model(name).n_joints == driver.n_joints, (driver.__name__, name)
