"""An arm's actuation profile: how its own low-level controller makes it move under joint
velocity commands, as plain data carried by its arm-model entry (``ArmModel.actuation``).
The simulator applies it (``sim.joint_servo.JointServo``); sources and judgments are in
docs/simulation.md ("Actuation").
"""

from __future__ import annotations

from dataclasses import dataclass

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

    control: str  # what the arm's low-level controller is, in words
    latency_cycles: int
    lag: float
    joint_stiffness: tuple[float, ...]
    compliance_time: float
    coulomb_friction: tuple[float, ...]
    friction_velocity: tuple[float, ...]
    viscous_damping: tuple[float, ...]
