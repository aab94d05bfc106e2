"""Actuation profiles: each arm as its own low-level controller makes it move under joint
velocity commands, as plain data keyed by arm model name (``robot.model``). The model
that applies a profile is ``sim.joint_servo.JointServo``; sources and judgments are in
docs/simulation.md ("Actuation"). Meant to move into the arm-model registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.registry import Registry

#: Joint stiffness standing in for "rigid" (N·m/rad): a position-controlled arm's servo
#: holds its joints against the contact torques of a scan (a few N·m: about 10 urad).
POSITION_SERVO_STIFFNESS = 1.0e5


@dataclass(frozen=True)
class ActuationProfile:
    """How one arm follows joint velocity commands (SI units, one value per joint).

    ``latency_cycles``: control periods between a command and its first effect;
    ``lag``: first-order time constant of the joint velocity response (s);
    ``joint_stiffness``: stiffness (N·m/rad) of the low-level controller against external
    joint torques (an impedance-controlled arm yields; a position-controlled one does
    not); ``compliance_time``: time constant (s) of that deflection;
    ``coulomb_friction`` (N·m) smoothed over ``friction_velocity`` (rad/s) and
    ``viscous_damping`` (N·m·s/rad): joint friction the low-level controller does not
    cancel, which an impedance-controlled joint shows as a deflection."""

    arm: str
    control: str  # what the arm's low-level controller is, in words
    latency_cycles: int
    lag: float
    joint_stiffness: tuple[float, ...]
    compliance_time: float
    coulomb_friction: tuple[float, ...]
    friction_velocity: tuple[float, ...]
    viscous_damping: tuple[float, ...]


#: Franka Panda friction (Gaz et al. 2019, RA-L 4(4)): tau = FI_1 / (1 + exp(-FI_2 qd))
#: - FI_1 / 2 = (FI_1 / 2) tanh(FI_2 qd / 2), i.e. Coulomb FI_1 / 2 smoothed over 2 / FI_2.
PANDA_FI_1 = (0.54615, 0.87224, 0.64068, 1.2794, 0.83904, 0.30301, 0.56489)
PANDA_FI_2 = (5.1181, 9.0657, 10.136, 5.5903, 8.3469, 17.133, 10.336)

#: Actuation profiles by arm model name.
ACTUATION_PROFILES: Registry[ActuationProfile] = Registry("actuation profile")
ACTUATION_PROFILES.register(
    "panda",
    lambda: ActuationProfile(
        arm="panda",
        control="joint impedance (libfranka joint velocity interface)",
        latency_cycles=1,
        lag=0.004,
        joint_stiffness=(3000.0, 3000.0, 3000.0, 2500.0, 2500.0, 2000.0, 2000.0),
        compliance_time=0.01,
        coulomb_friction=tuple(0.5 * f for f in PANDA_FI_1),
        friction_velocity=tuple(2.0 / f for f in PANDA_FI_2),
        viscous_damping=(0.0,) * 7,
    ),
)
ACTUATION_PROFILES.register(
    "lbr",
    lambda: ActuationProfile(
        arm="lbr",
        control="joint position (KUKA FRI position mode)",
        latency_cycles=1,
        lag=0.005,
        joint_stiffness=(POSITION_SERVO_STIFFNESS,) * 7,
        compliance_time=0.005,
        coulomb_friction=(0.8, 0.8, 0.6, 0.6, 0.4, 0.3, 0.3),
        friction_velocity=(0.2,) * 7,
        viscous_damping=(0.1,) * 7,
    ),
)
ACTUATION_PROFILES.register(
    "ur5e",
    lambda: ActuationProfile(
        arm="ur5e",
        control="joint position (RTDE servoJ / speedJ at 500 Hz)",
        latency_cycles=2,
        lag=0.01,
        joint_stiffness=(POSITION_SERVO_STIFFNESS,) * 6,
        compliance_time=0.005,
        coulomb_friction=(1.0, 1.0, 1.0, 0.4, 0.4, 0.4),
        friction_velocity=(0.2,) * 6,
        viscous_damping=(0.1,) * 6,
    ),
)


def actuation_profile(arm: str) -> ActuationProfile:
    """The actuation profile of arm model ``arm`` (error names the known ones)."""
    return ACTUATION_PROFILES.create(arm)
