"""What the safety layers see each cycle: one preallocated ``SafetySignals`` object that
the control cycle fills in place (measured joint state, probe-tip pose and Jacobian,
the contact force before and after filtering, sensor and loop health)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SafetySignals:
    """Per-cycle inputs of the safety layers (SI units, base frame unless noted).

    ``force``: pressing force at the probe tip, probe frame, bias and gravity removed,
    NOT low-pass filtered (N). ``force_filtered``: the same after the controller's
    low-pass (N). ``wrench_new``: the F/T sensor delivered a new sample this cycle;
    ``wrench_age``: how old the sample in use was when read (s, the sensor's clock).
    ``arm_stop``: the arm controller's own stop state (``ArmStop``, 0 = running).
    """

    n_joints: int
    cycle: int = 0
    t: float = 0.0
    q: np.ndarray = field(default=None)  # type: ignore[assignment]
    qd: np.ndarray = field(default=None)  # type: ignore[assignment]
    T_base_probe: np.ndarray = field(default_factory=lambda: np.eye(4))
    J: np.ndarray = field(default=None)  # type: ignore[assignment]
    force: np.ndarray = field(default_factory=lambda: np.zeros(3))
    force_filtered: np.ndarray = field(default_factory=lambda: np.zeros(3))
    wrench_new: bool = True
    wrench_age: float = 0.0
    consecutive_overruns: int = 0
    arm_stop: int = 0

    def __post_init__(self) -> None:
        if self.q is None:
            self.q = np.zeros(self.n_joints)
        if self.qd is None:
            self.qd = np.zeros(self.n_joints)
        if self.J is None:
            self.J = np.zeros((6, self.n_joints))
