"""Calibration maths: ChArUco intrinsics and eye-to-hand calibration on synthetic data
with realistic noise (0.3 px corner noise, 0.1 mm / 0.02 deg robot pose noise)."""

import numpy as np
import pytest

from perception.charuco import (
    CalibrationError,
    CharucoConfig,
    board_pose,
    calibrate_intrinsics,
)
from perception.hand_eye import SOLVERS, calibrate_eye_to_hand, calibrate_from_views
from robot_us.core.registry import RegistryError
from tests.calibration_scene import (
    X_TRUE,
    Y_TRUE,
    K,
    hand_eye_data,
    pose_error,
    random_board_poses,
    render_board,
)

SPEC = CharucoConfig()


@pytest.mark.parametrize("method", SOLVERS.names())
def test_every_solver_is_exact_without_noise(method):
    _, _, B = hand_eye_data(seed=0, n=8, pixel_noise=0.0)
    A = np.einsum("ij,njk,kl->nil", X_TRUE, B, np.linalg.inv(Y_TRUE))
    r = calibrate_eye_to_hand(A, B, method)
    e_x = pose_error(r.T_base_camera, X_TRUE)
    e_y = pose_error(r.T_flange_target, Y_TRUE)
    assert e_x[0] < 1e-3 and e_x[1] < 1e-4, e_x  # mm, deg
    assert e_y[0] < 1e-3 and e_y[1] < 1e-4, e_y
    assert r.trans_residual_mm.max() < 1e-3 and r.rot_residual_deg.max() < 1e-4


@pytest.mark.parametrize("method", ["park", "shah"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_camera_pose_within_1mm_and_0p2deg_with_noise(method, seed):
    A, views, _ = hand_eye_data(seed=seed, n=20, robot_trans=1e-4, robot_rot_deg=0.02)
    r = calibrate_from_views(A, views, K, np.zeros(5), method)
    mm, deg = pose_error(r.T_base_camera, X_TRUE)
    assert mm < 1.0 and deg < 0.2, (mm, deg)
    s = r.summary()
    assert s["refined"] and s["n_poses"] == 20
    assert 0.3 < s["reprojection_rms_px"] < 0.6  # 0.3 px per axis -> ~0.42 px RMS


def test_residuals_point_at_a_bad_pose():
    A, views, _ = hand_eye_data(seed=4, n=15)
    A[6, :3, 3] += [0.0, 0.03, 0.0]  # the robot reported a wrong pose
    r = calibrate_from_views(A, views, K, np.zeros(5), "park")
    assert int(np.argmax(r.trans_residual_mm)) == 6
    assert r.trans_residual_mm[6] > 10.0


def test_too_few_or_degenerate_poses():
    A, _, B = hand_eye_data(seed=0, n=6)
    with pytest.raises(CalibrationError, match="at least 3 poses"):
        calibrate_eye_to_hand(A[:2], B[:2])
    # pure translations of the flange: no rotation information
    A_t = np.repeat(A[:1], 6, axis=0)
    A_t[:, :3, 3] += np.random.default_rng(0).normal(0, 0.05, (6, 3))
    with pytest.raises(CalibrationError, match="two different axes"):
        calibrate_eye_to_hand(A_t, B)
    with pytest.raises(RegistryError, match="unknown hand-eye method"):
        calibrate_eye_to_hand(A, B, "magic")


def _intrinsic_views(dist, n=12, seed=1):
    rng = np.random.default_rng(seed)
    poses = random_board_poses(rng, n, SPEC, max_tilt_deg=45)
    poses[:, 2, 3] -= 0.2  # closer: the board covers more of the image
    return [render_board(SPEC, K, dist, b, seed=i) for i, b in enumerate(poses)], poses


def test_intrinsics_from_charuco_images():
    dist = np.array([-0.12, 0.05, 0.0005, -0.0008, 0.0])
    images, _ = _intrinsic_views(dist)
    r = calibrate_intrinsics(images, SPEC)
    assert r.n_views == 12 and r.rms_px < 0.3
    assert abs(r.K[0, 0] - K[0, 0]) / K[0, 0] < 0.005
    assert abs(r.K[1, 1] - K[1, 1]) / K[1, 1] < 0.005
    assert np.hypot(r.K[0, 2] - K[0, 2], r.K[1, 2] - K[1, 2]) < 3.0
    assert abs(r.dist[0] - dist[0]) < 0.02


def test_board_pose_from_an_image():
    _, poses = _intrinsic_views(np.zeros(5), n=1, seed=3)
    img = render_board(SPEC, K, np.zeros(5), poses[0])
    p = board_pose(img, SPEC, K, np.zeros(5))
    mm, deg = pose_error(p.T_camera_board, poses[0])
    assert p.n_corners >= 30 and mm < 1.0 and deg < 0.3


def test_intrinsics_need_enough_views():
    blank = np.full((480, 640), 128, np.uint8)
    with pytest.raises(CalibrationError, match="found in 0 of 5 images"):
        calibrate_intrinsics([blank] * 5, SPEC)
    with pytest.raises(CalibrationError, match="board not found"):
        board_pose(blank, SPEC, K, np.zeros(5))
