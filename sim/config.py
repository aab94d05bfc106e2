"""Configuration of the simulated scanning cell (pybullet world, phantom, sensors)."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param, section


@dataclass(frozen=True)
class PhantomConfig:
    """The patient phantom: a cylinder segment lying along the bed (axis along base y)
    whose curved top is the skin. Geometry known exactly (``sim.phantom_geometry``)."""

    center_xy: tuple[float, ...] = param(
        (0.6, 0.0), length=2, lo=-2.0, hi=2.0, unit="m", doc="axis position (x, y) in base"
    )
    radius: float = param(0.2, lo=0.08, hi=0.5, unit="m", doc="radius of curvature of the skin")
    height: float = param(0.10, lo=0.03, hi=0.3, unit="m", doc="top of the skin above the bed")
    length: float = param(0.4, lo=0.1, hi=1.0, unit="m", doc="extent along the body axis")
    stiffness: float = param(
        2000.0, lo=100.0, hi=50000.0, unit="N/m", doc="tissue force-indentation stiffness"
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
    """Simulated 6-axis F/T sensor (defaults like a Robotiq FT 300)."""

    rate_hz: float = param(1000.0, lo=100.0, hi=1000.0, unit="Hz", doc="sample rate")
    force_noise_std: float = param(0.1, lo=0.0, hi=5.0, unit="N", doc="force noise (1 sigma)")
    torque_noise_std: float = param(0.005, lo=0.0, hi=0.5, unit="N·m", doc="torque noise (1 sigma)")
    bias: tuple[float, ...] = param(
        (0.8, -0.5, 1.2, 0.02, -0.01, 0.015),
        length=6,
        lo=-50.0,
        hi=50.0,
        unit="N, N·m",
        doc="constant sensor offset [fx fy fz tx ty tz]",
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
    depth_noise_std: float = param(0.0, lo=0.0, hi=0.02, unit="m", doc="depth noise (1 sigma)")
    dropout: float = param(0.0, lo=0.0, hi=0.5, doc="fraction of invalid depth pixels")
    seed: int = param(11, lo=0, hi=2**31 - 1, doc="noise seed")


@dataclass(frozen=True)
class SimConfig:
    """The pybullet world."""

    gui: bool = param(False, doc="open the pybullet GUI (needs a display)")
    solver_iterations: int = param(50, lo=5, hi=500, doc="pybullet constraint solver iterations")
    ft_transport: str = param(
        "direct",
        choices=("direct", "robotiq-ft300-emulated", "ati-netft-emulated"),
        doc="how the controller gets the simulated wrench: directly, or served by a device "
        "emulator and read back through the real driver (docs/hardware.md)",
    )
    phantom: PhantomConfig = section(PhantomConfig)
    bed: BedConfig = section(BedConfig)
    ft: FtSensorConfig = section(FtSensorConfig)
    camera: CameraConfig = section(CameraConfig)
