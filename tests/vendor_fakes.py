"""Fakes at the vendor API boundary: stand-ins for the ``rtde_control`` / ``rtde_receive``
modules of ur-rtde, for ``pylibfranka`` and for ``pyrealsense2``, with the names and call
signatures the drivers use (checked against ur-rtde 1.6.5, pylibfranka 0.21.3 and
pyrealsense2 2.59). They are installed into ``sys.modules`` so the drivers' lazy imports
find them; the real SDKs are not needed. They check what a driver must get right at that
boundary (arguments, call order) and let a test put the robot into stop states."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


# -- ur-rtde ---------------------------------------------------------------------------
@dataclass
class FakeUrRobot:
    """The controller both RTDE interfaces talk to."""

    q: list = field(default_factory=lambda: [0.1, -1.5, 1.4, -1.5, -1.6, 0.2])
    qd: list = field(default_factory=lambda: [0.0] * 6)
    moment: list = field(default_factory=lambda: [1.0, 2.0, 3.0, 0.1, 0.2, 0.3])
    timestamp: float = 12.5
    emergency: bool = False
    protective: bool = False
    safety_bits: int = 1  # normal mode
    program_running: bool = True
    connected: bool = True
    refuse_connect: bool = False
    calls: list = field(default_factory=list)
    watchdog_hz: float | None = None
    frequencies: list = field(default_factory=list)


def install_fake_ur(monkeypatch, robot: FakeUrRobot) -> None:
    """Make ``import rtde_control, rtde_receive`` give fakes bound to ``robot``."""

    class RTDEReceiveInterface:
        def __init__(self, hostname: str, frequency: float = -1.0, *a, **k) -> None:
            if robot.refuse_connect:
                raise RuntimeError(f"Failed to connect to {hostname}:30004")
            robot.frequencies.append(("receive", frequency))

        def getActualQ(self):
            return list(robot.q)

        def getActualQd(self):
            return list(robot.qd)

        def getTargetMoment(self):
            return list(robot.moment)

        def getTimestamp(self):
            return robot.timestamp

        def isEmergencyStopped(self):
            return robot.emergency

        def isProtectiveStopped(self):
            return robot.protective

        def getSafetyStatusBits(self):
            return robot.safety_bits

        def getRobotMode(self):
            return 7  # running

        def getSafetyMode(self):
            return 3 if robot.protective else 1

        def disconnect(self):
            robot.calls.append(("receive.disconnect",))

    class RTDEControlInterface:
        def __init__(self, hostname: str, frequency: float = -1.0, *a, **k) -> None:
            if robot.refuse_connect:
                raise RuntimeError(f"Failed to connect to {hostname}:30004")
            robot.frequencies.append(("control", frequency))

        def setWatchdog(self, min_frequency: float = 10.0) -> bool:
            robot.watchdog_hz = min_frequency
            return True

        def speedJ(self, qd: list, acceleration: float = 0.5, time: float = 0.0) -> bool:
            assert isinstance(qd, list) and len(qd) == 6
            robot.calls.append(("speedJ", list(qd), acceleration, time))
            return True

        def servoJ(self, q, speed, acceleration, time, lookahead_time, gain) -> bool:
            assert isinstance(q, list) and len(q) == 6
            assert 0.03 <= lookahead_time <= 0.2 and 100 <= gain <= 2000
            robot.calls.append(("servoJ", list(q), time, lookahead_time, gain))
            return True

        def speedStop(self, a: float = 10.0) -> bool:
            robot.calls.append(("speedStop", a))
            return True

        def servoStop(self, a: float = 10.0) -> bool:
            robot.calls.append(("servoStop", a))
            return True

        def isConnected(self) -> bool:
            return robot.connected

        def isProgramRunning(self) -> bool:
            return robot.program_running

        def stopScript(self) -> None:
            robot.calls.append(("stopScript",))

        def disconnect(self) -> None:
            robot.calls.append(("control.disconnect",))

    recv = types.ModuleType("rtde_receive")
    recv.RTDEReceiveInterface = RTDEReceiveInterface
    ctl = types.ModuleType("rtde_control")
    ctl.RTDEControlInterface = RTDEControlInterface
    monkeypatch.setitem(sys.modules, "rtde_receive", recv)
    monkeypatch.setitem(sys.modules, "rtde_control", ctl)


# -- pylibfranka -----------------------------------------------------------------------
class RobotMode(Enum):
    Other = 0
    Idle = 1
    Move = 2
    Guiding = 3
    Reflex = 4
    UserStopped = 5
    AutomaticErrorRecovery = 6


class FrankaException(Exception):  # noqa: N818 - the SDK's name
    pass


class ControlException(FrankaException):
    pass


@dataclass
class FakeFrankaRobot:
    """The robot behind the fake pylibfranka."""

    q: np.ndarray = field(default_factory=lambda: np.array([0, -0.6, 0, -2.4, 0, 1.75, -0.8]))
    dq: np.ndarray = field(default_factory=lambda: np.zeros(7))
    tau: np.ndarray = field(default_factory=lambda: np.arange(7.0))
    mode: RobotMode = RobotMode.Move
    t: float = 0.0
    fail_read: bool = False
    refuse_connect: bool = False
    realtime: object = None
    collision: tuple | None = None
    controller_mode: object = None
    writes: list = field(default_factory=list)
    reads: int = 0
    stopped: bool = False


def install_fake_franka(monkeypatch, robot: FakeFrankaRobot) -> None:
    """Make ``import pylibfranka`` give a fake bound to ``robot``."""
    fr = types.ModuleType("pylibfranka")

    class RealtimeConfig(Enum):
        kEnforce = 0  # noqa: N815 - the SDK's names
        kIgnore = 1  # noqa: N815

    class ControllerMode(Enum):
        JointImpedance = 0
        CartesianImpedance = 1

    class Duration:
        def __init__(self, s: float) -> None:
            self._s = s

        def to_sec(self) -> float:
            return self._s

    class RobotState:
        def __init__(self) -> None:
            self.q = list(robot.q)
            self.dq = list(robot.dq)
            self.tau_J = list(robot.tau)
            self.robot_mode = robot.mode
            self.time = Duration(robot.t)

    class JointVelocities:
        def __init__(self, dq) -> None:
            assert len(dq) == 7
            self.dq = list(dq)
            self.motion_finished = False

    class ActiveControl:
        def __init__(self) -> None:
            self._expect_write = False

        def readOnce(self):
            if self._expect_write:
                raise ControlException("readOnce called twice without writeOnce")
            if robot.fail_read:
                raise ControlException("communication_constraints_violation")
            robot.reads += 1
            robot.t += 0.001
            self._expect_write = True
            return RobotState(), Duration(0.001)

        def writeOnce(self, cmd) -> None:
            if not self._expect_write:
                raise ControlException("writeOnce without a preceding readOnce")
            self._expect_write = False
            robot.writes.append((list(cmd.dq), cmd.motion_finished))

    class Robot:
        def __init__(self, ip: str, realtime_config=RealtimeConfig.kEnforce) -> None:
            if robot.refuse_connect:
                raise FrankaException(f"Connection to FCI at {ip} failed")
            robot.realtime = realtime_config

        def set_collision_behavior(self, lt, ut, lf, uf) -> None:
            assert len(lt) == len(ut) == 7 and len(lf) == len(uf) == 6
            robot.collision = (list(lt), list(ut), list(lf), list(uf))

        def read_once(self):
            robot.reads += 1
            return RobotState()

        def start_joint_velocity_control(self, mode):
            robot.controller_mode = mode
            return ActiveControl()

        def stop(self) -> None:
            robot.stopped = True

    for name, obj in {
        "RealtimeConfig": RealtimeConfig,
        "ControllerMode": ControllerMode,
        "RobotMode": RobotMode,
        "FrankaException": FrankaException,
        "ControlException": ControlException,
        "JointVelocities": JointVelocities,
        "Robot": Robot,
        "Duration": Duration,
    }.items():
        setattr(fr, name, obj)
    monkeypatch.setitem(sys.modules, "pylibfranka", fr)


# -- pyrealsense2 ----------------------------------------------------------------------
@dataclass
class FakeRealSense:
    """One camera: what its frames hold and what the driver asked for."""

    width: int = 64
    height: int = 48
    depth_scale: float = 0.001
    depth_raw: int = 750  # every pixel, in device units
    streams: list = field(default_factory=list)
    device: str | None = None
    aligned_to: object = None
    aligned: int = 0
    no_device: bool = False
    stopped: bool = False


def install_fake_realsense(monkeypatch, cam: FakeRealSense) -> None:
    """Make ``import pyrealsense2`` give a fake bound to ``cam``."""
    rs = types.ModuleType("pyrealsense2")
    rs.stream = types.SimpleNamespace(depth="depth", color="color")
    rs.format = types.SimpleNamespace(z16="z16", rgb8="rgb8")

    class config:  # noqa: N801 - the SDK's spelling
        def enable_device(self, serial: str) -> None:
            cam.device = serial

        def enable_stream(self, stream, w, h, fmt, fps) -> None:
            cam.streams.append((stream, w, h, fmt, fps))

    class _Frame:
        def __init__(self, data) -> None:
            self._data = data

        def get_data(self):
            return self._data

        def __bool__(self) -> bool:
            return True

    class _Frames:
        def get_timestamp(self) -> float:
            return 1234.5  # ms

    class _Aligned:
        def get_depth_frame(self):
            return _Frame(np.full((cam.height, cam.width), cam.depth_raw, np.uint16))

        def get_color_frame(self):
            return _Frame(np.full((cam.height, cam.width, 3), 100, np.uint8))

    class align:  # noqa: N801
        def __init__(self, to) -> None:
            cam.aligned_to = to

        def process(self, frames):
            cam.aligned += 1
            return _Aligned()

    intr = types.SimpleNamespace(
        width=cam.width, height=cam.height, fx=60.0, fy=61.0, ppx=32.0, ppy=24.0,
        coeffs=[0.01, -0.02, 0.0, 0.0, 0.003],
    )  # fmt: skip

    class _Profile:
        def get_device(self):
            sensor = types.SimpleNamespace(get_depth_scale=lambda: cam.depth_scale)
            return types.SimpleNamespace(first_depth_sensor=lambda: sensor)

        def get_stream(self, stream):
            assert stream == rs.stream.color
            vsp = types.SimpleNamespace(get_intrinsics=lambda: intr)
            return types.SimpleNamespace(as_video_stream_profile=lambda: vsp)

    class pipeline:  # noqa: N801
        def start(self, cfg):
            if cam.no_device:
                raise RuntimeError("No device connected")
            return _Profile()

        def wait_for_frames(self, timeout_ms: int = 5000):
            return _Frames()

        def stop(self) -> None:
            cam.stopped = True

    rs.config, rs.pipeline, rs.align = config, pipeline, align
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
