"""The simulated RGB-D camera: the pybullet projection reproduces the pinhole K (rendered
depth deprojects onto the exact phantom surface), OpenCV conventions, seeded depth noise
and dropout, a phantom mask, and the arm at home does not hide the phantom."""

import numpy as np
import pybullet as p
import pytest

from perception.camera_model import CameraModel
from robot_us.core.arms import simulated_arms
from robot_us.core.types import RgbdFrame
from sim.camera import gl_projection, look_at, zbuffer_to_depth
from sim.cell import make_sim_cell
from tests.sim_helpers import sim_config

SMALL = {"sim.camera.width": 160, "sim.camera.height": 120, "sim.camera.fx": 150.0}


def _cfg(extra=None):
    o = dict(SMALL, **{"sim.camera.fy": 155.0})
    o.update(extra or {})
    return sim_config(o)


def _deproject(frame: RgbdFrame, sel: np.ndarray) -> np.ndarray:
    v, u = np.nonzero(sel)
    Z = frame.depth[v, u].astype(float)
    pc = CameraModel(frame.intrinsics).rays(np.column_stack([u, v])) * Z[:, None]
    T = frame.T_base_camera
    return pc @ T[:3, :3].T + T[:3, 3]


def _interior(mask: np.ndarray) -> np.ndarray:
    m = mask.copy()
    for axis in (0, 1):  # erode by 2 px: silhouette pixels mix surfaces
        for s in (-2, -1, 1, 2):
            m &= np.roll(mask, s, axis=axis)
    return m


@pytest.mark.parametrize(
    "eye", [(0.95, 0.0, 0.85), (0.9, 0.7, 0.8), (0.6, 0.0, 0.9)], ids=["default", "oblique", "down"]
)
def test_depth_deprojects_onto_the_exact_phantom(eye):
    cell = make_sim_cell(_cfg({"sim.camera.eye": list(eye)}))
    try:
        f = cell.camera.capture()
        assert f.rgb.shape == (120, 160, 3) and f.rgb.dtype == np.uint8
        assert f.depth.shape == (120, 160) and f.depth.dtype == np.float32
        assert f.mask.dtype == bool
        sel = _interior(f.mask) & (f.depth > 0)
        assert sel.sum() > 500
        pts = _deproject(f, sel)
        g = cell.sim.geometry
        skin = np.abs(pts[:, 1] - g.center_y) < 0.5 * g.length - 1e-3  # not an end cap
        assert skin.sum() > 500
        err = np.abs(g.signed_distance(pts[skin]))
        assert err.max() < 1e-3  # measured: ~1 um
    finally:
        cell.close()


def test_intrinsics_and_pose_follow_opencv_conventions():
    cfg = _cfg()
    cell = make_sim_cell(cfg)
    try:
        cam = cell.camera
        K = cam.intrinsics.K
        assert np.allclose(K, [[150, 0, 79.5], [0, 155, 59.5], [0, 0, 1]])
        assert np.array_equal(cam.intrinsics.dist, np.zeros(5))
        T = cam.T_base_camera
        assert np.allclose(T[:3, :3].T @ T[:3, :3], np.eye(3))
        assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)
        eye, target = np.array(cfg.sim.camera.eye), np.array(cfg.sim.camera.target)
        assert np.allclose(T[:3, 3], eye)
        # optical axis (z) through the target: it projects to the principal point
        pc = np.linalg.inv(T) @ np.r_[target, 1.0]
        uv = (K @ pc[:3])[:2] / pc[2]
        assert np.allclose(uv, K[:2, 2])
        # image y points down: base +z (up) projects towards the image top
        assert T[:3, 1] @ np.array([0, 0, 1.0]) < 0
    finally:
        cell.close()


def test_projection_matrix_maps_pixels_like_k():
    K = np.array([[600.0, 0, 300.0], [0, 610.0, 250.0], [0, 0, 1]])
    P = gl_projection(K, 640, 480, 0.1, 3.0)
    X = np.array([0.1, -0.05, 0.8])  # camera (OpenCV) coordinates
    clip = P @ np.array([X[0], -X[1], -X[2], 1.0])  # OpenGL eye coordinates
    ndc = clip[:3] / clip[3]
    u = (ndc[0] + 1) / 2 * 640  # tiny renderer: pixel u at window x = u
    v = 480 - 1 - (ndc[1] + 1) / 2 * 480  # pixel v at window y = H - 1 - v
    assert np.allclose([u, v], (K @ X)[:2] / X[2])
    zb = (ndc[2] + 1) / 2
    assert zbuffer_to_depth(np.array([zb, 1.0]), 0.1, 3.0) == pytest.approx([0.8, 0.0])


def test_look_at_straight_down_is_well_defined():
    T = look_at([0.6, 0, 1.0], [0.6, 0, 0])
    assert np.allclose(T[:3, 2], [0, 0, -1])
    assert np.allclose(T[:3, 1], [1, 0, 0])  # image top towards the robot (-x)
    with pytest.raises(ValueError, match="coincide"):
        look_at([1, 1, 1], [1, 1, 1])


def test_depth_noise_and_dropout_statistics():
    clean = make_sim_cell(_cfg())
    noisy = make_sim_cell(_cfg({"sim.camera.depth_noise_std": 0.002, "sim.camera.dropout": 0.1}))
    try:
        f0, f1 = clean.camera.capture(), noisy.camera.capture()
        valid = f0.depth > 0
        kept = valid & (f1.depth > 0)
        dropped = 1.0 - kept.sum() / valid.sum()
        assert dropped == pytest.approx(0.1, abs=0.02)
        resid = (f1.depth - f0.depth)[kept]
        assert resid.mean() == pytest.approx(0.0, abs=2e-4)
        assert resid.std() == pytest.approx(0.002, rel=0.1)
        assert np.array_equal(f0.mask, f1.mask)
        again = make_sim_cell(
            _cfg({"sim.camera.depth_noise_std": 0.002, "sim.camera.dropout": 0.1})
        )
        try:
            assert np.array_equal(again.camera.capture().depth, f1.depth)  # seeded
        finally:
            again.close()
    finally:
        clean.close()
        noisy.close()


def test_arm_at_home_does_not_hide_the_phantom():
    for model in simulated_arms():
        cell = make_sim_cell(sim_config({"robot.model": model}))
        try:
            w = cell.sim
            with_arm = cell.camera.capture()
            p.resetBasePositionAndOrientation(
                w.robot_id, [5.0, 5.0, -5.0], [0, 0, 0, 1], physicsClientId=w.client
            )
            without_arm = cell.camera.capture()
            assert with_arm.mask.sum() > 10_000
            assert np.array_equal(with_arm.mask, without_arm.mask), model
        finally:
            cell.close()


def test_zbuffer_background_is_invalid():
    zb = np.array([[0.5, 0.99999999, 1.0]])
    d = zbuffer_to_depth(zb, 0.1, 3.0)
    assert d[0, 0] > 0 and d[0, 1] == 0.0 and d[0, 2] == 0.0
