"""Configuration of the safety supervisor (``[safety]``). Read once when the supervisor
is built; the layers precompute everything they need. The limits' defaults are written
here only: the layers' constructors take every limit explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robot_us.core.config_schema import ConfigError, param

#: Highest force hard limit the configuration accepts (N).
MAX_FORCE_HARD_LIMIT = 35.0
#: Default number of loop deadlines missed in a row that stops the arm (libfranka's
#: communication reflex allows about 20 lost commands in a row at 1 kHz).
DEFAULT_MAX_MISSED_DEADLINES = 20


@dataclass(frozen=True)
class SafetyConfig:
    """Safety layers enforced every control cycle; faults latch until reset."""

    force_soft_limit: float = param(
        20.0, lo=1.0, hi=MAX_FORCE_HARD_LIMIT, unit="N", doc="contact force -> controlled retract"
    )
    force_hard_limit: float = param(
        25.0, lo=1.0, hi=MAX_FORCE_HARD_LIMIT, unit="N", doc="contact force -> immediate stop"
    )
    force_rate_limit: float = param(
        150.0, lo=5.0, hi=10_000.0, unit="N/s", doc="rise rate of the contact force -> retract"
    )
    force_rate_window: float = param(
        0.01, lo=0.002, hi=0.1, unit="s", doc="window over which the force rate is measured"
    )
    workspace_min: tuple[float, ...] = param(
        (0.2, -0.5, 0.0),
        length=3,
        lo=-3.0,
        hi=3.0,
        unit="m",
        doc="lower corner of the probe-tip workspace box (base frame)",
    )
    workspace_max: tuple[float, ...] = param(
        (0.95, 0.5, 0.8),
        length=3,
        lo=-3.0,
        hi=3.0,
        unit="m",
        doc="upper corner of the probe-tip workspace box (base frame)",
    )
    workspace_margin: float = param(
        0.01,
        lo=0.0,
        hi=0.2,
        unit="m",
        doc="inside this distance of a wall, tip motion towards the wall is clipped",
    )
    tool_speed_limit: float = param(
        0.25, lo=0.01, hi=1.0, unit="m/s", doc="probe-tip speed: commands clipped to this"
    )
    tool_speed_tolerance: float = param(
        1.2, lo=1.0, hi=3.0, doc="fault when the measured tip speed exceeds limit x this"
    )
    joint_margin: float = param(
        0.1,
        lo=0.0,
        hi=0.5,
        unit="rad",
        doc="inside this of a joint limit, motion towards it is clipped",
    )
    joint_hard_margin: float = param(
        0.02, lo=0.0, hi=0.2, unit="rad", doc="closer than this to a joint limit -> stop"
    )
    joint_velocity_scale: float = param(
        1.0, lo=0.05, hi=1.0, doc="commands clipped to this fraction of the data-sheet limits"
    )
    joint_velocity_tolerance: float = param(
        1.1, lo=1.0, hi=2.0, doc="fault when a measured joint velocity exceeds limit x this"
    )
    wrench_timeout: float = param(
        0.02, lo=0.001, hi=1.0, unit="s", doc="no new F/T sample for this long -> stop"
    )
    max_missed_deadlines: int = param(
        DEFAULT_MAX_MISSED_DEADLINES,
        lo=1,
        hi=1000,
        unit="periods",
        doc="this many loop deadlines missed in a row (a stall of N periods misses N) -> stop",
    )

    #: Keys of earlier versions (old name -> new name, why): a file still using one is
    #: refused with an error naming the new key.
    replaced_keys: ClassVar[dict[str, tuple[str, str]]] = {
        "max_consecutive_overruns": (
            "max_missed_deadlines",
            "it counts loop deadlines missed in a row, not overrunning cycles (a stall of N "
            f"periods misses N; default {DEFAULT_MAX_MISSED_DEADLINES}), so the old value "
            "does not carry over",
        )
    }

    def validate(self, prefix: str) -> None:
        """Cross-key checks (called by the config loader)."""
        if self.force_soft_limit >= self.force_hard_limit:
            raise ConfigError(
                f"config key '{prefix}.force_soft_limit' ({self.force_soft_limit} N) must be "
                f"below '{prefix}.force_hard_limit' ({self.force_hard_limit} N)"
            )
        if any(lo >= hi for lo, hi in zip(self.workspace_min, self.workspace_max, strict=True)):
            raise ConfigError(
                f"config keys '{prefix}.workspace_min' {self.workspace_min} and "
                f"'{prefix}.workspace_max' {self.workspace_max} do not form a box"
            )
        if self.joint_hard_margin >= self.joint_margin and self.joint_margin > 0:
            raise ConfigError(
                f"config key '{prefix}.joint_hard_margin' must be below '{prefix}.joint_margin'"
            )
