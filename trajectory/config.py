"""Configuration of the trajectory planner: path resampling and smoothing, probe frames,
approach/retract, reachability checks, the arc-length time law and the transfer move."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param

#: Hard cap on the scan speed along the skin (m/s); no configuration or override exceeds it.
MAX_SCAN_SPEED = 0.05


def check_scan_speed(speed: float) -> None:
    """Raise ValueError unless 0 < ``speed`` (m/s) <= ``MAX_SCAN_SPEED``."""
    if not 0.0 < speed <= MAX_SCAN_SPEED:
        raise ValueError(
            f"scan speed {speed * 1e3:.3g} mm/s is outside (0, {MAX_SCAN_SPEED * 1e3:.0f}] mm/s"
        )


@dataclass(frozen=True)
class TrajectoryConfig:
    """Surface path -> probe poses -> time law. Lengths in m, angles in rad."""

    plane: str = param(
        "longitudinal",
        choices=("longitudinal", "transverse"),
        doc="imaging plane: along the path (longitudinal) or across it (transverse)",
    )
    resample_step: float = param(
        0.001, lo=0.0002, hi=0.01, unit="m", doc="arc-length spacing of the planned poses"
    )
    smoothing_length: float = param(
        0.01,
        lo=0.0,
        hi=0.2,
        unit="m",
        doc="cut-off wavelength of the path smoothing spline (0 = no smoothing)",
    )
    normal_smoothing_length: float = param(
        0.02,
        lo=0.0,
        hi=0.2,
        unit="m",
        doc="cut-off wavelength of the normal smoothing spline (0 = no smoothing)",
    )
    min_path_length: float = param(
        0.005, lo=0.001, hi=0.1, unit="m", doc="shorter paths are rejected"
    )
    fold_back_angle: float = param(
        2.0,
        lo=0.5,
        hi=3.1,
        unit="rad",
        doc="a direction change larger than this over max(resample_step, smoothing_length/4) "
        "is a fold-back",
    )
    max_curvature: float = param(
        50.0,
        lo=1.0,
        hi=2000.0,
        unit="1/m",
        doc="largest path curvature after smoothing (1/minimum bend radius)",
    )
    max_smoothing_deviation: float = param(
        0.003,
        lo=0.0001,
        hi=0.05,
        unit="m",
        doc="smoothing may move the path at most this far from the input",
    )
    max_orientation_rate: float = param(
        17.5,
        lo=0.5,
        hi=200.0,
        unit="rad/m",
        doc="largest probe rotation per metre of path (17.5 rad/m = 1 deg/mm)",
    )
    standoff: float = param(
        0.05, lo=0.005, hi=0.3, unit="m", doc="approach/retract distance along the normal"
    )
    speed: float = param(
        0.01, lo=0.0005, hi=MAX_SCAN_SPEED, unit="m/s", doc="scan speed along the skin"
    )
    max_duration: float = param(
        600.0,
        lo=10.0,
        hi=7200.0,
        unit="s",
        doc="longest plan accepted (transfer, approach, sweep and retract at the planned "
        "speeds); a slower speed that would exceed it is refused",
    )
    approach_speed: float = param(
        0.01, lo=0.0005, hi=MAX_SCAN_SPEED, unit="m/s", doc="speed along the normal"
    )
    max_acceleration: float = param(
        0.05, lo=0.001, hi=2.0, unit="m/s^2", doc="acceleration limit of the arc-length law"
    )
    max_jerk: float = param(
        0.5, lo=0.01, hi=50.0, unit="m/s^3", doc="jerk limit of the arc-length law"
    )
    transfer_velocity_scale: float = param(
        0.3, lo=0.01, hi=1.0, doc="transfer move joint speed as a fraction of the arm's limits"
    )
    transfer_acceleration: float = param(
        1.0, lo=0.05, hi=10.0, unit="rad/s^2", doc="transfer move joint acceleration limit"
    )
    transfer_jerk: float = param(
        5.0, lo=0.1, hi=500.0, unit="rad/s^3", doc="transfer move joint jerk limit"
    )
    transfer_clearance: float = param(
        0.1,
        lo=0.0,
        hi=0.5,
        unit="m",
        doc="the transfer passes the pre-approach pose raised this far (base z), so the probe "
        "comes down onto the stand-off from above (0 = one direct joint move)",
    )
    transfer_sample_dt: float = param(
        0.05, lo=0.001, hi=1.0, unit="s", doc="time step of the transfer poses written to a plan"
    )
    joint_limit_margin: float = param(
        0.05, lo=0.0, hi=0.5, unit="rad", doc="planned joints keep this far from their limits"
    )
    min_manipulability: float = param(
        0.005,
        lo=0.0,
        hi=0.5,
        doc="smallest Yoshikawa manipulability of the tool Jacobian (below = near-singular)",
    )
    max_joint_jump_per_m: float = param(
        200.0,
        lo=1.0,
        hi=2000.0,
        unit="rad/m",
        doc="a larger joint change per metre of path between neighbouring poses is a "
        "discontinuity (a configuration switch)",
    )
    joint_velocity_scale: float = param(
        0.5,
        lo=0.01,
        hi=1.0,
        doc="sweep/approach/retract joint speeds stay below this fraction of the arm's limits",
    )
    redundancy_gain: float = param(
        0.2,
        lo=0.0,
        hi=1.0,
        doc="null-space step towards mid-range joints per pose (0 = off)",
    )
    allow_flip: bool = param(
        False, doc="plan with the probe turned 180 deg about its axis when only that is feasible"
    )

    def validate(self, prefix: str) -> None:
        """Cross-field checks (called by the config loader)."""
        if self.min_path_length < 2 * self.resample_step:
            raise ConfigError(
                f"config key '{prefix}.min_path_length' ({self.min_path_length} m) must be at "
                f"least twice '{prefix}.resample_step' ({self.resample_step} m)"
            )
