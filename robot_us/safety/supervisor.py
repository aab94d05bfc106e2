"""The safety supervisor: every layer, every cycle, after the controller and before the
command goes to the arm. Faults latch with their cause until ``reset``.

Reactions: STOP zeroes the joint velocity command in the cycle the fault is seen (and
every cycle after, until reset). RETRACT sets ``retract_requested`` in the cycle the
fault is raised; the control cycle then switches the controller to its controlled
retract in that same cycle and checks the new command again (the layers keep checking
during the retract: a hard fault still stops). The retract starts from the command that
was being sent, within the joint acceleration limit: zeroing the command abruptly would
jolt the probe against the tissue. CLIP means a layer limited the command; it is not a
fault.

Layer order: inputs that invalidate everything first (E-stop, arm stopped, missed
deadlines, stale sensor), then force, workspace and joint-position limits, and the
velocity clips last so that nothing after them can raise a clipped command again.

Real-time contract: ``check`` allocates nothing except the ``Fault`` record when a new
fault is latched; layers were built from the config at construction. The layers' bound
``check`` methods are collected once, and reactions are compared with module constants
(``faults.NONE`` ...), not read off the enum class every cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robot_us.core.backends import EStop
from robot_us.core.kinematics import JointLimits
from robot_us.safety.arm_stop import ArmStopped
from robot_us.safety.config import SafetyConfig
from robot_us.safety.estop import EStopLayer
from robot_us.safety.faults import CLIP, NONE, RETRACT, STOP, Fault, FaultLatch, Reaction
from robot_us.safety.force_ceiling import ForceCeiling
from robot_us.safety.force_rate import ForceRate
from robot_us.safety.joint_position import JointPosition
from robot_us.safety.joint_velocity import JointVelocity
from robot_us.safety.layer import SafetyLayer
from robot_us.safety.missed_deadlines import MissedDeadlines
from robot_us.safety.signals import SafetySignals
from robot_us.safety.tool_speed import ToolSpeed
from robot_us.safety.workspace import Workspace
from robot_us.safety.wrench_staleness import WrenchStaleness


class SafetyResetError(RuntimeError):
    """A reset was refused because a fault condition is still present."""


@dataclass
class SupervisorResult:
    """Outcome of one cycle (the same object every cycle)."""

    reaction: Reaction = Reaction.NONE  # the latched reaction in force (or CLIP / NONE)
    new_fault: Fault | None = None  # the fault latched this cycle, if any
    retract_requested: bool = False  # a RETRACT fault was latched this cycle
    clipped: bool = False  # some layer limited the command this cycle


class SafetySupervisor:
    """Runs the layers in order, latches faults and applies the reaction to ``cmd``."""

    def __init__(self, layers: Sequence[SafetyLayer]) -> None:
        self.layers = tuple(layers)
        self._checks = tuple((layer, layer.check) for layer in self.layers)
        self.latch = FaultLatch()
        self.result = SupervisorResult()

    @property
    def faulted(self) -> bool:
        """True while any fault is latched."""
        return self.latch.active

    def check(self, s: SafetySignals, cmd: np.ndarray) -> SupervisorResult:
        """Check one cycle; limits or zeroes ``cmd`` (rad/s) in place."""
        res = self.result
        res.new_fault = None
        res.retract_requested = False
        res.clipped = False
        latch = self.latch
        for layer, check in self._checks:
            r = check(s, cmd)
            if r is NONE:
                continue
            if r is CLIP:
                res.clipped = True
                continue
            if latch.has(layer.code):
                continue
            fault = Fault(
                layer.code,
                r,
                s.cycle,
                s.t,
                float(layer.value),
                float(layer.limit),
                layer.unit,
                layer.what,
                layer.index,
                layer.index_label,
            )
            latch.latch(fault)
            if res.new_fault is None or fault.reaction > res.new_fault.reaction:
                res.new_fault = fault
            if r is RETRACT:
                res.retract_requested = True
        if latch.reaction is STOP:
            cmd[:] = 0.0
        res.reaction = latch.reaction if latch.faults else (CLIP if res.clipped else NONE)
        return res

    def reset(self) -> None:
        """Clear the latched faults. Refused (``SafetyResetError``) while an E-stop is
        still engaged; other conditions re-latch on the next cycle if still present."""
        for layer in self.layers:
            if isinstance(layer, EStopLayer) and layer.any_pressed():
                raise SafetyResetError("cannot reset: an E-stop is still engaged")
        self.latch.clear()
        for layer in self.layers:
            layer.reset()


def make_supervisor(
    cfg: SafetyConfig,
    limits: JointLimits,
    dt: float,
    estops: Sequence[EStop] = (),
) -> SafetySupervisor:
    """The standard layer stack from ``[safety]`` for an arm with ``limits``."""
    layers: list[SafetyLayer] = [
        EStopLayer(estops),
        ArmStopped(),
        MissedDeadlines(cfg.max_missed_deadlines),
        WrenchStaleness(cfg.wrench_timeout, dt),
        ForceCeiling(cfg.force_soft_limit, cfg.force_hard_limit),
        ForceRate(cfg.force_rate_limit, cfg.force_rate_window, dt),
        Workspace(np.array(cfg.workspace_min), np.array(cfg.workspace_max), cfg.workspace_margin),
        JointPosition(limits.lower, limits.upper, cfg.joint_margin, cfg.joint_hard_margin),
        ToolSpeed(cfg.tool_speed_limit, cfg.tool_speed_tolerance),
        JointVelocity(limits.velocity * cfg.joint_velocity_scale, cfg.joint_velocity_tolerance),
    ]
    return SafetySupervisor(layers)
