"""Universal Robots e-Series arms through ur-rtde (SDU's RTDE client, the ``hardware``
extra) as an ``ArmBackend``.

``connect()`` opens the receive and control interfaces at RTDE's 500 Hz (the control
interface uploads its URScript; the robot must be in Remote Control mode) and arms the
RTDE watchdog: if commands arrive slower than ``hardware.arm.ur.watchdog_hz`` the robot
program stops the arm. Every cycle ``read`` takes the joint state and maps the robot's
safety state to ``ArmState.stop``: emergency stop -> EMERGENCY, protective or safeguard
stop -> PROTECTIVE, control link lost or robot program not running (the watchdog fired,
someone pressed stop on the pendant) -> LINK_LOST; the safety supervisor turns any of
them into an ARM_STOPPED fault. ``command_velocity`` sends speedJ (or servoJ targets
integrated from the velocity, ``command = "servoj"``); nothing is sent while the robot is
stopped.

Real-time contract: ``read`` and ``command_*`` are pybind11 calls into ur-rtde (a few
microseconds); converting to and from Python lists allocates a little at this vendor
boundary, which ur-rtde's API requires.
"""

from __future__ import annotations

import numpy as np

from hardware_drivers.config import HardwareConfig, UrConfig
from hardware_drivers.optional_sdk import require
from robot_us.core.backends import ArmBackend, BackendError
from robot_us.core.types import ArmState, ArmStop
from robot_us.core.ur_models import NATIVE_RATE_HZ, UR_MODELS

#: Safety status bit of a safeguard stop (RTDE ``safety_status_bits``, bit 4).
SAFEGUARD_STOP_BIT = 1 << 4


class UrRtdeArm(ArmBackend):
    """A UR e-Series arm at ``host`` (call ``connect()`` first)."""

    n_joints = 6
    rate_hz = NATIVE_RATE_HZ
    #: ``robot.model`` names this driver can drive
    models = tuple(UR_MODELS)

    def __init__(self, host: str, cfg: UrConfig) -> None:
        if not host:
            raise BackendError("the UR arm driver needs hardware.arm.host (the robot's address)")
        self.host = host
        self.cfg = cfg
        self.supports_position = cfg.command == "servoj"
        self.dt = 1.0 / self.rate_hz
        self._ctl = None
        self._recv = None
        self._q_target = np.zeros(6)
        self._dq = np.zeros(6)
        self._servo_started = False
        self.stop_state = ArmStop.NONE

    def connect(self, control: bool = True) -> UrRtdeArm:
        """Open RTDE receive and, with ``control``, RTDE control (which uploads its script)
        with the watchdog armed; read-only otherwise (calibration while hand-guiding).
        ``BackendError`` naming the host and what to check when the robot does not answer."""
        # lazy: ur-rtde is an optional vendor SDK (the hardware extra)
        rtde_receive = require("rtde_receive", "ur-rtde", "the UR arm driver")
        rtde_control = require("rtde_control", "ur-rtde", "the UR arm driver") if control else None
        try:
            self._recv = rtde_receive.RTDEReceiveInterface(self.host, self.rate_hz)
            if rtde_control is not None:
                self._ctl = rtde_control.RTDEControlInterface(self.host, self.rate_hz)
        except RuntimeError as exc:
            raise BackendError(
                f"UR at {self.host}: RTDE did not connect ({exc}); check the network, that "
                "the robot is powered on, brakes released and in Remote Control mode"
            ) from exc
        if self._ctl is not None and not self._ctl.setWatchdog(self.cfg.watchdog_hz):
            raise BackendError(f"UR at {self.host}: the RTDE watchdog could not be set")
        return self

    # -- the loop side -----------------------------------------------------------------------
    def _stop_state(self) -> ArmStop:
        r, c = self._recv, self._ctl
        if r.isEmergencyStopped():
            return ArmStop.EMERGENCY
        if r.isProtectiveStopped() or r.getSafetyStatusBits() & SAFEGUARD_STOP_BIT:
            return ArmStop.PROTECTIVE
        if c is not None and (not c.isConnected() or not c.isProgramRunning()):
            return ArmStop.LINK_LOST
        return ArmStop.NONE

    def read(self, out: ArmState) -> None:
        r = self._recv
        out.q[:] = r.getActualQ()
        out.qd[:] = r.getActualQd()
        out.tau[:] = r.getTargetMoment()
        out.t = r.getTimestamp()
        self.stop_state = self._stop_state()
        out.stop = int(self.stop_state)
        if not self._servo_started:
            self._q_target[:] = out.q

    def command_velocity(self, qd: np.ndarray) -> None:
        if self._ctl is None:
            raise BackendError(f"UR at {self.host}: connected read-only, cannot command")
        if self.stop_state is not ArmStop.NONE:
            return  # the robot refuses motion until the stop is cleared on the pendant
        if self.supports_position:
            np.multiply(qd, self.dt, out=self._dq)
            self._q_target += self._dq
            self.command_position(self._q_target)
            return
        self._ctl.speedJ(qd.tolist(), self.cfg.acceleration, self.dt)

    def command_position(self, q: np.ndarray) -> None:
        if not self.supports_position:
            super().command_position(q)
        if self._ctl is None:
            raise BackendError(f"UR at {self.host}: connected read-only, cannot command")
        if self.stop_state is not ArmStop.NONE:
            return
        self._q_target[:] = q
        self._servo_started = True
        c = self.cfg
        self._ctl.servoJ(q.tolist(), 0.0, 0.0, self.dt, c.lookahead, c.gain)

    def stop(self) -> None:
        if self._ctl is None:
            return
        if self.supports_position:
            self._ctl.servoStop(self.cfg.stop_deceleration)
            self._servo_started = False
        else:
            self._ctl.speedStop(self.cfg.stop_deceleration)

    def close(self) -> None:
        """Stop, end the robot-side script and disconnect."""
        if self._ctl is not None:
            self.stop()
            self._ctl.stopScript()
            self._ctl.disconnect()
            self._ctl = None
        if self._recv is not None:
            self._recv.disconnect()
            self._recv = None

    def describe(self) -> dict:
        """Robot and safety state for the bring-up output."""
        r = self._recv
        return {
            "robot_mode": r.getRobotMode(),
            "safety_mode": r.getSafetyMode(),
            "safety_status_bits": r.getSafetyStatusBits(),
            "program_running": None if self._ctl is None else bool(self._ctl.isProgramRunning()),
            "stop": self._stop_state().name,
        }


def make_ur_arm(hw: HardwareConfig) -> UrRtdeArm:
    """The UR e-Series driver of ``hardware.arm`` (``ARM_DRIVERS["ur"]``)."""
    return UrRtdeArm(hw.arm.host, hw.arm.ur)
