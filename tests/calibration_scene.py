"""Synthetic eye-to-hand calibration data: a fixed camera, a ChArUco board on the flange,
robot poses that show the board tilted to the camera, corner pixels with noise."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from perception.charuco import CharucoConfig, CharucoView, make_board
from tests.perception_scene import look_at

K = np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]])
X_TRUE = look_at((0.95, 0.0, 0.85), (0.6, 0.0, 0.05))
Y_TRUE = np.eye(4)
Y_TRUE[:3, :3] = Rotation.from_euler("xyz", [180, 0, 90], degrees=True).as_matrix()
Y_TRUE[:3, 3] = [0.02, -0.03, 0.06]


def random_board_poses(rng, n, spec: CharucoConfig, max_tilt_deg=35.0) -> np.ndarray:
    """T_camera_board poses facing the camera, tilted, spread over the view."""
    centre = np.array([spec.squares_x, spec.squares_y, 0]) * spec.square_length / 2
    out = []
    for _ in range(n):
        axis = rng.normal(size=3)
        axis[2] = 0
        axis /= np.linalg.norm(axis)
        tilt = Rotation.from_rotvec(axis * np.radians(rng.uniform(10, max_tilt_deg)))
        spin = Rotation.from_euler("z", rng.uniform(-40, 40), degrees=True)
        R = (tilt * spin).as_matrix()
        c = np.array([rng.uniform(-0.12, 0.12), rng.uniform(-0.08, 0.08), rng.uniform(0.5, 0.8)])
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = c - R @ centre
        out.append(T)
    return np.array(out)


def perturb(T, rng, trans_std, rot_std_deg):
    """T followed by a small random motion (m, deg)."""
    D = np.eye(4)
    D[:3, :3] = Rotation.from_rotvec(rng.normal(0, np.radians(rot_std_deg), 3)).as_matrix()
    D[:3, 3] = rng.normal(0, trans_std, 3)
    return T @ D


def hand_eye_data(seed=0, n=20, pixel_noise=0.3, robot_trans=5e-5, robot_rot_deg=0.01, dist=None):
    """(measured T_base_flange, views, true T_camera_board) for ``n`` poses."""
    rng = np.random.default_rng(seed)
    spec = CharucoConfig()
    dist = np.zeros(5) if dist is None else np.asarray(dist, float)
    obj = make_board(spec).getChessboardCorners().astype(np.float64)
    B = random_board_poses(rng, n, spec)
    A_true = np.einsum("ij,njk,kl->nil", X_TRUE, B, np.linalg.inv(Y_TRUE))
    A = np.array([perturb(a, rng, robot_trans, robot_rot_deg) for a in A_true])
    views = []
    for Bi in B:
        px, _ = cv2.projectPoints(obj, cv2.Rodrigues(Bi[:3, :3])[0], Bi[:3, 3], K, dist)
        px = px.reshape(-1, 2) + rng.normal(0, pixel_noise, (len(obj), 2))
        views.append(CharucoView(px, np.arange(len(obj)), obj))
    return A, views, B


def pose_error(T_est, T_true):
    """(translation error mm, rotation error deg)."""
    dR = T_est[:3, :3].T @ T_true[:3, :3]
    ang = np.degrees(np.linalg.norm(Rotation.from_matrix(dR).as_rotvec()))
    return 1000 * np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]), ang


_RAYS: dict = {}


def render_board(spec: CharucoConfig, K, dist, T_camera_board, size=(640, 480), seed=0):
    """A greyscale camera image of the board (ray-plane intersection + remap, distortion
    included, mild blur and noise)."""
    from perception.camera_model import CameraModel
    from perception.charuco import board_image
    from robot_us.core.types import CameraIntrinsics

    ppm = 4000.0  # board texture resolution, px per metre
    margin = 40
    tex = board_image(spec, ppm, margin)
    tex = cv2.GaussianBlur(tex, (0, 0), 1.5)
    w, h = size
    key = (w, h, np.asarray(K, float).tobytes(), np.asarray(dist, float).tobytes())
    if key not in _RAYS:
        cam = CameraModel(CameraIntrinsics(w, h, np.asarray(K, float), np.asarray(dist, float)))
        _RAYS[key] = cam.ray_map()
    rm = _RAYS[key]
    d = np.concatenate([rm, np.ones((h, w, 1))], axis=2)
    R, t = T_camera_board[:3, :3], T_camera_board[:3, 3]
    n = R[:, 2]
    s = (n @ t) / (d @ n)
    P = d * s[..., None] - t
    X, Y = P @ R[:, 0], P @ R[:, 1]
    mapx = (X * ppm - 0.5 + margin).astype(np.float32)
    mapy = (Y * ppm - 0.5 + margin).astype(np.float32)
    img = cv2.remap(tex, mapx, mapy, cv2.INTER_LINEAR, borderValue=128)
    rng = np.random.default_rng(seed)
    img = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
    return img
