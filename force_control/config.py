"""Configuration of the hybrid force/position controller (``[force_control]``).

Read once when a controller is built; the per-cycle code only uses the precomputed
arrays its constructor derives from this section.
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param, section


@dataclass(frozen=True)
class WrenchConfig:
    """Wrench pipeline: bias (tare) estimation, probe gravity compensation, low-pass."""

    filter_cutoff_hz: float = param(
        80.0, lo=5.0, hi=400.0, unit="Hz", doc="low-pass cut-off (2nd-order Butterworth)"
    )
    tare_samples: int = param(
        100, lo=1, hi=10_000, unit="samples", doc="new sensor samples averaged by a tare"
    )
    gravity_compensation: bool = param(
        True, doc="subtract the weight of the carried probe mass (probe.mass at probe.com)"
    )


@dataclass(frozen=True)
class AdmittanceConfig:
    """Virtual mass-damper (plus integral) on the wrench error of the force-controlled
    axes, probe frame [x y z rx ry rz]."""

    mass: tuple[float, ...] = param(
        (0.5, 0.5, 0.5, 0.005, 0.005, 0.005),
        length=6,
        lo=1e-4,
        hi=100.0,
        unit="kg, kg·m²",
        doc="virtual mass (inertia for rotations) per axis",
    )
    damping: tuple[float, ...] = param(
        (60.0, 60.0, 60.0, 0.5, 0.5, 0.5),
        length=6,
        lo=1e-3,
        hi=10_000.0,
        unit="N·s/m, N·m·s/rad",
        doc="virtual damping per axis; force bandwidth ~ tissue stiffness / damping",
    )
    integral_gain: tuple[float, ...] = param(
        (0.0, 0.0, 0.2, 0.0, 0.0, 0.0),
        length=6,
        lo=0.0,
        hi=100.0,
        unit="m/(N·s²), rad/(N·m·s²)",
        doc="integral of the wrench error added to the velocity (tracks a moving surface)",
    )
    integral_limit: tuple[float, ...] = param(
        (0.0, 0.0, 0.2, 0.0, 0.0, 0.0),
        length=6,
        lo=0.0,
        hi=100.0,
        unit="N·s, N·m·s",
        doc="anti-windup clamp on the integrated wrench error",
    )
    velocity_limit: tuple[float, ...] = param(
        (0.05, 0.05, 0.05, 0.5, 0.5, 0.5),
        length=6,
        lo=1e-4,
        hi=2.0,
        unit="m/s, rad/s",
        doc="clamp on the admittance velocity per axis",
    )


@dataclass(frozen=True)
class EstimatorConfig:
    """Contact force, tissue stiffness and skin motion along the probe axis, estimated
    from the (slow, late) force samples and the probe's measured travel
    (``force_control.contact_estimator``)."""

    enabled: bool = param(
        True,
        doc="estimate the force now from the samples and the travel (off: the filtered "
        "sample-and-hold force, fixed gains)",
    )
    noise: float = param(
        0.1, lo=0.001, hi=5.0, unit="N", doc="standard deviation of one axial force sample"
    )
    stiffness_prior: float = param(
        3000.0,
        lo=10.0,
        hi=1e6,
        unit="N/m",
        doc="tissue stiffness assumed at reference_force before any contact",
    )
    stiffness_spread: float = param(
        3.0, lo=1.01, hi=100.0, doc="factor of uncertainty (1 sigma) of stiffness_prior"
    )
    stiffening_force: float = param(
        2.5,
        lo=0.1,
        hi=1000.0,
        unit="N",
        doc="F0 of the tissue law dF/dd = kappa (F + F0): tangent stiffness grows with "
        "the force (large F0: a linear spring)",
    )
    reference_force: float = param(
        5.0, lo=0.1, hi=50.0, unit="N", doc="force at which stiffness_prior holds"
    )
    contact_force: float = param(
        0.3, lo=0.01, hi=5.0, unit="N", doc="above this estimated force the tissue model runs"
    )
    force_process: float = param(
        1.0, lo=0.0, hi=100.0, unit="N/sqrt(s)", doc="force change the model leaves out"
    )
    stiffness_process: float = param(
        0.5, lo=0.0, hi=10.0, unit="1/sqrt(s)", doc="relative stiffness change per sqrt(s)"
    )
    surface_acceleration: float = param(
        0.005,
        lo=0.0,
        hi=10.0,
        unit="m/s²/sqrt(s)",
        doc="how fast the skin's velocity along the probe axis may change (breathing at "
        "+-5 mm, 0.3 Hz: up to 0.018 m/s²; 0.001 left 0.55 N RMS on 10000 N/m; more "
        "blurs stiffness and skin motion)",
    )
    surface_speed: float = param(
        0.003,
        lo=0.0,
        hi=1.0,
        unit="m/s",
        doc="skin speed assumed (1 sigma) at first contact (0.01 let a stiff linear contact "
        "be read as skin motion: the stiffness estimate collapsed, 10000 N/m ideal plant)",
    )
    stiffness_min: float = param(200.0, lo=1.0, hi=1e6, unit="N/m", doc="lowest stiffness")
    stiffness_max: float = param(30000.0, lo=1.0, hi=1e7, unit="N/m", doc="highest stiffness")
    history: float = param(
        0.06,
        lo=0.005,
        hi=1.0,
        unit="s",
        doc="travel kept for delayed samples (sample period + transport latency + margin)",
    )


@dataclass(frozen=True)
class ScheduleConfig:
    """Probe-axis admittance gains scheduled by the estimated tissue stiffness: the loop
    gain (stiffness / damping) stays what ``admittance`` gives at ``reference_stiffness``."""

    enabled: bool = param(True, doc="scale the probe-axis gains with the estimated stiffness")
    reference_stiffness: float = param(
        2000.0,
        lo=10.0,
        hi=1e6,
        unit="N/m",
        doc="stiffness at which admittance.damping and integral_gain (probe axis) hold",
    )
    force_rate: float = param(
        40.0,
        lo=1.0,
        hi=1000.0,
        unit="N/s",
        doc="the controller's own force-rate limit: probe speed relative to the skin <= "
        "force_rate / stiffness (the safety layer's limit stays as it is)",
    )
    surface_feedforward: float = param(
        1.0, lo=0.0, hi=1.0, doc="share of the estimated skin velocity fed forward in contact"
    )


@dataclass(frozen=True)
class PoseConfig:
    """Pose tracking of the position-controlled axes (probe frame)."""

    gain: tuple[float, ...] = param(
        (8.0, 8.0, 8.0, 8.0, 8.0, 8.0),
        length=6,
        lo=0.0,
        hi=200.0,
        unit="1/s",
        doc="proportional pose gain per axis (twist = gain * pose error + feed-forward)",
    )
    compliance_stiffness: tuple[float, ...] = param(
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        length=6,
        lo=0.0,
        hi=100_000.0,
        unit="N/m, N·m/rad",
        doc="spring to the reference pose inside the admittance (compliance mode)",
    )
    max_linear_speed: float = param(
        0.1, lo=0.001, hi=1.0, unit="m/s", doc="clamp on the commanded tool linear speed"
    )
    max_angular_speed: float = param(
        0.8, lo=0.01, hi=5.0, unit="rad/s", doc="clamp on the commanded tool angular speed"
    )


@dataclass(frozen=True)
class IkConfig:
    """Cartesian twist -> joint velocity (damped least squares) and joint-space limits."""

    damping: float = param(
        0.01, lo=1e-5, hi=1.0, doc="damped-least-squares damping at full manipulability"
    )
    singular_damping: float = param(
        0.1, lo=1e-4, hi=2.0, doc="damping reached as manipulability falls to zero"
    )
    manipulability_threshold: float = param(
        0.02, lo=1e-5, hi=1.0, doc="manipulability below which damping is raised"
    )
    nullspace_gain: float = param(
        1.0, lo=0.0, hi=50.0, unit="1/s", doc="null-space pull away from joint limits"
    )
    velocity_scale: float = param(
        0.5, lo=0.01, hi=1.0, doc="fraction of the data-sheet joint velocity limits used"
    )
    acceleration_limit: float = param(
        5.0, lo=0.1, hi=50.0, unit="rad/s²", doc="joint acceleration limit (every joint)"
    )


@dataclass(frozen=True)
class ContactConfig:
    """Guarded approach, contact detection, contact loss and re-seek, retract."""

    approach_speed: float = param(
        0.01, lo=0.0005, hi=0.05, unit="m/s", doc="guarded approach speed along the probe axis"
    )
    approach_max_distance: float = param(
        0.1, lo=0.001, hi=0.5, unit="m", doc="give up the approach after this distance"
    )
    touch_force: float = param(
        0.3,
        lo=0.01,
        hi=10.0,
        unit="N",
        doc="first touch: above this axial force the guarded approach (and re-seek) "
        "slows to touch_speed until contact is detected (below detect_force)",
    )
    touch_speed: float = param(
        0.003,
        lo=0.0005,
        hi=0.05,
        unit="m/s",
        doc="guarded speed along the probe axis after the first touch (the approach "
        "speed if that is slower): limits the force rise on stiff tissue moving into "
        "the probe",
    )
    detect_force: float = param(
        1.0, lo=0.1, hi=10.0, unit="N", doc="contact when the axial force exceeds this"
    )
    detect_time: float = param(
        0.003, lo=0.0, hi=0.5, unit="s", doc="... continuously for this long"
    )
    loss_force: float = param(
        0.5, lo=0.0, hi=10.0, unit="N", doc="contact lost when the axial force drops below this"
    )
    loss_time: float = param(0.05, lo=0.001, hi=2.0, unit="s", doc="... continuously this long")
    reseek_distance: float = param(
        0.02, lo=0.0, hi=0.1, unit="m", doc="how far to re-seek along the probe axis"
    )
    setpoint_rate: float = param(
        20.0, lo=0.5, hi=500.0, unit="N/s", doc="ramp rate of force setpoint changes in contact"
    )
    retract_speed: float = param(
        0.03, lo=0.001, hi=0.2, unit="m/s", doc="controlled retract speed along the probe axis"
    )
    retract_acceleration: float = param(
        0.2, lo=0.01, hi=5.0, unit="m/s²", doc="ramp of the retract speed"
    )
    retract_distance: float = param(
        0.05, lo=0.001, hi=0.3, unit="m", doc="controlled retract distance"
    )


@dataclass(frozen=True)
class AlignmentConfig:
    """Probe alignment to the skin from the F/T moments about the probe's x/y axes."""

    enabled: bool = param(
        False,
        doc="tilt the probe in contact until the moments about its x/y axes vanish (off: "
        "the planned orientation, i.e. the depth-camera normals)",
    )
    gain: float = param(
        20.0,
        lo=0.0,
        hi=1000.0,
        unit="rad/(s·m)",
        doc="tilt rate per metre of centre-of-pressure offset (20: 1 mm -> 1.1 deg/s)",
    )
    deadband: float = param(
        0.001,
        lo=0.0,
        hi=0.05,
        unit="m",
        doc="centre-of-pressure offsets below this are noise and bias: no correction",
    )
    max_tilt: float = param(
        0.05, lo=0.0, hi=0.3, unit="rad", doc="largest correction from the planned orientation"
    )
    min_force: float = param(
        2.0, lo=0.1, hi=30.0, unit="N", doc="no correction below this axial force"
    )
    min_stiffness: float = param(
        4000.0,
        lo=0.0,
        hi=1e6,
        unit="N/m",
        doc="no correction on tissue softer than this (estimated tangent stiffness): the "
        "moment per degree scales with it, and on soft tissue the moment-free tilt was "
        "2 deg from the true normal (realistic 700 N/m)",
    )
    axes: tuple[float, ...] = param(
        (0.0, 1.0),
        length=2,
        lo=0.0,
        hi=1.0,
        doc="share of the correction about probe [x, y]: a linear probe's lens rolls about "
        "its array axis x (no restoring moment: the x correction only integrates noise and "
        "bias; measured 0.44 -> 0.71 deg on realistic 2000 N/m)",
    )


@dataclass(frozen=True)
class ForceControlConfig:
    """The hybrid force/position controller."""

    controller: str = param(
        "hybrid",
        choices=("hybrid", "position", "compliance"),
        doc="controller from force_control.CONTROLLERS (position and compliance are "
        "selection-vector presets of the same law)",
    )
    force_setpoint: float = param(
        5.0, lo=0.0, hi=30.0, unit="N", doc="default contact force along the probe axis"
    )
    selection: tuple[float, ...] = param(
        (0.0, 0.0, 1.0, 0.0, 0.0, 0.0),
        length=6,
        lo=0.0,
        hi=1.0,
        doc="force-controlled share per probe axis [x y z rx ry rz] (hybrid controller)",
    )
    wrench: WrenchConfig = section(WrenchConfig)
    admittance: AdmittanceConfig = section(AdmittanceConfig)
    estimator: EstimatorConfig = section(EstimatorConfig)
    schedule: ScheduleConfig = section(ScheduleConfig)
    pose: PoseConfig = section(PoseConfig)
    ik: IkConfig = section(IkConfig)
    contact: ContactConfig = section(ContactConfig)
    alignment: AlignmentConfig = section(AlignmentConfig)

    def validate(self, prefix: str) -> None:
        """Cross-key checks (called by the config loader)."""
        c = self.contact
        if c.loss_force >= c.detect_force:
            raise ConfigError(
                f"config key '{prefix}.contact.loss_force' ({c.loss_force} N) must be below "
                f"'{prefix}.contact.detect_force' ({c.detect_force} N)"
            )
        if c.touch_force >= c.detect_force:
            raise ConfigError(
                f"config key '{prefix}.contact.touch_force' ({c.touch_force} N) must be below "
                f"'{prefix}.contact.detect_force' ({c.detect_force} N): the approach slows "
                "at first touch, before contact is detected"
            )
        if self.ik.singular_damping < self.ik.damping:
            raise ConfigError(
                f"config key '{prefix}.ik.singular_damping' must be >= '{prefix}.ik.damping'"
            )
