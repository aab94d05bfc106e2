"""The real scanning cell as a ``robot_us.core.backends.Cell`` (registered as "hardware"):
the configured arm, F/T sensor, RGB-D camera and ultrasound frame source, connected in
that order (what was opened is closed again if a later device fails).

The configuration is checked before anything is connected, each problem as one line
naming the key: the arm driver and model must match, the loop must run at the arm's
native rate (500 Hz UR, 1 kHz Franka), and ``safety.wrench_timeout`` must be
long enough for the sensor (two sample periods plus its time on the wire).
"""

from __future__ import annotations

from collections.abc import Callable

from hardware_drivers.devices import ARM_DRIVERS, CAMERA_DRIVERS, FT_DRIVERS, min_wrench_timeout
from robot_us.core.backends import ULTRASOUND_SOURCES, Cell, SoftwareEStop
from robot_us.core.config_schema import ConfigError


def check_hardware_config(cfg, arm, sensor) -> None:
    """Raise ``ConfigError`` (one line, naming the key) when ``cfg`` cannot drive ``arm``
    and ``sensor`` safely."""
    hw = cfg.hardware
    if cfg.robot.model not in arm.models:
        raise ConfigError(
            f"robot.model = '{cfg.robot.model}' is not an arm the '{hw.arm.driver}' driver "
            f"drives (one of: {', '.join(arm.models)})"
        )
    if cfg.loop.rate_hz != arm.rate_hz:
        raise ConfigError(
            f"loop.rate_hz = {cfg.loop.rate_hz:g} Hz, but the '{hw.arm.driver}' arm is commanded "
            f"at {arm.rate_hz:g} Hz: set loop.rate_hz = {arm.rate_hz:g}"
        )
    need = min_wrench_timeout(sensor)
    if cfg.safety.wrench_timeout < need:
        raise ConfigError(
            f"safety.wrench_timeout = {cfg.safety.wrench_timeout * 1e3:g} ms is shorter than the "
            f"'{hw.ft.driver}' sensor can meet ({need * 1e3:.1f} ms: two samples at "
            f"{sensor.rate_hz:g} Hz plus {sensor.wire_time_s * 1e3:.1f} ms on the wire); "
            "raise it (docs/hardware.md)"
        )
    if cfg.ultrasound.source == "sim":
        raise ConfigError(
            "ultrasound.source = 'sim' needs the simulated cell; on hardware use 'video' "
            "(the frame grabber) with ultrasound.uri"
        )


def _require_driver(key: str, value: str, choices: list[str]) -> None:
    if value == "none":
        raise ConfigError(
            f"cell.backend = 'hardware' needs {key} (one of: {', '.join(choices)}); "
            "see docs/hardware.md"
        )


def make_hardware_cell(cfg) -> Cell:
    """Build and connect the configured devices of a ``robot_us.config.Config``."""
    hw = cfg.hardware
    _require_driver("hardware.arm.driver", hw.arm.driver, ARM_DRIVERS.names())
    _require_driver("hardware.ft.driver", hw.ft.driver, FT_DRIVERS.names())
    arm = ARM_DRIVERS.create(hw.arm.driver, hw)
    sensor = FT_DRIVERS.create(hw.ft.driver, hw)
    check_hardware_config(cfg, arm, sensor)
    closers: list[Callable[[], None]] = []

    def close() -> None:
        while closers:
            closers.pop()()

    try:
        arm.connect()
        closers.append(arm.close)
        sensor.start(hw.ft.first_sample_timeout)
        closers.append(sensor.close)
        camera = None
        if hw.camera.driver != "none":
            camera = CAMERA_DRIVERS.create(hw.camera.driver, hw).connect()
            closers.append(camera.close)
        ultrasound = ULTRASOUND_SOURCES.create(cfg.ultrasound.source, cfg)
        closers.append(ultrasound.close)
    except BaseException:
        close()
        raise
    return Cell(
        name="hardware",
        arm=arm,
        wrench=sensor,
        camera=camera,
        ultrasound=ultrasound,
        estop=SoftwareEStop(),
        close=close,
    )
