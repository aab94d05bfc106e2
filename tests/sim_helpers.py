"""Shared helpers of the simulation tests: build a world, put the probe at a pose
(inverse kinematics + a short servo hold) and average sensor readings."""

from __future__ import annotations

import numpy as np

from robot_us.config import load_config
from robot_us.demo_control import PoseServo, WrenchCompensator
from robot_us.types import ArmState, WrenchSample


def sim_config(overrides: dict | None = None):
    """The default config with dotted-key overrides, e.g. ``{"robot.model": "lbr"}``."""
    return load_config(overrides=overrides)


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
    T_flange = T_base_probe @ np.linalg.inv(world.T_flange_probe)
    q0 = world.q_home if q0 is None else q0
    sol = world.kin.ets.ik_LM(T_flange, q0=q0, ilimit=100, slimit=20, tol=1e-10)
    assert sol.success, f"IK failed for {T_base_probe[:3, 3]}"
    return np.array(sol.q)


def hold(cell, T_target: np.ndarray, cycles: int, servo: PoseServo | None = None) -> None:
    """Servo the probe to ``T_target`` for ``cycles`` control periods."""
    world = cell.sim
    servo = servo or PoseServo(world.kin)
    st = ArmState(world.kin.n)
    for _ in range(cycles):
        cell.arm.read(st)
        cell.arm.command_velocity(servo.update(st.q, T_target))
        cell.step_plant()


def press(cell, T_target: np.ndarray, settle: int = 400) -> None:
    """Teleport the arm to the IK solution of ``T_target`` and hold it there."""
    cell.sim.reset_joints(ik(cell.sim, T_target))
    hold(cell, T_target, settle)


def average(cell, T_target: np.ndarray, cycles: int, cfg) -> dict:
    """Hold ``T_target`` for ``cycles`` and average: contact force, gravity-compensated
    F/T wrench (exact bias from config), indentation."""
    world = cell.sim
    servo = PoseServo(world.kin)
    comp = WrenchCompensator(cfg.probe.mass, np.array(cfg.probe.com))
    comp.bias[:] = cfg.sim.ft.bias
    st, ws = ArmState(world.kin.n), WrenchSample()
    f_true, w_ft, depth = [], [], []
    for _ in range(cycles):
        cell.arm.read(st)
        cell.wrench.read(ws)
        R = world.kin.fk(st.q)[:3, :3]
        w_ft.append(comp.update(ws.wrench, R).copy())
        f_true.append(world.contact_force())
        depth.append(world.indentation())
        cell.arm.command_velocity(servo.update(st.q, T_target))
        cell.step_plant()
    return {
        "force": float(np.mean(f_true)),
        "force_std": float(np.std(f_true)),
        "ft": np.mean(w_ft, axis=0),
        "indentation": float(np.mean(depth)),
    }
