"""Test helpers for whole scans on the simulated cell: strokes drawn on the simulated
camera's image over chosen skin points, a short-scan configuration, device wrappers that
inject faults."""

from __future__ import annotations

import numpy as np

from perception.camera_model import CameraModel
from robot_us.config import Config, load_config
from robot_us.core.backends import WrenchSensor
from robot_us.core.types import CameraIntrinsics
from sim.camera import look_at
from sim.phantom_geometry import PhantomGeometry

#: Overrides that keep test scans short: a 20 mm stand-off (2 s guarded approach), on the
#: ideal plant whatever the default profile is.
SHORT = {"trajectory.standoff": 0.02, "sim.profile": "ideal"}


def short_config(**overrides) -> Config:
    """The default configuration with ``SHORT`` and ``overrides`` (dotted keys)."""
    return load_config(overrides={**SHORT, **overrides})


def stroke_on_skin(cfg: Config, theta: tuple, y: tuple, n: int = 8) -> np.ndarray:
    """Pixels (N x 2) on the simulated camera's image of skin points from (theta0, y0) to
    (theta1, y1) (rad, m), as an operator would draw them."""
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    p, _ = g.surface_point(np.linspace(*theta, n), np.linspace(*y, n))
    return project(cfg, p)


def project(cfg: Config, points: np.ndarray) -> np.ndarray:
    """Base-frame points (N x 3) -> pixels of the simulated camera."""
    cam = cfg.sim.camera
    T = np.linalg.inv(look_at(cam.eye, cam.target))
    K = np.array(
        [[cam.fx, 0.0, 0.5 * (cam.width - 1)], [0.0, cam.fy, 0.5 * (cam.height - 1)], [0, 0, 1]]
    )
    model = CameraModel(CameraIntrinsics(cam.width, cam.height, K))
    return model.project(points @ T[:3, :3].T + T[:3, 3])


class InjectingWrench(WrenchSensor):
    """Wraps a sensor: adds ``offset`` (sensor frame) to every reading; ``freeze`` stops
    new samples (a stale sensor)."""

    def __init__(self, inner: WrenchSensor) -> None:
        self.inner = inner
        self.rate_hz = inner.rate_hz
        self.offset = np.zeros(6)
        self.freeze = False

    def read(self, out) -> bool:
        if self.freeze:
            return False
        new = self.inner.read(out)
        out.wrench += self.offset
        return new


#: ``robot-us demo`` arguments that pin the plant the tests' strokes and figures were made
#: for (the demo's own default is the realistic torso).
DEMO_IDEAL_CYLINDER = ("--profile", "ideal", "--shape", "cylinder")
