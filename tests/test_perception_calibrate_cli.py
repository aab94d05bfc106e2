"""`robot-us calibrate` end to end on rendered ChArUco images: intrinsics, then the
camera pose from robot poses; the result lands in a calibration.json that map-stroke reads."""

import json

import cv2
import numpy as np
import pytest

from perception.charuco import CharucoConfig
from robot_us.cli import main
from robot_us.perception_files import load_calibration
from tests.calibration_scene import (
    X_TRUE,
    Y_TRUE,
    K,
    perturb,
    pose_error,
    random_board_poses,
    render_board,
)

SPEC = CharucoConfig()
DIST = np.array([-0.08, 0.03, 0.0, 0.0, 0.0])


@pytest.mark.slow
def test_calibrate_intrinsics_then_hand_eye(tmp_path, capsys):
    rng = np.random.default_rng(5)
    intr = random_board_poses(rng, 10, SPEC, max_tilt_deg=45)
    intr[:, 2, 3] -= 0.2
    for i, b in enumerate(intr):
        cv2.imwrite(str(tmp_path / f"intr_{i:02d}.png"), render_board(SPEC, K, DIST, b, seed=i))
    B = random_board_poses(rng, 18, SPEC)
    poses = []
    for i, b in enumerate(B):
        A = perturb(X_TRUE @ b @ np.linalg.inv(Y_TRUE), rng, 1e-4, 0.02)
        name = f"he_{i:02d}.png"
        cv2.imwrite(str(tmp_path / name), render_board(SPEC, K, DIST, b, seed=100 + i))
        poses.append({"T_base_flange": A.tolist(), "image": name})
    (tmp_path / "hand_eye.json").write_text(json.dumps({"poses": poses}))
    out = tmp_path / "calibration.json"
    args = ["calibrate", "--intrinsics-images", str(tmp_path / "intr_*.png")]
    args += ["--hand-eye", str(tmp_path / "hand_eye.json"), "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "intrinsics from 10 of 10 images" in printed and "residuals" in printed
    calib = load_calibration(out)
    mm, deg = pose_error(calib.T_base_camera, X_TRUE)
    assert mm < 1.0 and deg < 0.2, (mm, deg)
    assert abs(calib.intrinsics.K[0, 0] - 600.0) < 3.0
    assert calib.hand_eye["n_poses"] == 18 and calib.hand_eye["refined"]


def test_calibrate_errors(tmp_path, capsys):
    assert main(["calibrate", "--out", str(tmp_path / "c.json")]) == 2
    assert "nothing to do" in capsys.readouterr().err
    (tmp_path / "he.json").write_text('{"poses": []}')
    args = ["calibrate", "--hand-eye", str(tmp_path / "he.json"), "--out", str(tmp_path / "c")]
    assert main(args) == 2
    assert "needs the camera intrinsics" in capsys.readouterr().err
    assert main([*args[:-2], "--intrinsics-images", str(tmp_path / "none*.png"), *args[-2:]]) == 2
    assert "no images match" in capsys.readouterr().err
