"""`robot-us map-stroke` and the perception file formats: a good run writes path.json;
bad input exits 1 with the cause on stderr."""

import json
import re

import numpy as np
import pytest

from perception.camera_calibration import CameraCalibration
from robot_us.cli import main
from robot_us.perception_files import (
    FileFormatError,
    load_calibration,
    load_scene,
    save_calibration,
    save_scene,
    save_stroke,
)
from tests.perception_scene import default_frame, errors, skin_stroke


@pytest.fixture
def files(tmp_path):
    frame, geom = default_frame(scale=0.5, noise=0.001, dropout=0.02)
    save_scene(tmp_path / "scene.npz", frame)
    save_stroke(tmp_path / "stroke.json", skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1)))
    return tmp_path, frame, geom


def run(tmp, *extra, stroke="stroke.json", scene="scene.npz"):
    return main(
        [
            "map-stroke",
            "--scene",
            str(tmp / scene),
            "--stroke",
            str(tmp / stroke),
            "--out",
            str(tmp / "path.json"),
            *extra,
        ]
    )


def test_map_stroke_writes_path_json(files, capsys):
    tmp, _, geom = files
    assert run(tmp) == 0
    data = json.loads((tmp / "path.json").read_text())
    assert data["frame"] == "base"
    pts, nrm = np.array(data["points"]), np.array(data["normals"])
    assert pts.shape == nrm.shape and pts.shape[1] == 3 and len(pts) > 200
    pe, ne = errors(geom, pts, nrm)
    assert pe.mean() < 1e-3 and np.degrees(ne).mean() < 3.0
    assert "mm on the skin" in capsys.readouterr().out


def test_scene_round_trip(files):
    tmp, frame, _ = files
    back = load_scene(tmp / "scene.npz")
    assert np.array_equal(back.depth, frame.depth)
    assert np.array_equal(back.mask, frame.mask)
    assert np.allclose(back.T_base_camera, frame.T_base_camera)
    assert np.allclose(back.intrinsics.K, frame.intrinsics.K)


@pytest.mark.parametrize(
    "stroke_text, message",
    [
        ('{"pixels": [[10, 10], [1000, 10]]}', "outside the 320 x 240 image"),
        ('{"pixels": [[150, 100]]}', "at least 2 pixels"),
        ('{"pixels": [[150, 100], [150.5, 100]]}', "long on the skin"),
        ('{"pixels": [[1, 2], ', "malformed JSON"),
        ('{"points": [[1, 2]]}', "missing key 'pixels'"),
        ('{"pixels": [[1, "a"], [2, 3]]}', "list of \\[u, v\\] number pairs"),
        ('{"pixels": [[5, 5], [60, 5]]}', "off the body"),
    ],
)
def test_bad_strokes_exit_2(files, capsys, stroke_text, message):
    tmp, _, _ = files
    (tmp / "bad.json").write_text(stroke_text)
    assert run(tmp, stroke="bad.json") == 2
    err = capsys.readouterr().err
    assert "robot-us map-stroke: error:" in err
    assert re.search(message, err), err
    assert not (tmp / "path.json").exists()


def test_bad_scenes_exit_2(files, capsys):
    tmp, frame, _ = files
    d = {"depth": frame.depth, "T_base_camera": frame.T_base_camera}
    np.savez(tmp / "nok.npz", **d)
    assert run(tmp, scene="nok.npz") == 2
    assert "missing key 'K'" in capsys.readouterr().err
    np.savez(tmp / "nopose.npz", depth=frame.depth, K=frame.intrinsics.K)
    assert run(tmp, scene="nopose.npz") == 2
    assert "missing camera calibration" in capsys.readouterr().err
    (tmp / "corrupt.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    assert run(tmp, scene="corrupt.npz") == 2
    assert "not a readable .npz" in capsys.readouterr().err
    np.savez(
        tmp / "empty.npz",
        depth=np.zeros_like(frame.depth),
        K=frame.intrinsics.K,
        T_base_camera=frame.T_base_camera,
    )
    assert run(tmp, scene="empty.npz") == 2
    assert "too little valid depth" in capsys.readouterr().err


def test_calibration_file_overrides_the_scene_pose(files, capsys):
    tmp, frame, _ = files
    assert run(tmp) == 0
    ref = np.array(json.loads((tmp / "path.json").read_text())["points"])
    T = frame.T_base_camera.copy()
    T[:3, 3] += [0.0, 0.0, 0.1]  # camera calibrated 10 cm higher
    save_calibration(tmp / "calib.json", CameraCalibration(T, frame.intrinsics, {"n_poses": 3}))
    assert run(tmp, "--calibration", str(tmp / "calib.json"), "--overwrite") == 0
    moved = np.array(json.loads((tmp / "path.json").read_text())["points"])
    assert np.allclose(moved - ref, [0, 0, 0.1], atol=1e-9)
    back = load_calibration(tmp / "calib.json")
    assert np.allclose(back.T_base_camera, T) and back.hand_eye == {"n_poses": 3}


@pytest.mark.parametrize(
    "content, message",
    [
        ({"version": 1}, "neither 'T_base_camera' nor 'intrinsics'"),
        ({"T_base_camera": [[1, 0], [0, 1]]}, "must be \\(4, 4\\)"),
        ({"T_base_camera": (2 * np.eye(4)).tolist()}, "not a rigid transform"),
        ({"T_base_camera": np.eye(4).tolist(), "version": 7}, "unsupported version 7"),
        (
            {"T_base_camera": np.eye(4).tolist(), "intrinsics": {"K": np.eye(3).tolist()}},
            "intrinsics: object missing required field width",
        ),
    ],
)
def test_bad_calibration_files(tmp_path, content, message):
    (tmp_path / "c.json").write_text(json.dumps(content))
    with pytest.raises(FileFormatError, match=message):
        load_calibration(tmp_path / "c.json")


def test_calibration_without_pose_or_with_other_size(files, capsys):
    tmp, frame, _ = files
    save_calibration(tmp / "intr.json", CameraCalibration(None, frame.intrinsics))
    assert run(tmp, "--calibration", str(tmp / "intr.json")) == 2
    assert "missing camera calibration" in capsys.readouterr().err
    from robot_us.core.types import CameraIntrinsics

    big = CameraIntrinsics(640, 480, frame.intrinsics.K, frame.intrinsics.dist)
    save_calibration(tmp / "big.json", CameraCalibration(frame.T_base_camera, big))
    assert run(tmp, "--calibration", str(tmp / "big.json")) == 2
    assert "intrinsics are for 640 x 480 images" in capsys.readouterr().err


def test_mapped_path_plans(files, capsys):
    """The path map-stroke writes is one `robot-us plan` accepts (end to end)."""
    tmp, frame, geom = files
    save_stroke(tmp / "short.json", skin_stroke(geom, frame, (0.1, 0.3), (-0.03, 0.03)))
    assert run(tmp, stroke="short.json") == 0
    out = tmp / "plan.json"
    assert main(["plan", "--path", str(tmp / "path.json"), "--out", str(out)]) == 0, (
        capsys.readouterr().err
    )
    plan = json.loads(out.read_text())
    assert plan["frame"] == "base" and "sweep" in plan["kinds"]
