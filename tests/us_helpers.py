"""Shared helpers of the ultrasound tests: a small simulator and probe poses on the phantom."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from robot_us.config import Config
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.bmode import BModeSimulator
from sim.ultrasound.dataset import probe_pose_on_skin
from sim.ultrasound.phantom_volume import RIB

CFG = Config()
GEOM = PhantomGeometry.from_config(CFG.sim.phantom, CFG.sim.bed)
#: Base-frame y of the rib (``phantom_volume.RIB``).
RIB_Y = GEOM.center_y + RIB.y


@lru_cache(maxsize=6)
def small_sim(kind: str = "linear", size: int = 96, gel: bool = True) -> BModeSimulator:
    """A simulator with small frames (fast tests)."""
    us = dataclasses.replace(CFG.ultrasound.sim, width_px=size, height_px=size, gel=gel)
    probe = dataclasses.replace(CFG.probe, geometry=kind)
    return BModeSimulator(us, probe, GEOM)


def on_skin(theta=0.0, y=0.0, yaw=0.0, roll=0.0, press=0.002, dz=0.0) -> np.ndarray:
    """Probe pose on the skin (see ``probe_pose_on_skin``)."""
    return probe_pose_on_skin(GEOM, theta, y, yaw, roll=roll, press=press, dz=dz)
