"""Configuration of the autonomous scan (``[scan]``): how the scan settles, how it reacts
to image quality (slow down, raise the force, pause and skip), and its time-outs."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param


@dataclass(frozen=True)
class ScanConfig:
    """The scan state machine and its image-quality policy. Forces in N, times in s."""

    settle_time: float = param(
        0.3,
        lo=0.0,
        hi=10.0,
        unit="s",
        doc="time in contact, after the force has settled, before the sweep starts",
    )
    settle_timeout: float = param(
        3.0,
        lo=0.1,
        hi=30.0,
        unit="s",
        doc="start the sweep anyway (with an event) if the force has not settled by then",
    )
    transfer_tolerance: float = param(
        0.01,
        lo=0.0005,
        hi=0.2,
        unit="rad",
        doc="largest joint error at which the move to the pre-approach pose counts as arrived",
    )
    transfer_timeout: float = param(
        5.0,
        lo=0.5,
        hi=60.0,
        unit="s",
        doc="time beyond the planned transfer duration after which the scan faults",
    )
    stop_ramp_time: float = param(
        0.5,
        lo=0.05,
        hi=5.0,
        unit="s",
        doc="how long a joint move takes to come to a stop (pause or abort in the transfer)",
    )
    retare_after_retract: bool = param(
        True,
        doc="re-tare the F/T sensor once the final retract is done (probe out of contact) "
        "and report what the sensor had drifted by (event ``retare``, ``ScanOutcome``)",
    )
    quality_threshold: float = param(
        0.6,
        lo=0.0,
        hi=1.0,
        doc="image-quality score below which the sweep slows down",
    )
    quality_hysteresis: float = param(
        0.1,
        lo=0.0,
        hi=0.5,
        doc="quality counts as recovered at threshold + hysteresis",
    )
    coverage_threshold: float = param(
        0.6,
        lo=0.0,
        hi=1.0,
        doc="fraction of confident scanlines (confidence map) below which the sweep slows down",
    )
    confidence_threshold: float = param(
        0.4,
        lo=0.0,
        hi=1.0,
        doc="mean confidence of the confident scanlines below which the sweep slows down",
    )
    slow_override: float = param(
        0.3,
        lo=0.05,
        hi=1.0,
        doc="speed override (fraction of the planned speed) while the quality is poor",
    )
    persist_time: float = param(
        0.5,
        lo=0.0,
        hi=10.0,
        unit="s",
        doc="a drop lasting this long raises the force; at the largest force, then pauses",
    )
    recover_time: float = param(
        0.3,
        lo=0.0,
        hi=10.0,
        unit="s",
        doc="quality must stay recovered this long before speed and force are restored",
    )
    force_step: float = param(
        1.0, lo=0.1, hi=5.0, unit="N", doc="force setpoint step while the quality stays poor"
    )
    force_step_interval: float = param(
        0.5, lo=0.05, hi=10.0, unit="s", doc="time between force steps (up or back down)"
    )
    force_max: float = param(
        8.0,
        lo=0.5,
        hi=30.0,
        unit="N",
        doc="largest force setpoint the quality policy may ask for (below safety.force_soft_limit)",
    )
    pause_timeout: float = param(
        2.0,
        lo=0.0,
        hi=600.0,
        unit="s",
        doc="a quality pause resumes on its own after this long, skipping the span "
        "(0 = wait for resume)",
    )

    def validate(self, prefix: str) -> None:
        """Cross-field checks within the section."""
        if self.quality_threshold + self.quality_hysteresis > 1.0:
            raise ConfigError(
                f"config keys '{prefix}.quality_threshold' + '{prefix}.quality_hysteresis' "
                f"= {self.quality_threshold + self.quality_hysteresis:.3g} must not exceed 1"
            )


def check_force_limits(scan: ScanConfig, force_setpoint: float, soft_limit: float) -> None:
    """The quality policy's force range must lie below the safety soft limit:
    ``force_setpoint <= scan.force_max < safety.force_soft_limit`` (raises ``ConfigError``)."""
    if not scan.force_max < soft_limit:
        raise ConfigError(
            f"config key 'scan.force_max' ({scan.force_max} N) must be below "
            f"'safety.force_soft_limit' ({soft_limit} N)"
        )
    if force_setpoint > scan.force_max:
        raise ConfigError(
            f"config key 'force_control.force_setpoint' ({force_setpoint} N) must not exceed "
            f"'scan.force_max' ({scan.force_max} N)"
        )
