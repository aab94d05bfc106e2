"""``robot-us bringup``: the F/T step against the emulators (as CI runs it), with faults
injected; the frame grabber on a video file and a fake capture; the arm step and its
guarded jog with the UR fake at the vendor API boundary; the camera and hand-eye steps
on rendered ChArUco views; the check table over a configuration of emulated and fake
devices. Nothing asserts on wall-clock speed."""

from __future__ import annotations

import json
import sys
import types

import cv2
import numpy as np
import pytest

from hardware_drivers.config import UrConfig
from hardware_drivers.robotiq_emulator import Ft300Emulator
from hardware_drivers.ur_rtde_arm import UrRtdeArm
from hardware_drivers.video_capture import VideoCaptureSource
from perception.charuco import CharucoConfig
from robot_us.bringup import arm as armb
from robot_us.bringup import calibration
from robot_us.bringup.ft import EMULATED_BIAS
from robot_us.cli import main
from robot_us.core.backends import ArmBackend, RgbdCamera
from robot_us.core.types import CameraIntrinsics, RgbdFrame
from robot_us.perception_files import load_calibration, save_scene
from tests.calibration_scene import X_TRUE, Y_TRUE, K, pose_error, random_board_poses, render_board
from tests.vendor_fakes import (
    FakeFrankaRobot,
    FakeUrRobot,
    install_fake_franka,
    install_fake_ur,
)

WRENCH = np.array([2.0, -1.0, -8.0, 0.25, 0.0, -0.125])
SPEC = CharucoConfig()


def run_json(capsys, args):
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


# -- F/T ---------------------------------------------------------------------------------
def test_ft_bringup_against_the_ft300_emulator(capsys):
    with Ft300Emulator(lambda: WRENCH) as emu:
        r = run_json(
            capsys,
            ["bringup", "ft", "--driver", "robotiq-ft300", "--port", emu.port, "--seconds", "1",
             "--json"],
        )  # fmt: skip
    assert {"rate_hz", "mean", "std", "crc_errors", "samples"} <= set(r)
    assert r["samples"] > 20 and 50.0 < r["rate_hz"] < 150.0  # the sensor's 100 Hz
    np.testing.assert_allclose(r["mean"], WRENCH, atol=1e-9)
    np.testing.assert_allclose(r["std"], 0.0, atol=1e-9)
    assert r["crc_errors"] == 0 and r["info"]["firmware"] == "FTS-3.0.4"


def test_ft_bringup_text_output_names_what_to_check_next(capsys):
    with Ft300Emulator(lambda: WRENCH) as emu:
        code = main(["bringup", "ft", "--driver", "robotiq-ft300", "--port", emu.port,
                     "--seconds", "0.5"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "bias (mean)" in out and "noise (std)" in out
    assert "latency_timer" in out and "next:" in out and "wrench_timeout" in out


def test_ft_bringup_counts_injected_corruption(capsys):
    r = run_json(
        capsys,
        ["bringup", "ft", "--driver", "robotiq-ft300", "--emulate", "--seconds", "1.5",
         "--inject", "corrupt=4,drop=2", "--json"],
    )  # fmt: skip
    assert r["crc_errors"] >= 1 and r["discarded_bytes"] >= 4
    np.testing.assert_allclose(r["mean"], EMULATED_BIAS, atol=0.05)
    assert r["info"]["injected"] == "corrupt=4,drop=2"


def test_ft_bringup_against_the_netft_emulator_with_lost_packets(capsys):
    r = run_json(
        capsys,
        ["bringup", "ft", "--driver", "ati-netft", "--emulate", "--seconds", "1",
         "--inject", "drop=5,status=2", "--json"],
    )  # fmt: skip
    assert r["sequence_gaps"] >= 5 and r["status_errors"] == 2 and r["crc_errors"] == 0
    np.testing.assert_allclose(r["mean"], EMULATED_BIAS, atol=0.05)


def test_ft_bringup_without_a_device_exits_1_with_one_line(tmp_path, capsys):
    port = str(tmp_path / "ttyUSB7")
    code = main(["bringup", "ft", "--driver", "robotiq-ft300", "--port", port, "--seconds", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[0].startswith("robot-us bringup ft: error: Robotiq FT 300 on ")
    assert "cannot open the port" in err[0] and err[1].startswith("next: ")


def test_ft_bringup_rejects_unknown_faults(capsys):
    code = main(["bringup", "ft", "--driver", "ati-netft", "--emulate", "--inject", "melt=1"])
    assert code == 2 and "unknown fault 'melt'" in capsys.readouterr().err  # bad input


# -- frame grabber ------------------------------------------------------------------------
def write_video(path, n=12, fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (48, 32))
    for i in range(n):
        writer.write(np.full((32, 48, 3), 60 + 5 * i, np.uint8))
    writer.release()


def test_grabber_bringup_on_a_video_file(tmp_path, capsys):
    path = tmp_path / "us.avi"
    write_video(path)
    r = run_json(capsys, ["bringup", "grabber", "--device", str(path), "--json"])
    assert r["frames"] == 12 and (r["width"], r["height"]) == (48, 32)
    assert r["rate_hz"] == pytest.approx(10.0, rel=0.01) and r["dropped"] == 0


class FakeCapture:
    """cv2.VideoCapture at the OpenCV boundary: 30 Hz device, frames on demand."""

    def __init__(self, uri) -> None:
        self.set_calls = []

    def isOpened(self):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value):
        self.set_calls.append((prop, value))
        return True

    def read(self):
        return True, np.full((24, 32, 3), 90, np.uint8)

    def release(self):
        pass


def test_grabber_counts_dropped_frames_from_the_frame_times():
    times = iter([0.0, 1 / 30, 2 / 30, 5 / 30, 6 / 30])  # frames 3 and 4 never came
    src = VideoCaptureSource(
        2, clock=lambda: next(times), request=(1920, 1080, 30.0), capture_factory=FakeCapture
    )
    for _ in range(5):
        src.grab()
    assert src.stats.frames == 5 and src.stats.dropped == 2
    assert src.stats.rate_hz == pytest.approx(4 / (6 / 30))
    assert (cv2.CAP_PROP_FRAME_WIDTH, 1920) in src._cap.set_calls


def test_grabber_bringup_without_a_device_fails_clearly(tmp_path, capsys):
    code = main(["bringup", "grabber", "--device", str(tmp_path / "none.avi")])
    assert code == 2 and "video file not found" in capsys.readouterr().err  # bad input


# -- arm -------------------------------------------------------------------------------
def test_arm_bringup_reads_the_state_read_only(monkeypatch, capsys):
    robot = FakeUrRobot()
    install_fake_ur(monkeypatch, robot)
    assert main(["bringup", "arm", "--backend", "ur", "--host", "10.0.0.5"]) == 0
    out = capsys.readouterr().out
    assert "ur arm at 10.0.0.5: 6 joints, native 500 Hz" in out and "stop  NONE" in out
    assert robot.frequencies == [("receive", 500.0)]  # no control interface, no script
    assert not [c for c in robot.calls if c[0] in ("speedJ", "servoJ")]


def test_arm_jog_needs_the_typed_confirmation(monkeypatch, capsys):
    robot = FakeUrRobot()
    install_fake_ur(monkeypatch, robot)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main(["bringup", "arm", "--backend", "ur", "--host", "h", "--jog"]) == 0
    assert "jog skipped: nothing moved" in capsys.readouterr().out
    assert not [c for c in robot.calls if c[0] == "speedJ"]


def test_arm_jog_moves_one_joint_out_and_back_within_the_reduced_limits(monkeypatch, capsys):
    robot = FakeUrRobot()
    install_fake_ur(monkeypatch, robot)
    monkeypatch.setattr("builtins.input", lambda prompt: "JOG")
    monkeypatch.setattr(armb, "JOG_ANGLE", 0.005)  # a short test run; same profile
    assert main(["bringup", "arm", "--backend", "ur", "--host", "h", "--jog", "--joint", "6"]) == 0
    assert "jog done" in capsys.readouterr().out
    v = np.array([c[1] for c in robot.calls if c[0] == "speedJ"])
    assert len(v) > 20 and np.all(v[:, :5] == 0.0)
    assert np.abs(v[:, 5]).max() <= armb.JOG_SPEED + 1e-12
    assert v[:, 5].max() > 0.5 * armb.JOG_SPEED and v[:, 5].min() < -0.5 * armb.JOG_SPEED
    moving = v[v[:, 5] != 0.0, 5]
    assert moving[0] > 0.0 and moving[-1] < 0.0  # out first, then back
    assert ("speedStop", 4.0) in robot.calls


def test_jog_profile_goes_out_by_the_angle_and_comes_back_within_the_limits():
    duration, v = armb.jog_profile(0.05, 0.05)
    t = np.linspace(0.0, duration, 200_001)
    speeds = np.array([v(x) for x in t])
    dt = t[1] - t[0]
    half = len(t) // 2
    assert np.abs(speeds).max() == pytest.approx(0.05, rel=1e-6)
    assert speeds[:half].sum() * dt == pytest.approx(0.05, rel=1e-3)  # out by the angle
    assert abs(speeds.sum() * dt) < 1e-6  # and back
    assert abs(np.diff(speeds) / dt).max() < 0.05 * np.pi / (duration / 2) * 1.01  # accel
    assert v(0.0) == 0.0 and v(duration) == 0.0


def test_arm_jog_stops_when_the_robot_stops(monkeypatch):
    robot = FakeUrRobot()
    install_fake_ur(monkeypatch, robot)
    arm = UrRtdeArm("h", UrConfig()).connect()
    cycle = armb.JogCycle(arm, 5, 0.002)

    class Clock:
        t = 0.0

    clock = Clock()
    assert cycle(clock)
    robot.protective = True
    clock.t = 0.002
    assert not cycle(clock)
    assert cycle.stopped is armb.ArmStop.PROTECTIVE


def test_arm_bringup_with_a_refused_connection_exits_1(monkeypatch, capsys):
    robot = FakeFrankaRobot(refuse_connect=True)
    install_fake_franka(monkeypatch, robot)
    assert main(["bringup", "arm", "--backend", "franka", "--host", "172.16.0.2"]) == 1
    err = capsys.readouterr().err
    assert "robot-us bringup arm: error: Franka at 172.16.0.2: FCI did not start" in err


# -- camera and hand-eye --------------------------------------------------------------------
class RenderedCamera(RgbdCamera):
    """Renders the ChArUco board at ``pose()`` (T_camera_board) on every capture."""

    def __init__(self, pose) -> None:
        self.intrinsics = CameraIntrinsics(640, 480, K)
        self.pose = pose
        self.n = 0

    def capture(self) -> RgbdFrame:
        grey = render_board(SPEC, K, np.zeros(5), self.pose(), seed=self.n)
        self.n += 1
        rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
        return RgbdFrame(0.0, rgb, np.ones((480, 640), np.float32), self.intrinsics)


class IndexedArm(ArmBackend):
    """An arm whose joint 1 holds the index of the pose it is in (for the fake FK)."""

    n_joints = 7
    rate_hz = 1000.0

    def __init__(self) -> None:
        self.i = 0

    def read(self, out) -> None:
        out.q[:] = 0.0
        out.q[0] = self.i

    def command_velocity(self, qd) -> None:
        raise AssertionError("hand-eye collection must not command the arm")

    def stop(self) -> None:
        pass


@pytest.mark.slow
def test_camera_then_handeye_bringup_write_the_calibration_the_stack_reads(tmp_path):
    rng = np.random.default_rng(3)
    intr = random_board_poses(rng, 8, SPEC, max_tilt_deg=45)
    intr[:, 2, 3] -= 0.2
    views = iter(intr)
    cam = RenderedCamera(lambda: next(views))
    answers = iter(["", "", "", "", "", "", "", "", "q"])
    out = calibration.camera_intrinsics(
        cam, SPEC, tmp_path, 20, lambda p: next(answers), [], log=lambda s: None
    )
    calib = load_calibration(out)
    assert abs(calib.intrinsics.K[0, 0] - 600.0) < 5.0 and calib.T_base_camera is None
    assert len(list(tmp_path.glob("intr_*.png"))) == 8

    B = random_board_poses(rng, 10, SPEC)  # T_camera_board at each robot pose
    A = [X_TRUE @ b @ np.linalg.inv(Y_TRUE) for b in B]  # T_base_flange
    arm = IndexedArm()
    cam = RenderedCamera(lambda: B[arm.i])

    def prompt(_):
        prompt.k += 1
        arm.i = prompt.k - 1
        return "" if prompt.k <= len(B) else "q"

    prompt.k = 0
    he_dir = tmp_path / "he"
    out = calibration.hand_eye(
        cam, arm, lambda q: A[int(q[0])], SPEC, he_dir, out, 20, prompt, [], log=lambda s: None
    )
    calib = load_calibration(out)
    mm, deg = pose_error(calib.T_base_camera, X_TRUE)
    assert mm < 2.0 and deg < 0.3, (mm, deg)
    data = json.loads((he_dir / "hand_eye.json").read_text())
    assert len(data["poses"]) == 10 and data["poses"][3]["image"] == "he_003.png"


def test_camera_bringup_refuses_too_few_views(tmp_path):
    cam = RenderedCamera(lambda: random_board_poses(np.random.default_rng(0), 1, SPEC)[0])
    answers = iter(["", "q"])
    with pytest.raises(ValueError, match="only 1 usable views"):
        calibration.camera_intrinsics(cam, SPEC, tmp_path, 10, lambda p: next(answers), [],
                                      log=lambda s: None)  # fmt: skip


# -- check ---------------------------------------------------------------------------------
@pytest.fixture
def hw_files(tmp_path):
    scene = tmp_path / "scene.npz"
    depth = np.full((48, 64), 0.8, np.float32)
    save_scene(scene, RgbdFrame(0.0, np.zeros((48, 64, 3), np.uint8), depth,
                                CameraIntrinsics(64, 48, K)))  # fmt: skip
    video = tmp_path / "us.avi"
    write_video(video, n=30, fps=30.0)
    return scene, video


def hw_toml(path, port, scene, video):
    path.write_text(
        "[cell]\nbackend = 'hardware'\n[loop]\nrate_hz = 1000.0\n"
        "[safety]\nwrench_timeout = 0.04\n"
        "[hardware.arm]\ndriver = 'franka'\nhost = '172.16.0.2'\n"
        f"[hardware.ft]\ndriver = 'robotiq-ft300'\nport = '{port}'\n"
        f"[hardware.camera]\ndriver = 'scene'\nscene = '{scene}'\n"
        f"[ultrasound]\nsource = 'video'\nuri = '{video}'\n"
    )
    return path


def test_check_runs_every_device_and_passes(monkeypatch, tmp_path, hw_files, capsys):
    robot = FakeFrankaRobot()
    install_fake_franka(monkeypatch, robot)
    with Ft300Emulator(lambda: WRENCH) as emu:
        toml = hw_toml(tmp_path / "hw.toml", emu.port, *hw_files)
        code = main(["bringup", "check", "--config", str(toml), "--seconds", "1"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"config", "arm", "F/T", "camera", "grabber"}
    assert all(" PASS " in line for line in rows.values()), out
    assert robot.controller_mode is None  # the check never takes control of the arm


def test_check_reports_a_device_that_does_not_answer(monkeypatch, tmp_path, hw_files, capsys):
    install_fake_franka(monkeypatch, FakeFrankaRobot())
    toml = hw_toml(tmp_path / "hw.toml", str(tmp_path / "ttyUSB3"), *hw_files)
    code = main(["bringup", "check", "--config", str(toml), "--seconds", "0.2"])
    out, err = capsys.readouterr()
    assert code == 1 and "1 check(s) failed: F/T" in err
    ft_row = next(line for line in out.splitlines() if line.startswith("F/T"))
    assert " FAIL " in ft_row and "cannot open the port" in ft_row


def test_a_missing_vendor_sdk_is_one_line_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rtde_receive", None)  # ur-rtde not installed
    assert main(["bringup", "arm", "--backend", "ur", "--host", "h"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "needs the 'ur-rtde' package" in err[0] and "robot-us[hardware]" in err[0]


def test_any_command_reports_a_device_failure_as_one_line_exit_1(monkeypatch, capsys):
    """A BackendError outside the bring-up (e.g. the hardware cell in another command) is a
    failed run (exit 1), not a bug (exit 70)."""
    from robot_us import cli
    from robot_us.core.backends import BackendError

    mod = types.ModuleType("robot_us_test_device_command")
    mod.HELP = "raise a device failure"
    mod.add_arguments = lambda p: None

    def run(args):
        raise BackendError("UR at 10.0.0.1: RTDE did not connect")

    mod.run = run
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(cli.COMMANDS, "device-test", mod.__name__)
    assert main(["device-test"]) == 1
    err = capsys.readouterr().err
    assert err == "robot-us device-test: error: UR at 10.0.0.1: RTDE did not connect\n"
