"""The probe controller: guarded approach, hybrid force/position tracking in contact,
contact-loss re-seek, controlled retract and hold, as modes of one object whose per-cycle
``update`` turns its ``ControllerInput`` (``controller.inp``, preallocated, filled in place
by the caller) into a ``ControllerOutput`` (joint velocities).

Modes are switched by requests (``approach()``, ``retract()``, ...; applied at the start
of the next ``update``) and by the controller itself, which reports each switch as an
``Event``. Each mode is a handler in a table, not a branch of an if/elif chain; the
controller variants (hybrid, position, compliance) are entries of ``CONTROLLERS``.

Real-time contract: ``update`` reads only its input and preallocated state, never the
configuration; it allocates no arrays of its own (LAPACK's ``dposv`` wrapper makes two
small ones). The caller computes the kinematics (``T_base_probe``, ``J``) once per cycle
and shares them with the safety supervisor. The per-cycle path is written for CPython's
call overhead, which dominates at this size: frame changes of the 6-vector twists are
one ``np.dot`` each on (2, 3) views ([v; w] as rows: ``rows @ R`` is ``R^T`` applied to
both halves), the pose error reaches the hybrid law as floats, and enum members used
per cycle are module constants (reading one off an Enum class costs ~0.2 us).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from force_control.admittance import Admittance
from force_control.alignment import ProbeAlignment
from force_control.config import ForceControlConfig
from force_control.contact import ContactChange, ContactDetector
from force_control.contact_estimator import ContactEstimator
from force_control.damped_least_squares import DampedLeastSquares
from force_control.hybrid_law import HybridLaw, Selection
from force_control.joint_rate_limiter import JointRateLimiter
from force_control.pose_error import PoseError
from robot_us.core.kinematics import JointLimits
from robot_us.core.registry import Registry
from robot_us.core.types import JointKinematics, zeros_where_none

#: Force error (N) within which contact counts as settled ...
SETTLE_TOLERANCE_N = 0.25
#: ... continuously for this long (s).
SETTLE_TIME_S = 0.2
#: Spring (N/m, N·m/rad) the compliance preset uses on axes the config leaves at zero.
DEFAULT_COMPLIANCE_STIFFNESS = (300.0, 300.0, 300.0, 10.0, 10.0, 10.0)
#: Unbounded velocity clamp (m/s or rad/s) for axes without a per-cycle limit.
_NO_LIMIT = 1e9
#: Gain (1/s) of the joint-space tracking mode on the joint position error.
JOINT_GAIN = 10.0
#: The first-touch slowdown ends when the axial force falls below this share of
#: ``contact.touch_force`` (skin that touched and moved away: approach at speed again).
TOUCH_RELEASE = 0.5
#: A probe travel larger than this in one cycle (m) is a discontinuity (a teleported
#: simulation, a reset), not motion: the contact estimator does not integrate it.
MAX_STEP_TRAVEL = 0.005


class Mode(IntEnum):
    """What the controller is doing."""

    IDLE = 0  # command zero joint velocity (ramped down within the acceleration limit)
    TRACK = 1  # pure pose tracking of the reference (free-space moves)
    APPROACH = 2  # guarded move along the probe axis until contact
    CONTACT = 3  # hybrid force/position tracking of the reference
    RESEEK = 4  # contact lost: advance along the probe axis to find it again
    RETRACT = 5  # controlled retract along the probe axis
    HOLD = 6  # hold the pose where the last motion ended
    JOINT = 7  # track a joint-space reference (free-space transfer moves)


class Event(IntEnum):
    """What happened this cycle (NONE on most cycles)."""

    NONE = 0
    CONTACT_MADE = 1
    SETTLED = 2
    CONTACT_LOST = 3
    CONTACT_REGAINED = 4
    RESEEK_FAILED = 5
    APPROACH_FAILED = 6
    RETRACT_DONE = 7


_EVENT_NONE = Event.NONE
_CONTACT_MADE = ContactChange.MADE
_CONTACT_LOST = ContactChange.LOST
_ZERO_TWIST = (0.0,) * 6


@dataclass
class ControllerInput(JointKinematics):
    """Per-cycle input, preallocated and filled in place by the caller: the joint state
    and probe kinematics (``JointKinematics``) and

    ``wrench``: filtered pressing wrench at the probe tip, probe frame (N, N·m).
    ``wrench_raw``: the same unfiltered, as of the latest sensor sample; ``wrench_new``:
    whether that sample arrived this cycle; ``wrench_delay``: how long before this cycle
    it was acquired (s: its age plus the transport latency its stamp leaves out).
    ``T_base_ref``/``twist_ref``: reference probe pose (4x4) and twist ([v; w], base frame,
    m/s and rad/s). ``force_setpoint``: pressing force along the probe axis (N).
    ``q_ref``/``qd_ref``: joint reference (rad, rad/s) of the ``JOINT`` mode.
    """

    wrench: np.ndarray = field(default_factory=lambda: np.zeros(6))
    wrench_raw: np.ndarray = field(default_factory=lambda: np.zeros(6))
    wrench_new: bool = False
    wrench_delay: float = 0.0
    T_base_ref: np.ndarray = field(default_factory=lambda: np.eye(4))
    twist_ref: np.ndarray = field(default_factory=lambda: np.zeros(6))
    force_setpoint: float = 0.0
    q_ref: np.ndarray = field(default=None)  # type: ignore[assignment]
    qd_ref: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        super().__post_init__()
        zeros_where_none(self, q_ref=self.n_joints, qd_ref=self.n_joints)


@dataclass
class ControllerOutput:
    """Per-cycle output (the same object every cycle)."""

    n_joints: int
    qd: np.ndarray = field(default=None)  # type: ignore[assignment]  # rad/s command
    mode: Mode = Mode.IDLE
    event: Event = Event.NONE
    in_contact: bool = False
    axial_force: float = 0.0  # pressing force along the probe axis (N): the estimate now
    stiffness: float = 0.0  # estimated tangent stiffness of the tissue (N/m; 0: none)
    surface_velocity: float = 0.0  # estimated skin velocity along the probe axis (m/s)
    force_command: float = 0.0  # the (ramped) force setpoint in use (N)
    saturation: float = 1.0  # achieved fraction of the twist (1 = not limited)
    manipulability: float = 0.0

    def __post_init__(self) -> None:
        zeros_where_none(self, qd=self.n_joints)


class ProbeController:
    """Hybrid force/position probe controller for an ``n``-joint arm at period ``dt``."""

    def __init__(
        self,
        cfg: ForceControlConfig,
        limits: JointLimits,
        dt: float,
        selection: np.ndarray | None = None,
        compliance_stiffness: np.ndarray | None = None,
    ) -> None:
        n = len(limits.lower)
        self.n = n
        self.dt = float(dt)
        a, p, c, ik = cfg.admittance, cfg.pose, cfg.contact, cfg.ik
        self.selection = np.array(cfg.selection if selection is None else selection, float)
        kc = np.array(
            p.compliance_stiffness if compliance_stiffness is None else compliance_stiffness,
            float,
        )
        self.admittance = Admittance(
            np.array(a.mass),
            np.array(a.damping),
            np.array(a.integral_gain),
            np.array(a.integral_limit),
            np.array(a.velocity_limit),
            dt,
        )
        self.law = HybridLaw(
            self.admittance,
            np.array(p.gain),
            kc,
            p.max_linear_speed,
            p.max_angular_speed,
        )
        # the input is owned here so that every view below is computed once
        self.inp = ControllerInput(n)
        inp = self.inp
        self._T_hold = np.eye(4)
        self._T_retract = np.eye(4)
        self._p_retract = self._T_retract[:3, 3]
        self._err_ref = PoseError(inp.T_base_probe, inp.T_base_ref)
        self._err_hold = PoseError(inp.T_base_probe, self._T_hold)
        self._err_retract = PoseError(inp.T_base_probe, self._T_retract)
        self._p = inp.T_base_probe[:3, 3]
        self._zaxis = inp.T_base_probe[:3, 2]
        # frame changes of [v; w] twists on (2, 3) row views: rows @ R = R^T per half
        self._R = inp.T_base_probe[:3, :3]
        self._RT = self._R.T
        self._twist_ref_rows = inp.twist_ref.reshape(2, 3)
        self.dls = DampedLeastSquares(
            limits.lower,
            limits.upper,
            ik.damping,
            ik.singular_damping,
            ik.manipulability_threshold,
            ik.nullspace_gain,
        )
        self.rate_limiter = JointRateLimiter(
            limits.velocity * ik.velocity_scale, ik.acceleration_limit, dt
        )
        self.contact = ContactDetector(c.detect_force, c.detect_time, c.loss_force, c.loss_time, dt)
        est = cfg.estimator
        self.estimator: ContactEstimator | None = None
        if est.enabled:
            self.estimator = ContactEstimator.from_config(est, dt)
        sch = cfg.schedule
        self.scheduled = bool(sch.enabled and self.estimator is not None)
        self.k_ref = sch.reference_stiffness
        self.force_rate = sch.force_rate
        #: online tilt correction from the contact moments (None: off)
        self.alignment = ProbeAlignment.from_config(cfg.alignment, dt)
        self.surface_ff = sch.surface_feedforward
        self._p_prev: list[float] | None = None
        self._vmax_contact = [_NO_LIMIT] * 6
        self._w = [0.0] * 6  # the wrench the law sees: filtered, the axial force estimated
        self.default_force = cfg.force_setpoint
        self.approach_speed = c.approach_speed
        if c.touch_force >= c.detect_force:
            raise ValueError(
                f"touch force {c.touch_force} N must be below the contact detect force "
                f"{c.detect_force} N (the approach slows at first touch, before contact)"
            )
        self.touch_force = c.touch_force
        self.touch_release = TOUCH_RELEASE * c.touch_force
        self.touch_speed = min(c.touch_speed, c.approach_speed)
        self.approach_max_distance = c.approach_max_distance
        self.reseek_distance = c.reseek_distance
        self.setpoint_step = c.setpoint_rate * dt
        self.retract_speed = c.retract_speed
        self.retract_accel = c.retract_acceleration
        self.retract_distance = c.retract_distance
        self.settle_cycles = max(1, round(SETTLE_TIME_S / dt))
        # contact loss / re-seek only make sense when the probe axis is force-controlled
        self.force_axis = bool(self.selection[2] > 0.0)

        # selection vectors per mode (gains precomputed)
        self.sel_contact: Selection = self.law.selection(self.selection)
        self._sel_position = self.law.selection(np.zeros(6))
        guarded = self.selection.copy()
        guarded[2] = 1.0
        self._sel_guarded = self.law.selection(guarded)
        self._vmax_guarded = [_NO_LIMIT] * 6
        self._vmax_guarded[2] = self.approach_speed
        self._no_wrench = [0.0] * 6

        # state
        self.out = ControllerOutput(n)
        self.mode = Mode.IDLE
        self._pending: Mode | None = None
        self._wdes = [0.0] * 6
        self._ff = np.zeros(6)
        self._ff_rows = self._ff.reshape(2, 3)
        self._twist_base = np.zeros(6)
        self._twist_base_rows = self._twist_base.reshape(2, 3)
        self._law_twist_rows = self.law.twist.reshape(2, 3)
        self._start_p = np.zeros(3)
        self._start_z = np.zeros(3)
        self._dp = np.zeros(3)
        self._force_cmd = 0.0
        self._settle_count = 0
        self._settled = False
        self._retract_d = 0.0
        self._retract_v = 0.0
        self._guard_limit = 0.0
        self._touched = False  # the guarded move has felt the skin (touch_force)

        self._handlers: dict[Mode, Callable[[ControllerInput], None]] = {
            Mode.IDLE: self._run_idle,
            Mode.TRACK: self._run_track,
            Mode.APPROACH: self._run_guarded,
            Mode.CONTACT: self._run_contact,
            Mode.RESEEK: self._run_guarded,
            Mode.RETRACT: self._run_retract,
            Mode.HOLD: self._run_hold,
            Mode.JOINT: self._run_joint,
        }
        self._enter: dict[Mode, Callable[[ControllerInput], None]] = {
            Mode.IDLE: self._enter_idle,
            Mode.TRACK: self._enter_track,
            Mode.APPROACH: self._enter_approach,
            Mode.CONTACT: self._enter_contact,
            Mode.RESEEK: self._enter_reseek,
            Mode.RETRACT: self._enter_retract,
            Mode.HOLD: self._enter_hold,
            Mode.JOINT: self._enter_track,
        }

    # -- requests (cheap; applied at the start of the next update) ------------------------
    def idle(self) -> None:
        """Ramp the joint velocity to zero and stay there."""
        self._pending = Mode.IDLE

    def track(self) -> None:
        """Track the reference pose (pure position, free space)."""
        self._pending = Mode.TRACK

    def approach(self) -> None:
        """Guarded approach along the probe axis until contact, then hybrid tracking."""
        self._pending = Mode.APPROACH

    def retract(self) -> None:
        """Controlled retract along the probe axis, then hold."""
        self._pending = Mode.RETRACT

    def hold(self) -> None:
        """Hold the current pose."""
        self._pending = Mode.HOLD

    def track_joints(self) -> None:
        """Track the joint reference ``inp.q_ref``/``inp.qd_ref`` (free space)."""
        self._pending = Mode.JOINT

    def sync_command(self, qd_sent: np.ndarray) -> None:
        """Tell the controller what was actually sent (after the safety supervisor), so
        the acceleration limit ramps from it."""
        self.rate_limiter.prev[:] = qd_sent

    @property
    def touched(self) -> bool:
        """Whether the current guarded move (approach, re-seek) feels the skin (the axial
        force passed ``contact.touch_force`` and has not fallen below ``TOUCH_RELEASE``
        of it) and so runs at ``contact.touch_speed``."""
        return self._touched

    # -- per cycle ---------------------------------------------------------------------
    def update(self) -> ControllerOutput:
        """One control period on ``self.inp`` (filled by the caller); the joint velocity
        command and status are in the returned ``self.out``."""
        out = self.out
        out.event = _EVENT_NONE
        if self._pending is not None:
            mode, self._pending = self._pending, None
            self.mode = mode
            self._enter[mode]()
        self._estimate()
        self._handlers[self.mode]()
        out.mode = self.mode
        out.in_contact = self.contact.in_contact
        out.force_command = self._force_cmd
        return out

    # -- shared steps --------------------------------------------------------------------
    def _estimate(self) -> None:
        """The axial force now (the contact estimator, or the filtered sample) into
        ``out.axial_force`` and the wrench the law sees (``_w``)."""
        inp, out = self.inp, self.out
        w = self._w
        w[:] = inp.wrench.tolist()
        est = self.estimator
        if est is None:
            out.axial_force = w[2]
            return
        p = self._p.tolist()
        prev = self._p_prev
        ds = 0.0
        if prev is not None:
            zx, zy, zz = self._zaxis.tolist()
            ds = zx * (p[0] - prev[0]) + zy * (p[1] - prev[1]) + zz * (p[2] - prev[2])
            if abs(ds) > MAX_STEP_TRAVEL:
                ds = 0.0
        self._p_prev = p
        f = est.update(ds, inp.wrench_new, inp.wrench_raw.item(2), inp.wrench_delay)
        w[2] = f
        out.axial_force = f
        out.stiffness = est.stiffness
        out.surface_velocity = est.surface_velocity

    def _schedule(self, vmax: list[float], limit: float) -> float:
        """Probe-axis gains for the estimated stiffness k: on tissue stiffer than
        ``k_ref`` the damping is the configured one times k / k_ref (the loop gain k / D
        stays), on softer tissue the configured one (a floor: the admittance's damping
        must stay well above the tissue's own, whose velocity-to-force feedthrough
        does not scale with k); ``vmax[2]`` = min(``limit``, force_rate / k). Returns
        the skin velocity to feed forward along the probe axis (m/s)."""
        est = self.estimator
        if not self.scheduled:
            vmax[2] = limit
            return 0.0
        assert est is not None  # ``scheduled`` implies an estimator
        k = est.stiffness
        self.admittance.scale_axis(2, self.k_ref / k if k > self.k_ref else 1.0)
        v = self.force_rate / k
        vmax[2] = v if v < limit else limit
        return self.surface_ff * est.surface_velocity

    def _ff_from_ref(self) -> np.ndarray:
        """Reference twist in the probe frame."""
        np.dot(self._twist_ref_rows, self._R, out=self._ff_rows)
        return self._ff

    def _to_joints(self) -> None:
        """The hybrid law's probe-frame twist (``law.twist``) -> joint velocity (DLS,
        null space, joint rate limits), then anti-windup back-calculation."""
        law, inp, out = self.law, self.inp, self.out
        np.dot(self._law_twist_rows, self._RT, out=self._twist_base_rows)
        self.dls.solve(inp.J, self._twist_base, inp.q, out=out.qd)
        s = self.rate_limiter.limit(out.qd)
        law.back_calculate(s)
        out.saturation = law.saturation * s
        out.manipulability = self.dls.manipulability

    def _track_pose(self, err: PoseError, ff: np.ndarray | tuple[float, ...]) -> None:
        e = err.update_values()
        self.law.update(
            self._sel_position, e, self.inp.wrench, self._no_wrench, ff, integrate=False
        )
        self._to_joints()

    def _mark_start(self) -> None:
        self._start_p[:] = self._p
        self._start_z[:] = self._zaxis

    def _travel(self) -> float:
        """Distance travelled along the start probe axis since ``_mark_start`` (m)."""
        np.subtract(self._p, self._start_p, out=self._dp)
        return float(np.dot(self._dp, self._start_z))

    # -- modes ---------------------------------------------------------------------------
    def _enter_idle(self) -> None:
        self.admittance.reset()

    def _run_idle(self) -> None:
        out = self.out
        out.qd[:] = 0.0
        self.rate_limiter.limit(out.qd)
        out.saturation = 1.0

    def _enter_track(self) -> None:
        self.admittance.reset()
        self.contact.reset(in_contact=False)

    def _run_track(self) -> None:
        self._track_pose(self._err_ref, self._ff_from_ref())

    def _run_joint(self) -> None:
        """Joint-space tracking: ``qd_ref + JOINT_GAIN (q_ref - q)``, within the joint
        velocity and acceleration limits (no task-space law, no null-space drift)."""
        inp, out = self.inp, self.out
        np.subtract(inp.q_ref, inp.q, out=out.qd)
        out.qd *= JOINT_GAIN
        out.qd += inp.qd_ref
        out.saturation = self.rate_limiter.limit(out.qd)
        out.manipulability = 0.0

    def _enter_hold(self) -> None:
        self._hold_at(self.inp.T_base_probe)

    def _hold_at(self, T: np.ndarray) -> None:
        self.mode = Mode.HOLD
        self._T_hold[:] = T
        self.admittance.reset()

    def _run_hold(self) -> None:
        self._track_pose(self._err_hold, _ZERO_TWIST)

    def _enter_approach(self) -> None:
        self.admittance.reset()
        self.contact.reset(in_contact=False)
        self._mark_start()
        if self.alignment is not None:
            self.alignment.reset()
        self._guard_limit = self.approach_max_distance
        self._force_cmd = self.inp.force_setpoint
        self._touched = False

    def _enter_reseek(self) -> None:
        # keep the admittance velocity (bumpless), drop the integral
        self.admittance.reset_integral()
        self._mark_start()
        self._guard_limit = self.reseek_distance
        self._touched = False

    def _run_guarded(self) -> None:
        """APPROACH and RESEEK: force-controlled along the probe axis with the velocity
        clamped to the approach speed, and to the touch speed once the axial force
        exceeds ``touch_force`` until contact (or until the force falls below
        ``TOUCH_RELEASE`` of it: skin that touched and moved away, e.g. breathing out,
        is followed at the approach speed); no integral; pose tracking elsewhere."""
        inp = self.inp
        self._force_cmd = inp.force_setpoint
        self._wdes[2] = inp.force_setpoint
        fz = self.out.axial_force
        change = self.contact.update(fz)
        e = self._err_ref.update_values()
        if self._touched:
            self._touched = fz >= self.touch_release
        else:
            self._touched = fz > self.touch_force
        self._schedule(
            self._vmax_guarded, self.touch_speed if self._touched else self.approach_speed
        )
        self.law.update(
            self._sel_guarded,
            e,
            self._w,
            self._wdes,
            self._ff_from_ref(),
            integrate=False,
            vmax=self._vmax_guarded,
        )
        self._to_joints()
        if change is _CONTACT_MADE:
            event = Event.CONTACT_MADE if self.mode is Mode.APPROACH else Event.CONTACT_REGAINED
            self.mode = Mode.CONTACT
            self._enter_contact()
            self.out.event = event
        elif self._travel() > self._guard_limit:
            failed = self.mode is Mode.APPROACH
            self.out.event = Event.APPROACH_FAILED if failed else Event.RESEEK_FAILED
            if failed:
                self._hold_at(inp.T_base_probe)
            else:
                self.mode = Mode.RETRACT
                self._enter_retract()

    def _enter_contact(self) -> None:
        # bumpless: keep the admittance velocity; start the setpoint ramp at the force
        # measured now so the probe eases into the target instead of overshooting
        inp = self.inp
        self.admittance.reset_integral()
        self._force_cmd = min(max(self.out.axial_force, 0.0), inp.force_setpoint)
        self.contact.reset(in_contact=True)
        self._settle_count = 0
        self._settled = False

    def _run_contact(self) -> None:
        inp = self.inp
        target = inp.force_setpoint
        step = self.setpoint_step
        fc0 = self._force_cmd
        fc = min(fc0 + step, target) if fc0 < target else max(fc0 - step, target)
        self._force_cmd = fc
        self._wdes[2] = fc
        fz = self.out.axial_force
        change = self.contact.update(fz)
        e = self._err_ref.update_values()
        al = self.alignment
        if al is not None:
            # track R_ref Rot(tilt): the tilt adds to the rotation error (small angles);
            # it learns only once the contact has settled (the stiffness estimate of the
            # first touch overshoots, the moments of the settling are not the skin's)
            if self._settled:
                w = self._w
                k = self.out.stiffness if self.estimator is not None else math.inf
                tx, ty = al.update(fz, w[3], w[4], k)
            else:
                tx, ty = al.tilt_x, al.tilt_y
            e = (e[0], e[1], e[2], e[3] + tx, e[4] + ty, e[5])
        ff = self._ff_from_ref()
        v_ff = self._schedule(self._vmax_contact, _NO_LIMIT)
        if fc != fc0 and self.scheduled:
            # the ramp's own motion: d(setpoint)/dt over the stiffness at the target (the
            # stiffest along the ramp on stiffening tissue: too slow rather than too fast)
            k = self.estimator.stiffness_at(max(fc, target))  # type: ignore[union-attr]
            v_ff += (fc - fc0) / (self.dt * k)
        if v_ff != 0.0:
            ff[2] += v_ff
        self.law.update(
            self.sel_contact,
            e,
            self._w,
            self._wdes,
            ff,
            integrate=True,
            vmax=self._vmax_contact,
        )
        self._to_joints()
        if not self._settled:
            near = abs(fz - target) < SETTLE_TOLERANCE_N and fc == target
            self._settle_count = self._settle_count + 1 if near else 0
            if self._settle_count >= self.settle_cycles:
                self._settled = True
                self.out.event = Event.SETTLED
        if change is _CONTACT_LOST and self.force_axis:
            self.mode = Mode.RESEEK
            self._enter_reseek()
            self.out.event = Event.CONTACT_LOST

    def _enter_retract(self) -> None:
        T = self.inp.T_base_probe
        self._T_retract[:] = T
        self._T_hold[:] = T
        self._mark_start()
        self._retract_d = 0.0
        self._retract_v = 0.0
        self.admittance.reset()
        self.contact.reset(in_contact=False)
        self._force_cmd = 0.0

    def _run_retract(self) -> None:
        """Trapezoidal speed profile along -z of the probe at retract start; the tip
        tracks the moving point (pose control on every axis)."""
        remaining = self.retract_distance - self._retract_d
        v = min(
            self.retract_speed,
            self._retract_v + self.retract_accel * self.dt,
            math.sqrt(2.0 * self.retract_accel * max(remaining, 0.0)),
        )
        self._retract_v = v
        self._retract_d = min(self._retract_d + v * self.dt, self.retract_distance)
        p = self._p_retract
        np.multiply(self._start_z, -self._retract_d, out=p)
        p += self._start_p
        # feed-forward along the probe axis (probe frame), the orientation is held
        self._track_pose(self._err_retract, (0.0, 0.0, -v, 0.0, 0.0, 0.0))
        if self._retract_d >= self.retract_distance - 1e-9 and v <= self.retract_accel * self.dt:
            self._hold_at(self._T_retract)
            self.out.event = Event.RETRACT_DONE


#: Controller variants by name: ``factory(cfg, limits, dt) -> ProbeController``.
CONTROLLERS: Registry[ProbeController] = Registry("force controller")


@CONTROLLERS.register("hybrid")
def _hybrid(cfg: ForceControlConfig, limits: JointLimits, dt: float) -> ProbeController:
    """Force along the axes of ``force_control.selection``, pose on the others."""
    return ProbeController(cfg, limits, dt)


@CONTROLLERS.register("position")
def _position(cfg: ForceControlConfig, limits: JointLimits, dt: float) -> ProbeController:
    """Pure pose tracking in contact (the guarded approach still uses the force)."""
    return ProbeController(cfg, limits, dt, selection=np.zeros(6))


@CONTROLLERS.register("compliance")
def _compliance(cfg: ForceControlConfig, limits: JointLimits, dt: float) -> ProbeController:
    """Every axis compliant: admittance on the wrench error plus a spring to the
    reference pose (config springs, or ``DEFAULT_COMPLIANCE_STIFFNESS`` where zero)."""
    kc = np.array(cfg.pose.compliance_stiffness, float)
    kc = np.where(kc > 0.0, kc, np.array(DEFAULT_COMPLIANCE_STIFFNESS))
    return ProbeController(cfg, limits, dt, selection=np.ones(6), compliance_stiffness=kc)


def make_controller(cfg: ForceControlConfig, limits: JointLimits, dt: float) -> ProbeController:
    """The controller named by ``cfg.controller``."""
    return CONTROLLERS.create(cfg.controller, cfg, limits, dt)
