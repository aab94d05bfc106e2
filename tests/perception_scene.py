"""Synthetic RGB-D frames for perception tests: ray-cast the exact phantom (cylinder
segment with flat end caps) and the bed plane through a pinhole camera. Fast (a few ms at
160 x 120); the ray casting does not use pybullet (the camera pose comes from sim.camera)."""

from __future__ import annotations

import numpy as np

from perception.camera_model import CameraModel
from robot_us.config import Config
from robot_us.core.types import CameraIntrinsics, RgbdFrame
from sim.camera import look_at
from sim.phantom_geometry import PhantomGeometry


def default_geometry() -> PhantomGeometry:
    cfg = Config()
    return PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)


def default_intrinsics(scale: float = 1.0, dist=None) -> CameraIntrinsics:
    """The sim camera's intrinsics (640 x 480, f = 600 px), optionally scaled down."""
    c = Config().sim.camera
    w, h = round(c.width * scale), round(c.height * scale)
    K = np.array([[c.fx * scale, 0, (w - 1) / 2], [0, c.fy * scale, (h - 1) / 2], [0, 0, 1]])
    return CameraIntrinsics(w, h, K, np.zeros(5) if dist is None else np.asarray(dist, float))


def render(
    geom: PhantomGeometry,
    intr: CameraIntrinsics,
    T_base_camera: np.ndarray,
    noise: float = 0.0,
    dropout: float = 0.0,
    seed: int = 0,
    with_mask: bool = True,
) -> RgbdFrame:
    """Depth (m along the optical axis, 0 = invalid) of phantom and bed, the body mask and a
    flat-shaded RGB image."""
    cam = CameraModel(intr)
    rm = cam.ray_map()
    d_cam = np.concatenate([rm, np.ones((*rm.shape[:2], 1))], axis=2)
    R, o = T_base_camera[:3, :3], T_base_camera[:3, 3]
    d = d_cam @ R.T  # base-frame directions; t along them is the optical-axis depth
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    ox, oz = o[0] - geom.center_x, o[2] - geom.axis_z
    half = geom.length / 2
    best = np.full(dx.shape, np.inf)
    body = np.zeros(dx.shape, bool)

    def consider(t, ok, is_body):
        nonlocal best, body
        ok = ok & (t > 1e-6) & (t < best)
        best = np.where(ok, t, best)
        body = np.where(ok, is_body, body)

    # curved skin
    a = dx * dx + dz * dz
    b = 2 * (ox * dx + oz * dz)
    c = ox * ox + oz * oz - geom.radius**2
    disc = b * b - 4 * a * c
    sq = np.sqrt(np.maximum(disc, 0))
    for sign in (-1.0, 1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (-b + sign * sq) / (2 * a)
        y = o[1] + t * dy
        z = o[2] + t * dz
        consider(t, (disc >= 0) & (np.abs(y - geom.center_y) <= half) & (z >= geom.bed_z), True)
    # end caps
    for yc in (geom.center_y - half, geom.center_y + half):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (yc - o[1]) / dy
        x = o[0] + t * dx - geom.center_x
        z = o[2] + t * dz
        inside = x * x + (z - geom.axis_z) ** 2 <= geom.radius**2
        consider(t, np.isfinite(t) & inside & (z >= geom.bed_z), True)
    # bed (infinite plane)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (geom.bed_z - o[2]) / dz
    consider(t, np.isfinite(t), False)

    depth = np.where(np.isfinite(best), best, 0.0)
    rng = np.random.default_rng(seed)
    if noise > 0:
        depth = depth + rng.normal(0.0, noise, depth.shape) * (depth > 0)
    if dropout > 0:
        depth[rng.random(depth.shape) < dropout] = 0.0
    rgb = np.where(body[..., None], [205, 160, 140], [90, 110, 120]).astype(np.uint8)
    return RgbdFrame(
        t=0.0,
        rgb=rgb,
        depth=depth.astype(np.float32),
        intrinsics=intr,
        T_base_camera=T_base_camera.copy(),
        mask=body if with_mask else None,
    )


def default_frame(scale: float = 0.5, **kw) -> tuple[RgbdFrame, PhantomGeometry]:
    """A frame of the default phantom from the sim camera's pose."""
    c = Config().sim.camera
    geom = default_geometry()
    return render(geom, default_intrinsics(scale), look_at(c.eye, c.target), **kw), geom


def skin_stroke(geom: PhantomGeometry, frame: RgbdFrame, theta, y, n: int = 12) -> np.ndarray:
    """Pixels of ``n`` mouse samples along a straight line in (theta, y) on the skin from
    (theta[0], y[0]) to (theta[1], y[1])."""
    s = np.linspace(0, 1, n)
    p, _ = geom.surface_point(theta[0] + s * (theta[1] - theta[0]), y[0] + s * (y[1] - y[0]))
    T_cam_base = np.linalg.inv(frame.T_base_camera)
    pc = p @ T_cam_base[:3, :3].T + T_cam_base[:3, 3]
    return CameraModel(frame.intrinsics).project(pc)


def errors(geom: PhantomGeometry, points: np.ndarray, normals: np.ndarray):
    """Point error (m, distance to the closest skin point) and normal error (rad)."""
    cp, cn = geom.closest_point(points)
    perr = np.linalg.norm(points - cp, axis=1)
    nerr = np.arccos(np.clip(np.sum(normals * cn, axis=1), -1.0, 1.0))
    return perr, nerr
