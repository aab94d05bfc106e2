"""``robot-us bringup check --config hw.toml``: every configured device in turn (the
configuration's own checks first, then arm, F/T sensor, camera, frame grabber), each a
row of PASS / FAIL / SKIP with what was measured and what to do next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hardware_drivers.cell import check_hardware_config
from hardware_drivers.devices import ARM_DRIVERS, CAMERA_DRIVERS, FT_DRIVERS
from hardware_drivers.video_capture import make_video_source
from robot_us.bringup import ft as ft_bringup
from robot_us.bringup import grabber as grabber_bringup
from robot_us.bringup.arm import read_only_state
from robot_us.core.backends import BackendError
from robot_us.core.config_schema import ConfigError
from robot_us.core.registry import RegistryError
from robot_us.core.types import ArmStop

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
#: Errors a device check turns into a FAIL row (anything else is a bug and propagates).
DEVICE_ERRORS = (BackendError, ConfigError, RegistryError, OSError, ValueError)


@dataclass
class Row:
    """One line of the table."""

    device: str
    driver: str
    result: str
    detail: str
    next_step: str = ""


def _try(device: str, driver: str, fn: Callable[[], Row]) -> Row:
    try:
        return fn()
    except DEVICE_ERRORS as exc:
        return Row(device, driver, FAIL, str(exc), "fix the cause above, then rerun the check")


def check_config(cfg) -> Row:
    """The cell's configuration checks (no device is contacted)."""
    hw = cfg.hardware
    if "none" in (hw.arm.driver, hw.ft.driver):
        return Row("config", "-", SKIP, "no arm or no F/T driver configured: no cell checks",
                   "set hardware.arm.driver and hardware.ft.driver")  # fmt: skip

    def run() -> Row:
        arm = ARM_DRIVERS.create(hw.arm.driver, hw)
        sensor = FT_DRIVERS.create(hw.ft.driver, hw)
        check_hardware_config(cfg, arm, sensor)
        detail = (
            f"loop {cfg.loop.rate_hz:g} Hz, wrench timeout {cfg.safety.wrench_timeout * 1e3:g} "
            f"ms, robot.model {cfg.robot.model}"
        )
        return Row("config", "-", PASS, detail)

    return _try("config", "-", run)


def check_arm(cfg) -> Row:
    """Connect read-only and read the state."""
    hw = cfg.hardware
    if hw.arm.driver == "none":
        return Row("arm", "none", SKIP, "hardware.arm.driver = 'none'")

    def run() -> Row:
        state, _ = read_only_state(ARM_DRIVERS.create(hw.arm.driver, hw))
        q = np.degrees(state.q)
        detail = f"{hw.arm.host}: q = [{', '.join(f'{v:.1f}' for v in q)}] deg"
        if state.stop:
            return Row("arm", hw.arm.driver, FAIL, f"{detail}; {ArmStop(state.stop).name} stop",
                       "clear the stop on the robot (pendant / Desk), then rerun")  # fmt: skip
        return Row("arm", hw.arm.driver, PASS, detail, "robot-us bringup arm --jog")

    return _try("arm", hw.arm.driver, run)


def check_ft(cfg, seconds: float) -> Row:
    """Stream the sensor for ``seconds``: rate and link errors."""
    hw = cfg.hardware
    if hw.ft.driver == "none":
        return Row("F/T", "none", SKIP, "hardware.ft.driver = 'none'")

    def run() -> Row:
        sensor = FT_DRIVERS.create(hw.ft.driver, hw)
        sensor.start(hw.ft.first_sample_timeout)
        try:
            r = ft_bringup.measure(sensor, seconds, hw.ft.driver)
        finally:
            sensor.close()
        errors = r.crc_errors + r.sequence_gaps + r.status_errors + r.bad_packets
        detail = (
            f"{r.rate_hz:.1f} Hz of {r.nominal_hz:g}, |F| bias {np.linalg.norm(r.mean[:3]):.2f} "
            f"N, noise Fz {r.std[2]:.3f} N, errors {errors}"
        )
        ok = r.rate_hz >= 0.9 * r.nominal_hz and errors == 0
        return Row("F/T", hw.ft.driver, PASS if ok else FAIL, detail, r.next_steps[0])

    return _try("F/T", hw.ft.driver, run)


def check_camera(cfg) -> Row:
    """Connect and capture one frame: size and valid depth."""
    hw = cfg.hardware
    if hw.camera.driver == "none":
        return Row("camera", "none", SKIP, "hardware.camera.driver = 'none'")

    def run() -> Row:
        cam = CAMERA_DRIVERS.create(hw.camera.driver, hw).connect()
        try:
            f = cam.capture()
        finally:
            cam.close()
        valid = float(np.mean(np.isfinite(f.depth) & (f.depth > 0)))
        h, w = f.depth.shape
        detail = f"{w} x {h}, {100 * valid:.0f} % valid depth"
        if valid < 0.5:
            return Row("camera", hw.camera.driver, FAIL, detail,
                       "too little depth: check the view of the bed and the lighting")  # fmt: skip
        return Row("camera", hw.camera.driver, PASS, detail, "robot-us bringup camera")

    return _try("camera", hw.camera.driver, run)


def check_grabber(cfg, seconds: float) -> Row:
    """Grab frames when ``ultrasound.source = "video"``."""
    if cfg.ultrasound.source != "video":
        return Row("grabber", cfg.ultrasound.source, SKIP, "ultrasound.source is not 'video'")

    def run() -> Row:
        src = make_video_source(cfg)
        try:
            r = grabber_bringup.measure(src, seconds)
        finally:
            src.close()
        detail = (f"{r['frames']} frames, {r['rate_hz']:.1f} Hz, {r['width']} x {r['height']}, "
                  f"{r['dropped']} dropped")  # fmt: skip
        ok = r["frames"] > 1 and r["mean_level"] >= 5.0
        return Row("grabber", "video", PASS if ok else FAIL, detail, r["next_steps"][0])

    return _try("grabber", "video", run)


def run_checks(cfg, seconds: float = 1.0) -> list[Row]:
    """Every row, in order."""
    return [
        check_config(cfg),
        check_arm(cfg),
        check_ft(cfg, seconds),
        check_camera(cfg),
        check_grabber(cfg, seconds),
    ]


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("device", "driver", "result", "measured", "next")
    cells = [head] + [(r.device, r.driver, r.result, r.detail, r.next_step) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = []
    for c in cells:
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
    return "\n".join(lines)
