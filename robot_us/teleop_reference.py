"""Teleoperation as the control cycle's reference provider: a remote operator slides the
probe over the skin with rate commands while force control keeps the set-point along the
probe axis (docs/protocol.md "Teleoperation").

On ``start`` the probe goes to the skin first: out of contact, the F/T sensor is tared
(the probe held still in the air), then the controller's guarded approach moves along the
probe axis until contact (``Mode.APPROACH`` -> ``Mode.CONTACT``). In contact the reference
pose is integrated every cycle from the operator's twist, given in the **probe frame**:
``vx``, ``vy`` slide along the skin (m/s), ``wx``, ``wy`` tilt and ``wz`` rotate about the
probe axis (rad/s); there is no ``vz``: the hybrid controller keeps the force along the
axis. The reference is kept on the skin (its offset along the probe axis is removed every
cycle) and within ``max_lag`` of the probe tangentially, so a blocked probe never winds up
a jump. Each twist is clamped (norm of the linear part to ``linear_max``, of the angular
part to ``angular_max``) and valid until its ``until`` (loop time); without a valid twist
the reference stops (zero twist). ``stop`` freezes the reference at the probe's pose and
either keeps contact (force control holds the set-point) or retracts.

Real-time contract: ``update``/``observe`` run inside the cycle: preallocated arrays only,
scalar maths, no I/O; commands (``twist``, ``set_force``, ``stop``) are plain stores meant
to be called between cycles by the thread that runs the loop. Configuration (the limits)
is read in the constructor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from force_control import Event, Mode
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.reference_provider import (
    CycleInputs,
    CycleOutcome,
    ReferenceResult,
    ReferenceStatus,
)
from robot_us.safety import Reaction
from robot_us.scan.messages import EventSink

_WORKING = ReferenceResult.WORKING
_CONTACT, _RESEEK = Mode.CONTACT, Mode.RESEEK
_OK = RequestResult.OK


class TeleopPhase(IntEnum):
    """Where teleoperation is."""

    TARE = 0  # out of contact: holding still while the F/T sensor is tared
    APPROACH = 1  # guarded approach along the probe axis
    SLIDE = 2  # in contact: the reference follows the operator's twist
    STOPPED = 3  # stopped (operator, deadman, fault, approach failed): nothing moves


@dataclass(frozen=True)
class TeleopLimits:
    """Largest sliding speed (m/s), tilt/rotation rate (rad/s), how long a twist may
    apply (s), and how far the reference may lead the probe tangentially (m)."""

    linear_max: float
    angular_max: float
    hold_max: float
    max_lag: float


class TeleopReference:
    """The teleoperation reference provider of ``cycle`` (see the module doc).
    ``force``: the contact force set-point (N); ``scan_state``: the scan state id the
    state rows keep showing meanwhile; ``events``: where events go."""

    def __init__(
        self,
        cycle: ControlCycle,
        limits: TeleopLimits,
        force: float,
        scan_state: int = 0,
        events: EventSink | None = None,
    ) -> None:
        self.cycle = cycle
        self.limits = limits
        self.force = float(force)
        self.sink = events
        self.status = ReferenceStatus(state=scan_state)
        self.phase = TeleopPhase.TARE
        self.cause = ""
        self._started = False
        self.dt = cycle.dt
        self._T_ref = np.eye(4)
        self._p_ref = self._T_ref[:3, 3]
        self._R_ref = self._T_ref[:3, :3]
        self._twist_base = np.zeros(6)
        self._v_probe = np.zeros(3)
        self._w_probe = np.zeros(3)
        self._v = np.zeros(3)
        self._w = np.zeros(3)
        self._d = np.zeros(3)
        self._tmp = np.zeros(3)
        self._R_inc = np.eye(3)
        self._R_tmp = np.eye(3)
        self._until = -math.inf  # loop time the current twist applies until (s)
        self.twists = 0  # twists accepted
        self.t = 0.0

    # -- commands (between cycles) ------------------------------------------------------
    def twist(
        self, vx: float, vy: float, wx: float, wy: float, wz: float, until: float
    ) -> tuple[float, float, float, float, float]:
        """A rate command in the probe frame (m/s, rad/s), valid until loop time ``until``
        (s); returns it as clamped. Ignored (zero) unless sliding on the skin."""
        lim = self.limits
        scale_v = _scale(math.hypot(vx, vy), lim.linear_max)
        scale_w = _scale(math.sqrt(wx * wx + wy * wy + wz * wz), lim.angular_max)
        vx, vy = vx * scale_v, vy * scale_v
        wx, wy, wz = wx * scale_w, wy * scale_w, wz * scale_w
        v, w = self._v_probe, self._w_probe
        v[0], v[1], v[2] = vx, vy, 0.0
        w[0], w[1], w[2] = wx, wy, wz
        self._until = min(until, self.t + lim.hold_max)
        self.twists += 1
        return vx, vy, wx, wy, wz

    def set_force(self, force: float) -> RequestResult:
        """Contact force set-point (N), ramped in contact by the controller."""
        res = self.cycle.set_force(force)
        if res is _OK:
            self.force = float(force)
        return res

    def stop(self, action: str, cause: str) -> None:
        """Stop now: the reference freezes at the probe's pose with zero twist; ``action``
        "hold" keeps contact (force control holds the set-point), "retract" retracts."""
        self._until = -math.inf
        self._v_probe[:] = 0.0
        self._w_probe[:] = 0.0
        was = self.phase
        self.phase = TeleopPhase.STOPPED
        self.cause = cause
        c = self.cycle
        self._T_ref[:] = c.inp.T_base_probe
        self._twist_base[:] = 0.0
        c.set_reference(self._T_ref, self._twist_base)
        if action == "retract":
            c.retract()
        elif was is not TeleopPhase.SLIDE or c.controller.mode is not _CONTACT:
            c.hold()
        self._post("teleop", f"teleoperation stopped ({cause}): {action}")

    @property
    def active(self) -> bool:
        """True until stopped."""
        return self.phase is not TeleopPhase.STOPPED

    # -- the reference provider ---------------------------------------------------------
    def update(self, inputs: CycleInputs) -> ReferenceResult:
        """Reference stage: the phase's step."""
        self.t = inputs.t
        if not self._started:
            self._start(inputs)
        phase = self.phase
        if phase is TeleopPhase.SLIDE:
            self._slide(inputs)
        elif phase is TeleopPhase.TARE and inputs.tare_progress >= 1.0:
            self._approach(inputs)
        return _WORKING

    def observe(self, outcome: CycleOutcome) -> ReferenceResult:
        """Observe stage: contact made, approach or re-seek failed, faults."""
        if self.phase is TeleopPhase.STOPPED:
            return _WORKING
        if outcome.latch.reaction >= Reaction.RETRACT:
            cause = outcome.latch.cause
            self.phase = TeleopPhase.STOPPED
            self.cause = cause.describe() if cause is not None else "safety fault"
            self._post("teleop", f"teleoperation stopped by a safety fault: {self.cause}")
            return _WORKING
        event = outcome.control.event
        if event is Event.CONTACT_MADE and self.phase is TeleopPhase.APPROACH:
            self._T_ref[:] = self.cycle.inp.T_base_probe
            self.phase = TeleopPhase.SLIDE
            self._post("teleop", "contact made: teleoperation slides on the skin")
        elif event is Event.APPROACH_FAILED:
            self.phase = TeleopPhase.STOPPED
            self.cause = "no contact within the approach distance"
            self._post("teleop", f"teleoperation stopped: {self.cause}")
        elif event is Event.RESEEK_FAILED:
            self.phase = TeleopPhase.STOPPED
            self.cause = "contact lost and not regained: retracting"
            self._post("teleop", f"teleoperation stopped: {self.cause}")
        return _WORKING

    # -- phases ---------------------------------------------------------------------------
    def _start(self, inputs: CycleInputs) -> None:
        self._started = True
        c = self.cycle
        self._T_ref[:] = inputs.arm.T_base_probe
        c.set_reference(self._T_ref)
        c.set_force(self.force)
        if inputs.mode is _CONTACT or inputs.mode is _RESEEK:
            self.phase = TeleopPhase.SLIDE
            self._post("teleop", "teleoperation started in contact")
            return
        c.hold()
        c.start_tare()
        self.phase = TeleopPhase.TARE
        self._post("teleop", "teleoperation started: taring the F/T sensor, then approaching")

    def _approach(self, inputs: CycleInputs) -> None:
        c = self.cycle
        self._T_ref[:] = inputs.arm.T_base_probe
        c.set_reference(self._T_ref)
        if c.approach() is _OK:
            self.phase = TeleopPhase.APPROACH
        else:
            self.phase = TeleopPhase.STOPPED
            self.cause = "approach refused: a fault is latched"

    def _slide(self, inputs: CycleInputs) -> None:
        """Integrate the twist into the reference (probe frame -> base), keep it on the
        skin and within ``max_lag`` of the probe."""
        T = inputs.arm.T_base_probe
        R = T[:3, :3]
        z = T[:3, 2]
        p = T[:3, 3]
        dt = self.dt
        tw = self._twist_base
        v, w = self._v, self._w
        if inputs.t <= self._until and inputs.mode is _CONTACT:
            np.dot(R, self._v_probe, out=v)
            np.dot(R, self._w_probe, out=w)
        else:  # expired, or re-seeking contact: the reference stands still
            v[:] = 0.0
            w[:] = 0.0
        tw[:3] = v
        tw[3:] = w
        p_ref, d, tmp = self._p_ref, self._d, self._tmp
        np.multiply(v, dt, out=tmp)
        p_ref += tmp
        if w.any():
            _rotation(w, dt, self._R_inc)
            np.dot(self._R_inc, self._R_ref, out=self._R_tmp)
            self._R_ref[:] = self._R_tmp
        # on the skin: no offset along the probe axis; tangentially within max_lag
        np.subtract(p_ref, p, out=d)
        np.multiply(z, float(np.dot(z, d)), out=tmp)
        d -= tmp
        lag = math.sqrt(float(np.dot(d, d)))
        if lag > self.limits.max_lag:
            d *= self.limits.max_lag / lag
        np.add(p, d, out=p_ref)
        self.cycle.set_reference(self._T_ref, tw)

    def _post(self, kind: str, cause: str) -> None:
        if self.sink is not None:
            self.sink.post_event(self.t, kind, cause, None, self.status.state, {})


def _scale(norm: float, limit: float) -> float:
    """Factor that brings a vector of ``norm`` within ``limit``."""
    return 1.0 if norm <= limit or norm == 0.0 else limit / norm


def _rotation(w: np.ndarray, dt: float, out: np.ndarray) -> None:
    """Rotation matrix of the rotation vector ``w * dt`` (Rodrigues), into ``out``."""
    x, y, zz = float(w[0]) * dt, float(w[1]) * dt, float(w[2]) * dt
    th = math.sqrt(x * x + y * y + zz * zz)
    if th < 1e-12:
        out[:] = 0.0
        out[0, 0] = out[1, 1] = out[2, 2] = 1.0
        return
    kx, ky, kz = x / th, y / th, zz / th
    s, c = math.sin(th), math.cos(th)
    C = 1.0 - c
    out[0, 0], out[0, 1], out[0, 2] = c + kx * kx * C, kx * ky * C - kz * s, kx * kz * C + ky * s
    out[1, 0], out[1, 1], out[1, 2] = ky * kx * C + kz * s, c + ky * ky * C, ky * kz * C - kx * s
    out[2, 0], out[2, 1], out[2, 2] = kz * kx * C - ky * s, kz * ky * C + kx * s, c + kz * kz * C
