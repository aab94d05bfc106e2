"""Franka FR3 / Panda through pylibfranka (Franka's official Python binding of libfranka,
the ``hardware`` extra) as an ``ArmBackend``, in libfranka's joint-velocity control.

``connect()`` opens the FCI connection (``realtime = true`` insists on a PREEMPT_RT
kernel, as libfranka does), sets the collision reflex thresholds and starts joint-velocity
control. The robot then paces the loop: every cycle ``read`` blocks in ``readOnce`` until
the robot's next 1 kHz state packet (at most one period) and ``command_velocity`` answers
it with ``writeOnce``; the loop must answer within the period, or after 20 consecutive
misses the robot raises its communication reflex. The robot's state maps to
``ArmState.stop``: reflex -> REFLEX, user stop (the external activation device) ->
EMERGENCY, a control or network exception from libfranka -> LINK_LOST (the driver then
stops talking to the robot; reconnect after recovery).

Why pylibfranka and not franky-control: franky plans its own motions (Ruckig) and takes
targets asynchronously; our loop is the motion generator and needs libfranka's per-cycle
read/write, which pylibfranka exposes directly.

Real-time contract: ``readOnce``/``writeOnce`` are pybind11 calls; building the command
object and converting the state to arrays allocate a little at this vendor boundary.
"""

from __future__ import annotations

import numpy as np

from hardware_drivers.config import FrankaConfig, HardwareConfig
from hardware_drivers.optional_sdk import require
from robot_us.core.backends import ArmBackend, BackendError
from robot_us.core.types import ArmState, ArmStop

#: The FCI rate (Hz): the loop runs at this rate with a Franka.
NATIVE_RATE_HZ = 1000.0
#: Upper reflex thresholds are this factor above the lower ones (libfranka's pairs).
UPPER_THRESHOLD_FACTOR = 1.25


class FrankaArm(ArmBackend):
    """A Franka FR3 or Panda at ``host`` (call ``connect()`` first)."""

    n_joints = 7
    rate_hz = NATIVE_RATE_HZ
    #: ``robot.model`` names this driver can drive
    models = ("panda", "fr3")

    def __init__(self, host: str, cfg: FrankaConfig) -> None:
        if not host:
            raise BackendError("the Franka arm driver needs hardware.arm.host (the FCI address)")
        self.host = host
        self.cfg = cfg
        self._sdk = None
        self._robot = None
        self._ctl = None
        self._zero = [0.0] * self.n_joints
        self.stop_state = ArmStop.NONE
        self.error: BaseException | None = None

    def connect(self, control: bool = True) -> FrankaArm:
        """Connect, set the reflex thresholds and, with ``control``, start joint-velocity
        control; read-only otherwise (calibration while hand-guiding)."""
        # lazy: pylibfranka is an optional vendor SDK (the hardware extra)
        fr = require("pylibfranka", "pylibfranka", "the Franka arm driver")
        self._sdk = fr
        rt = fr.RealtimeConfig.kEnforce if self.cfg.realtime else fr.RealtimeConfig.kIgnore
        try:
            self._robot = fr.Robot(self.host, rt)
            tau = [self.cfg.collision_torque] * 7
            force = [self.cfg.collision_force] * 3 + [self.cfg.collision_torque] * 3
            up = UPPER_THRESHOLD_FACTOR
            self._robot.set_collision_behavior(
                tau, [t * up for t in tau], force, [f * up for f in force]
            )
            if control:
                mode = fr.ControllerMode.JointImpedance
                self._ctl = self._robot.start_joint_velocity_control(mode)
        except fr.FrankaException as exc:
            raise BackendError(
                f"Franka at {self.host}: FCI did not start ({exc}); check the direct cable to "
                "the Control unit, that FCI is activated in Desk, the brakes are open, the "
                "user stop is released, and (realtime = true) a PREEMPT_RT kernel"
            ) from exc
        return self

    def _state_stop(self, state) -> ArmStop:
        mode = self._sdk.RobotMode
        if state.robot_mode == mode.Reflex:
            return ArmStop.REFLEX
        if state.robot_mode == mode.UserStopped:
            return ArmStop.EMERGENCY
        return ArmStop.NONE

    def read(self, out: ArmState) -> None:
        if self.stop_state is ArmStop.LINK_LOST:
            out.stop = int(ArmStop.LINK_LOST)
            return
        try:
            state = self._robot.read_once() if self._ctl is None else self._ctl.readOnce()[0]
        except self._sdk.FrankaException as exc:  # reflex or lost packets end the control
            self.error = exc
            self.stop_state = ArmStop.LINK_LOST
            out.stop = int(ArmStop.LINK_LOST)
            return
        out.q[:] = state.q
        out.qd[:] = state.dq
        out.tau[:] = state.tau_J
        out.t = state.time.to_sec()
        self.stop_state = self._state_stop(state)
        out.stop = int(self.stop_state)

    def _write(self, qd: list[float], finished: bool = False) -> None:
        if self._ctl is None:
            raise BackendError(f"Franka at {self.host}: connected read-only, cannot command")
        if self.stop_state is ArmStop.LINK_LOST:
            return
        cmd = self._sdk.JointVelocities(qd)
        cmd.motion_finished = finished
        try:
            self._ctl.writeOnce(cmd)
        except self._sdk.FrankaException as exc:
            self.error = exc
            self.stop_state = ArmStop.LINK_LOST

    def command_velocity(self, qd: np.ndarray) -> None:
        # while stopped the robot ignores motion; answering every packet keeps the link
        self._write(self._zero if self.stop_state is not ArmStop.NONE else qd.tolist())

    def stop(self) -> None:
        """Finish the motion with zero velocity and stop libfranka's control."""
        if self._robot is None:
            return
        if self._ctl is not None:
            self._write(self._zero, finished=True)
        self._robot.stop()
        self.stop_state = ArmStop.LINK_LOST  # control has ended; reconnect to move again

    def close(self) -> None:
        """Stop and release the connection."""
        self.stop()
        self._robot = None
        self._ctl = None

    def describe(self) -> dict:
        """Robot state for the bring-up output."""
        return {"stop": self.stop_state.name, "error": str(self.error) if self.error else ""}


def make_franka_arm(hw: HardwareConfig) -> FrankaArm:
    """The Franka driver of ``hardware.arm`` (``ARM_DRIVERS["franka"]``)."""
    return FrankaArm(hw.arm.host, hw.arm.franka)
