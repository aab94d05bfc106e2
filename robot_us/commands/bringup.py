"""``robot-us bringup``: bring the real devices up one at a time (docs/hardware.md).

    robot-us bringup ft --driver robotiq-ft300 --port /dev/ttyUSB0 --seconds 5 [--json]
    robot-us bringup ft --driver ati-netft --host 192.168.1.1 --seconds 5 [--json]
    robot-us bringup arm --backend ur --host 192.168.1.10 [--jog]
    robot-us bringup camera --config hw.toml --out calib/
    robot-us bringup handeye --config hw.toml --out calib/ --intrinsics calib/calibration.json
    robot-us bringup grabber --device 0 --seconds 5
    robot-us bringup check --config hw.toml

Each prints what it measured and what to check next; when a device does not answer it
exits 1 with one line naming the device and what to check."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from hardware_drivers.config import ARM_DRIVER_NAMES, FT_DRIVER_NAMES

HELP = "bring up the real devices: F/T sensor, arm, camera, hand-eye, frame grabber, check all"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``bringup`` subcommands and their arguments."""
    sub = p.add_subparsers(dest="step", metavar="STEP", required=True)

    ft = sub.add_parser("ft", help="stream the F/T sensor: rate, bias, noise, link errors")
    ft.add_argument("--driver", choices=FT_DRIVER_NAMES, help="default: hardware.ft.driver")
    ft.add_argument("--port", help="robotiq-ft300: serial port (default hardware.ft.port)")
    ft.add_argument("--host", help="ati-netft: sensor address (default hardware.ft.host)")
    ft.add_argument("--seconds", type=float, default=5.0, help="how long to stream (default 5)")
    ft.add_argument("--json", action="store_true", help="print one JSON object")
    ft.add_argument(
        "--emulate", action="store_true", help="run against the device's emulator (dry run)"
    )
    ft.add_argument(
        "--inject",
        default="",
        metavar="FAULTS",
        help="with --emulate: faults during the run, e.g. 'corrupt=5,drop=3,stall=0.3,reset=0.5'"
        " (ft300: corrupt drop garbage stall reset; netft: drop status truncate duplicate stall"
        " reset)",
    )
    _config_arg(ft)

    arm = sub.add_parser("arm", help="connect to the arm, read its state, optionally jog")
    arm.add_argument("--backend", choices=ARM_DRIVER_NAMES, help="default: hardware.arm.driver")
    arm.add_argument("--host", help="controller address (default hardware.arm.host)")
    arm.add_argument(
        "--jog", action="store_true", help="a small guarded jog after a typed confirmation"
    )
    arm.add_argument("--joint", type=int, default=0, help="joint to jog, 1-based (default: last)")
    _config_arg(arm)

    cam = sub.add_parser("camera", help="capture ChArUco views, calibrate the intrinsics")
    cam.add_argument("--out", type=Path, required=True, help="folder for images and calibration")
    cam.add_argument("--views", type=int, default=15, help="views to collect (default 15)")
    _config_arg(cam)

    he = sub.add_parser("handeye", help="robot poses + board views -> camera-to-base transform")
    he.add_argument("--out", type=Path, required=True, help="folder for images and calibration")
    he.add_argument("--intrinsics", required=True, help="calibration.json with the intrinsics")
    he.add_argument("--views", type=int, default=12, help="poses to collect (default 12)")
    he.add_argument("--method", default="park", help="hand-eye solver (default park)")
    _config_arg(he)

    gr = sub.add_parser("grabber", help="frame rate, resolution and dropped frames")
    gr.add_argument("--device", help="device index or video file (default ultrasound.uri)")
    gr.add_argument("--seconds", type=float, default=5.0, help="how long to grab (default 5)")
    gr.add_argument("--json", action="store_true", help="print one JSON object")
    _config_arg(gr)

    ck = sub.add_parser("check", help="every configured device in turn: a pass/fail table")
    ck.add_argument("--seconds", type=float, default=1.0, help="streaming time per device")
    _config_arg(ck)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", action="append", default=[], help="TOML config file(s)")


def _fail(device: str, exc: Exception, hint: str) -> int:
    print(f"robot-us bringup {device}: error: {exc}", file=sys.stderr)
    print(f"next: {hint}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    """Run one bring-up step; 1 with one clear line when a device does not answer."""
    from robot_us.config import load_config
    from robot_us.core.backends import BackendError

    cfg = load_config(*args.config)
    steps = {
        "ft": _ft,
        "arm": _arm,
        "camera": _camera,
        "handeye": _handeye,
        "grabber": _grabber,
        "check": _check,
    }
    try:
        return steps[args.step](args, cfg)
    except BackendError as exc:
        return _fail(args.step, exc, _HINTS[args.step])


_HINTS = {
    "ft": "power and cable of the sensor, the port or address, then rerun (docs/hardware.md)",
    "arm": "the robot is on, unlocked, reachable (ping), in Remote Control (UR) / FCI active "
    "(Franka)",
    "camera": "the camera's USB 3 connection (rs-enumerate-devices), then rerun",
    "handeye": "the camera and the arm answer on their own (bringup camera, bringup arm) first",
    "grabber": "the grabber's device index (v4l2-ctl --list-devices) and its input",
    "check": "run the failing device's own bring-up step",
}


def _ft(args, cfg) -> int:
    from hardware_drivers.devices import FT_DRIVERS
    from robot_us.bringup import ft as ftb

    hw = cfg.hardware
    driver = args.driver or hw.ft.driver
    if driver == "none":
        raise ValueError("give --driver (or set hardware.ft.driver)")
    ft = hw.ft
    ft = replace(ft, port=args.port or ft.port, host=args.host or ft.host, driver=driver)
    emulator = None
    if args.emulate:
        emulator, where = ftb.start_emulator(driver)
        if driver == "robotiq-ft300":
            ft = replace(ft, port=where)
        else:
            ft = replace(ft, host=where[0], udp_port=where[1])
    elif args.inject:
        raise ValueError("--inject needs --emulate")
    faults = ftb.parse_faults(args.inject, driver)
    try:
        sensor = FT_DRIVERS.create(driver, replace(hw, ft=ft))
        sensor.start(ft.first_sample_timeout)
        try:
            if emulator is not None and faults:
                ftb.inject_during(emulator, faults, args.seconds)
            report = ftb.measure(sensor, args.seconds, driver)
        finally:
            sensor.close()
    finally:
        if emulator is not None:
            emulator.close()
    if args.emulate:
        report.info["emulated"] = True
        if faults:
            report.info["injected"] = args.inject
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(ftb.format_report(report))
    return 0


def _arm_config(args, cfg):
    hw = cfg.hardware
    driver = args.backend or hw.arm.driver
    if driver == "none":
        raise ValueError("give --backend (or set hardware.arm.driver)")
    return replace(hw, arm=replace(hw.arm, driver=driver, host=args.host or hw.arm.host))


def _arm(args, cfg) -> int:
    import numpy as np

    from hardware_drivers.devices import ARM_DRIVERS
    from robot_us.bringup import arm as armb

    hw = _arm_config(args, cfg)
    arm = ARM_DRIVERS.create(hw.arm.driver, hw)
    state, info = armb.read_only_state(arm)
    print(f"{hw.arm.driver} arm at {hw.arm.host}: {arm.n_joints} joints, native {arm.rate_hz:g} Hz")
    print(f"  q     [{', '.join(f'{v:8.2f}' for v in np.degrees(state.q))}] deg")
    print(
        f"  stop  {armb.ArmStop(state.stop).name}; "
        + ", ".join(f"{k} {v}" for k, v in info.items())
    )
    if args.jog and not state.stop:
        joint = (args.joint or arm.n_joints) - 1
        if not 0 <= joint < arm.n_joints:
            raise ValueError(f"--joint must be 1..{arm.n_joints}")
        print(
            f"jog: joint {joint + 1} moves +{armb.JOG_ANGLE} rad and back, at most "
            f"{armb.JOG_SPEED} rad/s. Keep a hand on the emergency stop."
        )
        answer = input(f"type {armb.CONFIRM_WORD} to move, anything else to skip: ")
        if answer.strip() != armb.CONFIRM_WORD:
            print("jog skipped: nothing moved")
        else:
            arm = ARM_DRIVERS.create(hw.arm.driver, hw)
            arm.connect(control=True)
            try:
                result = armb.jog(arm, joint)
            finally:
                arm.close()
            if result.stopped:
                print(f"jog stopped: the arm reported {result.stopped.name}")
                return 1
            print(f"jog done: tracking error max {np.degrees(result.max_error):.3f} deg")
    print("next:")
    for s in armb.next_steps(state):
        print(f"  - {s}")
    return 0


def _camera_device(cfg):
    from hardware_drivers.devices import CAMERA_DRIVERS

    hw = cfg.hardware
    if hw.camera.driver == "none":
        raise ValueError("set hardware.camera.driver (realsense, or scene for a dry run)")
    return CAMERA_DRIVERS.create(hw.camera.driver, hw).connect()


def _camera(args, cfg) -> int:
    from robot_us.bringup import calibration

    cam = _camera_device(cfg)
    try:
        out = calibration.camera_intrinsics(
            cam, cfg.perception.charuco, args.out, args.views, input, args.config
        )
    finally:
        cam.close()
    print(f"next: robot-us bringup handeye --out {args.out} --intrinsics {out}")
    return 0


def _handeye(args, cfg) -> int:
    from hardware_drivers.devices import ARM_DRIVERS
    from robot_us.bringup import calibration
    from robot_us.core.kinematics import ArmKinematics

    hw = cfg.hardware
    if hw.arm.driver == "none":
        raise ValueError("set hardware.arm.driver and hardware.arm.host")
    kin = ArmKinematics(cfg.robot.model)  # no tool: kin.fk is T_base_flange
    cam = _camera_device(cfg)
    arm = ARM_DRIVERS.create(hw.arm.driver, hw)
    try:
        arm.connect(control=False)
        print("move the arm by hand (freedrive / guiding) between views; it is read-only")
        out = calibration.hand_eye(
            cam, arm, kin.fk, cfg.perception.charuco, args.out, Path(args.intrinsics),
            args.views, input, args.config, method=args.method,
        )  # fmt: skip
    finally:
        arm.close()
        cam.close()
    print(f"next: map a stroke with --calibration {out}, then robot-us bringup check")
    return 0


def _grabber(args, cfg) -> int:
    from hardware_drivers.video_capture import VideoCaptureSource, parse_uri
    from robot_us.bringup import grabber as grb

    uri = args.device or cfg.ultrasound.uri
    if not uri:
        raise ValueError("give --device (a device index or a video file) or ultrasound.uri")
    g = cfg.hardware.grabber
    src = VideoCaptureSource(parse_uri(uri), request=(g.width, g.height, g.fps))
    try:
        report = grb.measure(src, args.seconds)
    finally:
        src.close()
    print(json.dumps(report) if args.json else grb.format_report(report))
    return 0 if report["frames"] else 1


def _check(args, cfg) -> int:
    from robot_us.bringup import check

    rows = check.run_checks(cfg, args.seconds)
    print(check.format_table(rows))
    failed = [r for r in rows if r.result == check.FAIL]
    if failed:
        print(
            f"{len(failed)} check(s) failed: {', '.join(r.device for r in failed)}", file=sys.stderr
        )
        return 1
    return 0
