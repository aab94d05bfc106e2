"""The UR (ur-rtde) and Franka (pylibfranka) arm adapters and the RealSense camera, tested
with fakes at the vendor API boundary (tests/vendor_fakes.py: no robot, no SDK needed);
the hardware cell composed from them and the FT 300 emulator, run through the control
cycle: a protective stop on the robot latches ARM_STOPPED in that cycle."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hardware_drivers.config import FrankaConfig, UrConfig
from hardware_drivers.franka_arm import FrankaArm
from hardware_drivers.optional_sdk import MissingSdkError
from hardware_drivers.realsense_camera import RealSenseCamera
from hardware_drivers.robotiq_emulator import Ft300Emulator
from hardware_drivers.ur_rtde_arm import SAFEGUARD_STOP_BIT, UrRtdeArm
from robot_us.config import load_config
from robot_us.control_cycle import ControlCycle
from robot_us.core.backends import CELLS, BackendError
from robot_us.core.config_schema import ConfigError
from robot_us.core.types import ArmState, ArmStop
from robot_us.loop import LoopClock
from robot_us.safety import FaultCode, Reaction
from tests.vendor_fakes import (
    FakeFrankaRobot,
    FakeRealSense,
    FakeUrRobot,
    RobotMode,
    install_fake_franka,
    install_fake_realsense,
    install_fake_ur,
)


# -- UR ------------------------------------------------------------------------------------
@pytest.fixture
def ur(monkeypatch):
    robot = FakeUrRobot()
    install_fake_ur(monkeypatch, robot)
    return robot


def test_ur_connects_at_500_hz_and_arms_the_watchdog(ur):
    arm = UrRtdeArm("10.0.0.2", UrConfig(watchdog_hz=40.0)).connect()
    assert ur.frequencies == [("receive", 500.0), ("control", 500.0)]
    assert ur.watchdog_hz == 40.0 and arm.rate_hz == 500.0 and arm.n_joints == 6


def test_ur_read_fills_the_state(ur):
    arm = UrRtdeArm("h", UrConfig()).connect()
    s = ArmState(6)
    ur.qd = [0.1] * 6
    arm.read(s)
    np.testing.assert_allclose(s.q, ur.q)
    np.testing.assert_allclose(s.qd, 0.1)
    np.testing.assert_allclose(s.tau, ur.moment)
    assert s.t == 12.5 and s.stop == ArmStop.NONE


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"emergency": True}, ArmStop.EMERGENCY),
        ({"protective": True}, ArmStop.PROTECTIVE),
        ({"safety_bits": SAFEGUARD_STOP_BIT}, ArmStop.PROTECTIVE),
        ({"program_running": False}, ArmStop.LINK_LOST),
        ({"connected": False}, ArmStop.LINK_LOST),
    ],
)
def test_ur_stop_states_map_to_arm_stop_and_block_commands(ur, fault, expected):
    arm = UrRtdeArm("h", UrConfig()).connect()
    s = ArmState(6)
    for k, v in fault.items():
        setattr(ur, k, v)
    arm.read(s)
    assert s.stop == expected
    arm.command_velocity(np.full(6, 0.1))
    assert not [c for c in ur.calls if c[0] == "speedJ"]  # nothing sent while stopped


def test_ur_speedj_sends_the_velocity_with_the_configured_acceleration(ur):
    arm = UrRtdeArm("h", UrConfig(acceleration=2.5)).connect()
    arm.read(ArmState(6))
    qd = np.array([0.1, -0.2, 0.3, 0.0, 0.05, -0.05])
    arm.command_velocity(qd)
    (call,) = [c for c in ur.calls if c[0] == "speedJ"]
    assert call[1] == pytest.approx(qd.tolist()) and call[2] == 2.5 and call[3] == 0.002


def test_ur_servoj_integrates_the_velocity_from_the_measured_pose(ur):
    arm = UrRtdeArm("h", UrConfig(command="servoj", lookahead=0.05, gain=500)).connect()
    assert arm.supports_position
    arm.read(ArmState(6))
    qd = np.full(6, 0.5)
    for _ in range(4):
        arm.command_velocity(qd)
    calls = [c for c in ur.calls if c[0] == "servoJ"]
    assert len(calls) == 4
    np.testing.assert_allclose(calls[-1][1], np.array(ur.q) + 4 * 0.5 * 0.002)
    assert calls[-1][2:] == (0.002, 0.05, 500)


def test_ur_close_stops_the_script_and_disconnects(ur):
    arm = UrRtdeArm("h", UrConfig()).connect()
    arm.close()
    names = [c[0] for c in ur.calls]
    assert names == ["speedStop", "stopScript", "control.disconnect", "receive.disconnect"]


def test_ur_connection_failure_is_one_clear_line(ur):
    ur.refuse_connect = True
    with pytest.raises(BackendError, match=r"UR at 10.0.0.9: RTDE did not connect .*Remote"):
        UrRtdeArm("10.0.0.9", UrConfig()).connect()


def test_missing_sdk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "rtde_receive", None)  # import fails
    with pytest.raises(MissingSdkError, match=r"needs the 'ur-rtde' .*robot-us\[hardware\]"):
        UrRtdeArm("h", UrConfig()).connect()
    monkeypatch.setitem(sys.modules, "pylibfranka", None)
    with pytest.raises(MissingSdkError, match=r"'pylibfranka'"):
        FrankaArm("h", FrankaConfig()).connect()


def test_arm_drivers_need_a_host():
    with pytest.raises(BackendError, match=r"hardware\.arm\.host"):
        UrRtdeArm("", UrConfig())


# -- Franka ----------------------------------------------------------------------------
@pytest.fixture
def franka(monkeypatch):
    robot = FakeFrankaRobot()
    install_fake_franka(monkeypatch, robot)
    return robot


def test_franka_connect_sets_reflexes_and_joint_velocity_control(franka):
    arm = FrankaArm("172.16.0.2", FrankaConfig(realtime=False, collision_force=22.0)).connect()
    assert franka.realtime.name == "kIgnore" and franka.controller_mode.name == "JointImpedance"
    lt, ut, lf, _ = franka.collision
    assert lf[:3] == [22.0] * 3 and all(u > lo for u, lo in zip(ut, lt, strict=True))
    assert arm.rate_hz == 1000.0 and arm.n_joints == 7


def test_franka_reads_and_answers_every_packet(franka):
    arm = FrankaArm("h", FrankaConfig()).connect()
    s = ArmState(7)
    for k in range(3):
        arm.read(s)
        arm.command_velocity(np.full(7, 0.01 * k))
    np.testing.assert_allclose(s.q, franka.q)
    assert s.t == pytest.approx(0.003) and franka.reads == 3
    assert [w[0][0] for w in franka.writes] == pytest.approx([0.0, 0.01, 0.02])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(RobotMode.Reflex, ArmStop.REFLEX), (RobotMode.UserStopped, ArmStop.EMERGENCY)],
)
def test_franka_reflex_and_user_stop_send_zero_velocity(franka, mode, expected):
    arm = FrankaArm("h", FrankaConfig()).connect()
    s = ArmState(7)
    franka.mode = mode
    arm.read(s)
    arm.command_velocity(np.full(7, 0.3))
    assert s.stop == expected and franka.writes[-1] == ([0.0] * 7, False)


def test_franka_lost_link_is_reported_and_the_driver_stops_talking(franka):
    arm = FrankaArm("h", FrankaConfig()).connect()
    s = ArmState(7)
    arm.read(s)
    arm.command_velocity(np.zeros(7))
    franka.fail_read = True
    arm.read(s)
    assert s.stop == ArmStop.LINK_LOST and "communication" in str(arm.error)
    arm.command_velocity(np.ones(7))
    assert len(franka.writes) == 1


def test_franka_stop_finishes_the_motion(franka):
    arm = FrankaArm("h", FrankaConfig()).connect()
    arm.read(ArmState(7))
    arm.stop()
    assert franka.writes[-1] == ([0.0] * 7, True) and franka.stopped


def test_franka_connection_failure_is_one_clear_line(franka):
    franka.refuse_connect = True
    with pytest.raises(BackendError, match=r"Franka at h: FCI did not start .*Desk"):
        FrankaArm("h", FrankaConfig()).connect()


# -- RealSense -------------------------------------------------------------------------
def test_realsense_aligns_depth_to_colour_and_scales_to_metres(monkeypatch):
    cam = FakeRealSense()
    install_fake_realsense(monkeypatch, cam)
    rs = RealSenseCamera("123", 64, 48, 15).connect()
    assert cam.device == "123" and ("depth", 64, 48, "z16", 15) in cam.streams
    assert cam.aligned_to == "color"
    f = rs.capture()
    assert cam.aligned == 1 and f.depth.dtype == np.float32
    np.testing.assert_allclose(f.depth, 0.75)
    assert f.rgb.shape == (48, 64, 3) and f.t == pytest.approx(1.2345)
    K = f.intrinsics.K
    assert (K[0, 0], K[1, 1], K[0, 2], K[1, 2]) == (60.0, 61.0, 32.0, 24.0)
    rs.close()
    assert cam.stopped


def test_realsense_without_a_camera_is_one_clear_line(monkeypatch):
    cam = FakeRealSense(no_device=True)
    install_fake_realsense(monkeypatch, cam)
    with pytest.raises(BackendError, match=r"RealSense .* the streams did not start"):
        RealSenseCamera("", 640, 480, 30).connect()


# -- the hardware cell -------------------------------------------------------------------
@pytest.fixture
def frames_npz(tmp_path):
    path = tmp_path / "frames.npz"
    np.savez(path, frames=np.zeros((3, 8, 8), np.uint8))
    return path


def hardware_config(port, frames, **over):
    values = {
        "cell.backend": "hardware",
        "loop.rate_hz": 1000.0,
        "safety.wrench_timeout": 0.04,
        "hardware.arm.driver": "franka",
        "hardware.arm.host": "172.16.0.2",
        "hardware.ft.driver": "robotiq-ft300",
        "hardware.ft.port": port,
        "ultrasound.source": "npz",
        "ultrasound.uri": str(frames),
    }
    values.update(over)
    return load_config(overrides=values)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"loop.rate_hz": 500.0}, r"loop.rate_hz = 500 Hz, .* set loop.rate_hz = 1000"),
        ({"safety.wrench_timeout": 0.02}, r"safety.wrench_timeout = 20 ms .*28.3 ms"),
        ({"robot.model": "lbr"}, r"robot.model = 'lbr' is not an arm the 'franka' driver"),
        ({"ultrasound.source": "sim"}, r"ultrasound.source = 'sim' needs the simulated cell"),
        ({"hardware.ft.driver": "none"}, r"needs hardware.ft.driver"),
    ],
)
def test_hardware_cell_refuses_unsafe_configuration(franka, frames_npz, over, message):
    cfg = hardware_config("/dev/null", frames_npz, **over)
    with pytest.raises(ConfigError, match=message):
        CELLS.create("hardware", cfg)
    assert franka.controller_mode is None  # nothing was connected


def test_protective_stop_on_the_robot_latches_arm_stopped_in_that_cycle(franka, frames_npz):
    with Ft300Emulator(lambda: np.array([0.0, 0.0, 2.0, 0.0, 0.0, 0.0])) as emu:
        # a generous wrench timeout: a pseudo-terminal stalled by a loaded test machine
        # must not latch a stale-wrench fault before the arm's own stop under test
        cfg = hardware_config(emu.port, frames_npz, **{"safety.wrench_timeout": 1.0})
        cell = CELLS.create("hardware", cfg)
        try:
            assert cell.name == "hardware" and cell.step_plant is None
            cycle = ControlCycle(cfg, cell)
            clock = LoopClock(period_s=1e-3)
            for k in range(5):
                clock.k = k
                cycle(clock)
            assert not cycle.supervisor.faulted
            franka.mode = RobotMode.Reflex
            clock.k = 5
            cycle(clock)
            f = cycle.supervisor.latch.cause
            assert f.code is FaultCode.ARM_STOPPED and f.reaction is Reaction.STOP
            assert f.cycle == 5 and f.value == ArmStop.REFLEX
            assert np.all(cycle.cmd == 0.0) and franka.writes[-1][0] == [0.0] * 7
        finally:
            cell.close()
        assert franka.stopped  # closing the cell stopped the robot


def test_driver_names_in_the_config_match_the_registries():
    from hardware_drivers.config import ARM_DRIVER_NAMES, CAMERA_DRIVER_NAMES, FT_DRIVER_NAMES
    from hardware_drivers.devices import ARM_DRIVERS, CAMERA_DRIVERS, FT_DRIVERS

    assert sorted(ARM_DRIVER_NAMES) == ARM_DRIVERS.names()
    assert sorted(FT_DRIVER_NAMES) == FT_DRIVERS.names()
    assert sorted(CAMERA_DRIVER_NAMES) == CAMERA_DRIVERS.names()


def test_sim_ft_transport_choices_match_the_registry():
    from robot_us.core.config_schema import describe
    from robot_us.sim_ft_transport import FT_TRANSPORTS
    from sim.config import SimConfig

    (row,) = [r for r in describe(SimConfig) if r[0] == "ft_transport"]
    assert all(repr(n) in row[2] for n in FT_TRANSPORTS.names())
    assert row[2].count("'") == 2 * len(FT_TRANSPORTS.names())


def test_franka_read_only_connection_reads_without_taking_control(franka):
    arm = FrankaArm("h", FrankaConfig()).connect(control=False)
    s = ArmState(7)
    arm.read(s)
    arm.read(s)
    assert franka.controller_mode is None and s.stop == ArmStop.NONE
    with pytest.raises(BackendError, match="read-only"):
        arm.command_velocity(np.zeros(7))
