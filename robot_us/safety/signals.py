"""What the safety layers see each cycle: one preallocated ``SafetySignals`` object that
the control cycle fills in place (measured joint state, probe-tip pose and Jacobian,
the contact force before and after filtering, sensor and loop health)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robot_us.core.types import JointKinematics


@dataclass
class SafetySignals(JointKinematics):
    """Per-cycle inputs of the safety layers (SI units, base frame unless noted).

    ``force``: pressing force at the probe tip, probe frame, bias and gravity removed,
    NOT low-pass filtered (N). ``force_filtered``: the same after the controller's
    low-pass (N). ``wrench_new``: the F/T sensor delivered a new sample this cycle;
    ``wrench_age``: how old the sample in use was when read (s, the sensor's clock).
    ``arm_stop``: the arm controller's own stop state (``ArmStop``, 0 = running).
    ``missed_in_row``: loop deadlines missed in a row (``LoopClock.missed_in_row``).
    """

    cycle: int = 0
    t: float = 0.0
    force: np.ndarray = field(default_factory=lambda: np.zeros(3))
    force_filtered: np.ndarray = field(default_factory=lambda: np.zeros(3))
    wrench_new: bool = True
    wrench_age: float = 0.0
    missed_in_row: int = 0
    arm_stop: int = 0
