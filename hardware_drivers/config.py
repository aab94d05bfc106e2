"""Configuration of the real devices (``[hardware]``): which arm driver and where, which
F/T sensor and how it is reached, the RGB-D camera and the ultrasound frame grabber.
Used when ``cell.backend = "hardware"`` and by ``robot-us bringup``; examples for every
supported combination are in docs/hardware.md."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param, section

#: Driver names of each device kind (the registries in ``hardware_drivers.devices``).
ARM_DRIVER_NAMES = ("ur", "franka")
FT_DRIVER_NAMES = ("robotiq-ft300", "ati-netft")
CAMERA_DRIVER_NAMES = ("realsense", "scene")


@dataclass(frozen=True)
class UrConfig:
    """Universal Robots e-Series through ur-rtde (RTDE at 500 Hz)."""

    command: str = param(
        "speedj",
        choices=("speedj", "servoj"),
        doc="speedJ (joint velocity) or servoJ (position targets integrated from the velocity)",
    )
    acceleration: float = param(
        4.0, lo=0.1, hi=40.0, unit="rad/s^2", doc="speedJ joint acceleration (leading axis)"
    )
    lookahead: float = param(0.1, lo=0.03, hi=0.2, unit="s", doc="servoJ lookahead time")
    gain: float = param(300.0, lo=100.0, hi=2000.0, doc="servoJ proportional gain")
    watchdog_hz: float = param(
        50.0,
        lo=1.0,
        hi=500.0,
        unit="Hz",
        doc="RTDE watchdog: the robot program stops when commands arrive slower than this",
    )
    stop_deceleration: float = param(
        4.0, lo=0.5, hi=40.0, unit="rad/s^2", doc="joint deceleration of a stop"
    )


@dataclass(frozen=True)
class FrankaConfig:
    """Franka FR3 / Panda through pylibfranka (FCI at 1 kHz)."""

    realtime: bool = param(
        True, doc="require a PREEMPT_RT kernel (libfranka kEnforce); false only for dry runs"
    )
    collision_torque: float = param(
        20.0, lo=1.0, hi=87.0, unit="N·m", doc="joint torque reflex threshold (every joint)"
    )
    collision_force: float = param(
        25.0, lo=1.0, hi=100.0, unit="N", doc="Cartesian force reflex threshold"
    )


@dataclass(frozen=True)
class ArmDriverConfig:
    """The arm and how to reach its controller."""

    driver: str = param("none", choices=("none", *ARM_DRIVER_NAMES), doc="arm driver")
    host: str = param("", doc="controller address (UR robot; Franka: the FCI address)")
    ur: UrConfig = section(UrConfig)
    franka: FrankaConfig = section(FrankaConfig)


@dataclass(frozen=True)
class FtDriverConfig:
    """The force/torque sensor at the probe."""

    driver: str = param(
        "none", choices=("none", *FT_DRIVER_NAMES), doc="force/torque sensor driver"
    )
    port: str = param("/dev/ttyUSB0", doc="robotiq-ft300: serial port of the USB adapter")
    host: str = param("192.168.1.1", doc="ati-netft: sensor address")
    udp_port: int = param(49152, lo=1, hi=65535, doc="ati-netft: RDT UDP port")
    counts_per_force: float = param(
        1e6,
        lo=1.0,
        hi=1e12,
        unit="counts/N",
        doc="ati-netft: cfgcpf of the sensor's netftapi2.xml (force unit N)",
    )
    counts_per_torque: float = param(
        1e6,
        lo=1.0,
        hi=1e12,
        unit="counts/N·m",
        doc="ati-netft: cfgcpt of the sensor's netftapi2.xml (torque unit N·m)",
    )
    rdt_rate_hz: float = param(
        1000.0, lo=1.0, hi=7000.0, unit="Hz", doc="ati-netft: RDT output rate set on the sensor"
    )
    first_sample_timeout: float = param(
        1.0, lo=0.1, hi=30.0, unit="s", doc="how long to wait for the first sample at start"
    )


@dataclass(frozen=True)
class CameraDriverConfig:
    """The RGB-D camera above the bed."""

    driver: str = param("none", choices=("none", *CAMERA_DRIVER_NAMES), doc="RGB-D camera driver")
    serial: str = param("", doc="realsense: device serial number ('' = the first one found)")
    width: int = param(640, lo=320, hi=1920, unit="px", doc="realsense: colour and depth width")
    height: int = param(480, lo=180, hi=1080, unit="px", doc="realsense: colour and depth height")
    fps: int = param(30, lo=6, hi=90, unit="Hz", doc="realsense: frame rate")
    scene: str = param("", doc="scene: a scene.npz played back as the camera (dry runs, tests)")


@dataclass(frozen=True)
class GrabberConfig:
    """The ultrasound frame grabber (``ultrasound.source = "video"``, ``ultrasound.uri``)."""

    width: int = param(0, lo=0, hi=7680, unit="px", doc="requested width (0 = device default)")
    height: int = param(0, lo=0, hi=4320, unit="px", doc="requested height (0 = device default)")
    fps: float = param(0.0, lo=0.0, hi=240.0, unit="Hz", doc="requested rate (0 = device default)")
    crop: tuple[int, ...] = param(
        (0, 0, 0, 0),
        length=4,
        lo=0,
        hi=10000,
        unit="px",
        doc="(x, y, w, h) of the image area on the scanner's screen (w = 0: the whole frame)",
    )


@dataclass(frozen=True)
class HardwareConfig:
    """The real devices of the cell (``cell.backend = "hardware"``, ``robot-us bringup``)."""

    arm: ArmDriverConfig = section(ArmDriverConfig)
    ft: FtDriverConfig = section(FtDriverConfig)
    camera: CameraDriverConfig = section(CameraDriverConfig)
    grabber: GrabberConfig = section(GrabberConfig)
