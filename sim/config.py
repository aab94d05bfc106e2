"""Configuration of the simulated scanning cell (pybullet world, phantom, sensors)."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param, section


@dataclass(frozen=True)
class PhantomConfig:
    """The patient phantom lying along the bed (body axis along base y): a cylinder
    segment or a torso (``shape``); its skin is known exactly (``sim.phantom_geometry``).
    Its tissue law: ``stiffness`` (at ``sim.tissue.reference_force``), ``damping`` and the
    Coulomb ``lateral_friction``; the rest of the law is ``sim.tissue``."""

    shape: str = param(
        "cylinder",
        choices=("cylinder", "torso"),
        doc="body shape: cylinder segment, or a torso with flanks and a rib region",
    )
    center_xy: tuple[float, ...] = param(
        (0.6, 0.0), length=2, lo=-2.0, hi=2.0, unit="m", doc="axis position (x, y) in base"
    )
    radius: float = param(
        0.2, lo=0.08, hi=0.5, unit="m", doc="cylinder: radius of curvature of the skin"
    )
    height: float = param(
        0.10, lo=0.03, hi=0.3, unit="m", doc="cylinder: top of the skin above the bed"
    )
    length: float = param(0.4, lo=0.1, hi=1.0, unit="m", doc="extent along the body axis")
    stiffness: float = param(
        2000.0,
        lo=100.0,
        hi=50000.0,
        unit="N/m",
        doc="tissue stiffness dF/dd at sim.tissue.reference_force (soft tissue, off the ribs)",
    )
    damping: float = param(40.0, lo=0.0, hi=5000.0, unit="N·s/m", doc="tissue contact damping")
    lateral_friction: float = param(
        0.1, lo=0.0, hi=2.0, doc="friction coefficient probe/skin (gel-coupled skin is slippery)"
    )
    breathing_amplitude: float = param(
        0.0, lo=0.0, hi=0.02, unit="m", doc="vertical breathing motion amplitude (0 = still)"
    )
    breathing_hz: float = param(0.3, lo=0.05, hi=2.0, unit="Hz", doc="breathing frequency")


@dataclass(frozen=True)
class TissueConfig:
    """The tissue law beyond ``sim.phantom``'s stiffness, damping and Coulomb friction
    (``sim.tissue_law``, docs/simulation.md): exponential stiffening, quasi-linear
    viscoelastic relaxation, stiff tissue over the ribs, viscous and pre-sliding friction,
    and how the lens's pressure is taken (deepest point or distributed along the lens)."""

    pressure: str = param(
        "deepest",
        choices=("deepest", "distributed"),
        doc="law applied at the lens's deepest point, or along the lens (Winkler bed)",
    )
    stiffening: float = param(
        1.0,
        lo=1.0,
        hi=20.0,
        doc="stiffness at reference_force over the stiffness at first touch (1 = linear)",
    )
    reference_force: float = param(
        5.0, lo=0.5, hi=50.0, unit="N", doc="force at which sim.phantom.stiffness holds"
    )
    relaxation: tuple[float, ...] = param(
        (0.0, 0.0),
        length=2,
        lo=0.0,
        hi=0.9,
        doc="fractions of the elastic force that relax with relaxation_time (QLV)",
    )
    relaxation_time: tuple[float, ...] = param(
        (0.5, 10.0), length=2, lo=0.01, hi=1000.0, unit="s", doc="relaxation time constants"
    )
    rib_stiffness: float = param(
        0.0,
        lo=0.0,
        hi=100000.0,
        unit="N/m",
        doc="stiffness over the ribs at reference_force (0 = like the rest of the body)",
    )
    viscous_friction: float = param(
        0.0, lo=0.0, hi=500.0, unit="N·s/m", doc="skin friction growing with sliding speed"
    )
    presliding: float = param(
        5e-5,
        lo=1e-6,
        hi=0.01,
        unit="m",
        doc="skin stretch before the probe slides (tangential compliance at the Coulomb limit)",
    )

    def validate(self, prefix: str) -> None:
        """The relaxing fractions leave some elastic force: their sum is below 1."""
        if sum(self.relaxation) >= 1.0:
            raise ConfigError(
                f"config key '{prefix}.relaxation' {list(self.relaxation)} must sum to "
                "less than 1 (the rest is the long-term elastic force)"
            )


@dataclass(frozen=True)
class ActuationConfig:
    """The arm as its low-level controller makes it move (``sim.actuation``): ``model =
    "ideal"`` follows each joint velocity command in the next step; ``"arm"`` applies the
    arm model's profile (``sim/actuation.py``): command latency, first-order joint lag,
    joint friction and damping, joint compliance where the arm has it."""

    model: str = param(
        "ideal", choices=("ideal", "arm"), doc="ideal joints, or the arm model's profile"
    )
    latency_cycles: int = param(
        -1, lo=-1, hi=10, doc="command latency in control periods (-1 = the arm's profile)"
    )
    lag: float = param(
        -1.0, lo=-1.0, hi=0.1, unit="s", doc="joint velocity time constant (-1 = the arm's)"
    )


@dataclass(frozen=True)
class BedConfig:
    """The patient bed: a box whose top surface is at z = ``top_z`` in the base frame."""

    top_z: float = param(0.0, lo=-1.0, hi=1.0, unit="m", doc="bed top height in base frame")
    center_xy: tuple[float, ...] = param(
        (0.65, 0.0), length=2, lo=-2.0, hi=2.0, unit="m", doc="bed centre (x, y) in base"
    )
    size_xy: tuple[float, ...] = param(
        (0.7, 1.9), length=2, lo=0.2, hi=3.0, unit="m", doc="bed width (x) and length (y)"
    )


@dataclass(frozen=True)
class FtSensorConfig:
    """Simulated 6-axis F/T sensor. ``device`` puts a data sheet's rate, latency, noise,
    range and resolution under these keys (``sim.ft_devices``); keys you set win."""

    device: str = param(
        "ideal", choices=("ideal", "ft300", "netft"), doc="device profile (sim/ft_devices.py)"
    )
    rate_hz: float = param(1000.0, lo=100.0, hi=1000.0, unit="Hz", doc="sample rate")
    latency: float = param(
        0.0, lo=0.0, hi=0.05, unit="s", doc="transport latency: a sample is read this much later"
    )
    force_noise_std: float = param(0.1, lo=0.0, hi=5.0, unit="N", doc="force noise (1 sigma)")
    torque_noise_std: float = param(0.005, lo=0.0, hi=0.5, unit="N·m", doc="torque noise (1 sigma)")
    bias: tuple[float, ...] = param(
        (0.8, -0.5, 1.2, 0.02, -0.01, 0.015),
        length=6,
        lo=-50.0,
        hi=50.0,
        unit="N, N·m",
        doc="sensor offset at power-on [fx fy fz tx ty tz]",
    )
    drift_rate: tuple[float, ...] = param(
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        length=6,
        lo=-1.0,
        hi=1.0,
        unit="N/s, N·m/s",
        doc="initial bias drift rate (warm-up) [fx fy fz tx ty tz]",
    )
    drift_time_constant: float = param(
        900.0, lo=1.0, hi=36000.0, unit="s", doc="thermal time constant of the bias drift"
    )
    range: tuple[float, ...] = param(
        (1000.0, 1000.0, 1000.0, 100.0, 100.0, 100.0),
        length=6,
        lo=1.0,
        hi=10000.0,
        unit="N, N·m",
        doc="measuring range: readings saturate at +-range [fx fy fz tx ty tz]",
    )
    resolution: tuple[float, ...] = param(
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        length=6,
        lo=0.0,
        hi=1.0,
        unit="N, N·m",
        doc="output quantisation step (0 = none) [fx fy fz tx ty tz]",
    )
    seed: int = param(7, lo=0, hi=2**31 - 1, doc="noise seed")


@dataclass(frozen=True)
class CameraConfig:
    """Simulated RGB-D camera above the bed (pinhole, OpenCV conventions)."""

    width: int = param(640, lo=64, hi=1920, unit="px", doc="image width")
    height: int = param(480, lo=48, hi=1080, unit="px", doc="image height")
    fx: float = param(600.0, lo=50.0, hi=5000.0, unit="px", doc="focal length x")
    fy: float = param(600.0, lo=50.0, hi=5000.0, unit="px", doc="focal length y")
    eye: tuple[float, ...] = param(
        (0.95, 0.0, 0.85), length=3, lo=-5.0, hi=5.0, unit="m", doc="camera centre in base"
    )
    target: tuple[float, ...] = param(
        (0.6, 0.0, 0.05), length=3, lo=-5.0, hi=5.0, unit="m", doc="point the optical axis hits"
    )
    near: float = param(0.1, lo=0.01, hi=1.0, unit="m", doc="near clipping plane")
    far: float = param(3.0, lo=1.0, hi=20.0, unit="m", doc="far clipping plane")
    depth_noise_std: float = param(
        0.0, lo=0.0, hi=0.02, unit="m", doc="depth noise (1 sigma) independent of range"
    )
    depth_noise_quadratic: float = param(
        0.0,
        lo=0.0,
        hi=0.05,
        unit="1/m",
        doc="depth noise growing with range: sigma = depth_noise_std + this x Z^2",
    )
    dropout: float = param(0.0, lo=0.0, hi=0.5, doc="fraction of invalid depth pixels")
    edge_dropout: float = param(
        0.0, lo=0.0, hi=1.0, doc="probability that a pixel at a depth edge reads invalid"
    )
    edge_threshold: float = param(
        0.01, lo=0.001, hi=0.5, unit="m", doc="depth step between neighbours that is an edge"
    )
    holes: int = param(0, lo=0, hi=100, doc="invalid blobs per frame (specular, low texture)")
    hole_radius: float = param(
        8.0, lo=1.0, hi=100.0, unit="px", doc="largest radius of an invalid blob"
    )
    seed: int = param(11, lo=0, hi=2**31 - 1, doc="noise seed")


@dataclass(frozen=True)
class SimConfig:
    """The pybullet world. ``profile`` puts a named bundle of the settings below over
    their defaults (``sim/profiles.py``: ideal, realistic, harsh); keys you set win."""

    profile: str = param(
        "ideal",
        choices=("ideal", "realistic", "harsh"),
        doc="plant profile: a bundle of sim settings over these defaults (keys you set win)",
    )
    gui: bool = param(False, doc="open the pybullet GUI (needs a display)")
    solver_iterations: int = param(50, lo=5, hi=500, doc="pybullet constraint solver iterations")
    ft_transport: str = param(
        "direct",
        choices=("direct", "robotiq-ft300-emulated", "ati-netft-emulated"),
        doc="how the controller gets the simulated wrench: directly, or served by a device "
        "emulator and read back through the real driver (docs/hardware.md)",
    )
    phantom: PhantomConfig = section(PhantomConfig)
    tissue: TissueConfig = section(TissueConfig)
    bed: BedConfig = section(BedConfig)
    ft: FtSensorConfig = section(FtSensorConfig)
    actuation: ActuationConfig = section(ActuationConfig)
    camera: CameraConfig = section(CameraConfig)
