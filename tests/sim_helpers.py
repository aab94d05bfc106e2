"""Shared helpers of the simulation tests: build a world, put the probe at a pose
(inverse kinematics + a short servo hold) and average sensor readings."""

from __future__ import annotations

import numpy as np

from force_control import make_controller
from force_control.gravity import ProbeLoad
from robot_us.config import load_config
from robot_us.core.types import ArmState, WrenchSample

#: The plant profile the unit tests pin: the ideal plant, whatever the default is, so a
#: test's figures keep their meaning (docs/simulation.md, "Plant profiles").
IDEAL = {"sim.profile": "ideal"}


def sim_config(overrides: dict | None = None):
    """The default config on the ideal plant with dotted-key overrides, e.g.
    ``{"robot.model": "lbr"}`` (an override of ``sim.profile`` wins)."""
    return load_config(overrides={**IDEAL, **(overrides or {})})


def yaw_pose(world, x: float, y: float, z: float, yaw: float = 0.0) -> np.ndarray:
    """T_base_probe at (x, y, z) with the home orientation turned by ``yaw`` about base z."""
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out = np.eye(4)
    out[:3, :3] = Rz @ world.kin.fk(world.q_home)[:3, :3]
    out[:3, 3] = (x, y, z)
    return out


def ik(world, T_base_probe: np.ndarray, q0: np.ndarray | None = None) -> np.ndarray:
    """Joint positions (rad) putting the probe at ``T_base_probe``."""
    q, ok, _ = world.kin.ik(T_base_probe, world.q_home if q0 is None else q0)
    assert ok, f"IK failed for {T_base_probe[:3, 3]}"
    return q


class PoseTracker:
    """The probe controller tracking a pose (its TRACK mode: pose gain, feed-forward,
    damped least squares, joint rate limits) on a simulated cell, without the wrench
    pipeline and the safety layers: these tests check the plant, not the controller."""

    def __init__(self, cell) -> None:
        world = cell.sim
        self.cell = cell
        self.kin = world.kin
        self.ctl = make_controller(world.cfg.force_control, world.kin.limits, world.dt)
        self.inp = self.ctl.inp
        self.state = ArmState(self.kin.n, q=self.inp.q, qd=self.inp.qd)
        self.ctl.track()

    def step(self, T_target: np.ndarray, twist: np.ndarray | None = None) -> None:
        """Read the arm, command it towards ``T_target`` (4x4, base) with the feed-forward
        ``twist`` ([v; w], base frame, m/s and rad/s); does not step the plant."""
        inp = self.inp
        self.cell.arm.read(self.state)
        self.kin.fk(inp.q, out=inp.T_base_probe)
        self.kin.jacobian(inp.q, out=inp.J)
        inp.T_base_ref[:] = T_target
        inp.twist_ref[:] = 0.0 if twist is None else twist
        self.cell.arm.command_velocity(self.ctl.update().qd)


def hold(cell, T_target: np.ndarray, cycles: int) -> None:
    """Servo the probe to ``T_target`` for ``cycles`` control periods."""
    servo = PoseTracker(cell)
    for _ in range(cycles):
        servo.step(T_target)
        cell.step_plant()


def press(cell, T_target: np.ndarray, settle: int = 400) -> None:
    """Teleport the arm to the IK solution of ``T_target`` and hold it there."""
    cell.sim.reset_joints(ik(cell.sim, T_target))
    hold(cell, T_target, settle)


def average(cell, T_target: np.ndarray, cycles: int, cfg) -> dict:
    """Hold ``T_target`` for ``cycles`` and average: contact force, gravity-compensated
    F/T wrench (exact bias from config), indentation."""
    world = cell.sim
    servo = PoseTracker(cell)
    load = ProbeLoad(cfg.probe.mass, np.array(cfg.probe.com))
    bias = np.array(cfg.sim.ft.bias)
    ws, g = WrenchSample(), np.zeros(6)
    f_true, w_ft, depth = [], [], []
    for _ in range(cycles):
        servo.step(T_target)  # reads the arm: the pose below is this cycle's
        cell.wrench.read(ws)
        R = servo.inp.T_base_probe[:3, :3]  # the sensor shares the probe's axes
        w_ft.append(ws.wrench - bias - load.wrench(R, g))
        f_true.append(world.contact_force())
        depth.append(world.indentation())
        cell.step_plant()
    return {
        "force": float(np.mean(f_true)),
        "force_std": float(np.std(f_true)),
        "ft": np.mean(w_ft, axis=0),
        "indentation": float(np.mean(depth)),
    }
