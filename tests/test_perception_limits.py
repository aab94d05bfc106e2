"""Bounded input on the perception side: every reader refuses a file over its size limit
(bytes, JSON depth, points, pixels) with one line naming the file and the limit, before
parsing or allocating it; mapping a 100 000-point stroke and refusing a scene that
declares 10^15 elements run inside a 1 GiB address-space limit; strokes longer than
perception.max_length are refused; calibration inputs in the wrong unit are refused."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from perception.camera_calibration import CameraCalibration
from perception.hand_eye import calibrate_from_views
from perception.stroke import StrokeError, StrokeErrorCode, decimate
from perception.stroke_mapping import StrokeMapper
from robot_us.cli import main
from robot_us.config import Config
from robot_us.perception_files import (
    HAND_EYE_MAX_POSES,
    MAX_JSON_DEPTH,
    PATH_MAX_POINTS,
    SCENE_MAX_PIXELS,
    STROKE_MAX_BYTES,
    STROKE_MAX_POINTS,
    FileFormatError,
    json_depth,
    load_calibration,
    load_hand_eye,
    load_path,
    load_scene,
    load_stroke,
    save_calibration,
    save_scene,
    save_stroke,
)
from tests.calibration_scene import K as CAL_K
from tests.calibration_scene import hand_eye_data
from tests.perception_scene import default_frame, skin_stroke

ROOT = Path(__file__).resolve().parents[1]
#: Address-space limit of the bounded subprocesses: the map-stroke command peaks at about
#: 450 MB of address space here (imports included), the code before the limits needed
#: 9 GiB for the 100 000-point stroke.
ADDRESS_SPACE_LIMIT = 2**30


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scene")
    frame, geom = default_frame(scale=0.5)
    save_scene(tmp / "scene.npz", frame)
    return tmp, frame, geom


def _bounded(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``robot-us ARGS`` in a subprocess whose address space is limited."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))
        from robot_us.cli import main
        sys.exit(main({args!r}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


# ----------------------------------------------------------------------------- JSON readers
def test_json_depth_counts_brackets_outside_strings_only():
    assert json_depth(b"") == 0 and json_depth(b"3") == 0
    assert json_depth(b'{"a": [[1, 2], [3]]}') == 3
    assert json_depth(b'{"a": "[[[[{{{", "b": ["x\\\\"]}') == 2
    assert json_depth(b'["\\"[[[", "\\\\\\"]]", [[]]]') == 3


def test_deeply_nested_json_is_refused_before_parsing(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text('{"pixels": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(FileFormatError, match=f"{f}: JSON nested 100001 deep; at most 16"):
        load_stroke(f)
    g = tmp_path / "path.json"
    g.write_text('{"frame": "base", "points": ' + "[" * 17 + "]" * 17 + "}")
    with pytest.raises(
        FileFormatError, match=f"{g}: JSON nested 18 deep; at most {MAX_JSON_DEPTH}"
    ):
        load_path(g)


def test_stroke_file_over_the_byte_limit_is_refused(tmp_path):
    f = tmp_path / "stroke.json"
    f.write_text('{"pixels": [[1, 2], [3, 4]]}' + " " * STROKE_MAX_BYTES)
    with pytest.raises(FileFormatError, match=f"{f}: stroke file of .* at most 8,388,608"):
        load_stroke(f)


def test_stroke_and_path_point_limits(tmp_path):
    f = tmp_path / "stroke.json"
    f.write_text(json.dumps({"pixels": [[1.0, 2.0]] * (STROKE_MAX_POINTS + 1)}))
    with pytest.raises(FileFormatError, match=f"{f}: 'pixels' has 100,001 points; at most"):
        load_stroke(f)
    f.write_text(json.dumps({"pixels": [[1.0, 2.0]] * STROKE_MAX_POINTS}))
    assert load_stroke(f).shape == (STROKE_MAX_POINTS, 2)
    g = tmp_path / "path.json"
    rows = [[0.5, 0.0, 0.1]] * (PATH_MAX_POINTS + 1)
    g.write_text(json.dumps({"frame": "base", "points": rows, "normals": rows}))
    with pytest.raises(FileFormatError, match=f"{g}: 'points' has 100,001 points; at most"):
        load_path(g)


# ----------------------------------------------------------------------------- scene.npz
def _npz_declaring(path: Path, arrays: dict[str, np.ndarray], declared: dict[str, tuple]):
    """An .npz with real ``arrays`` and members whose headers declare ``declared`` shapes
    (float32) but hold no data."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(value))
            zf.writestr(f"{key}.npy", buf.getvalue())
        for key, shape in declared.items():
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                buf, {"descr": "<f4", "fortran_order": False, "shape": shape}
            )
            zf.writestr(f"{key}.npy", buf.getvalue())


def test_scene_limits_checked_from_the_headers(tmp_path, scene):
    _, frame, _ = scene
    f = tmp_path / "big.npz"
    _npz_declaring(f, {"K": frame.intrinsics.K}, {"depth": (5000, 4000)})
    with pytest.raises(FileFormatError, match=f"{f}: 'depth' is 5000 x 4000 = 20,000,000 pixels"):
        load_scene(f)
    assert SCENE_MAX_PIXELS < 5000 * 4000
    _npz_declaring(f, {"depth": frame.depth, "K": frame.intrinsics.K}, {"rgb": (10**15,)})
    declared = "declare 4,000,000,000,307,272 bytes; a scene file may hold at most 201,326,592"
    with pytest.raises(FileFormatError, match=f"{f}: the arrays {declared}"):
        load_scene(f)


def test_scene_declaring_1e15_elements_is_refused_in_bounded_memory(tmp_path, scene):
    _, frame, _ = scene
    _npz_declaring(tmp_path / "huge.npz", {"K": frame.intrinsics.K}, {"depth": (10**8, 10**7)})
    save_stroke(tmp_path / "stroke.json", [[10.0, 10.0], [100.0, 100.0]])
    args = ["map-stroke", "--scene", "huge.npz", "--stroke", "stroke.json", "--out", "p.json"]
    res = _bounded(args, tmp_path)
    assert res.returncode not in (0, 70) and "Traceback" not in res.stderr, res.stderr
    assert "huge.npz: 'depth' is 100000000 x 10000000" in res.stderr
    assert f"at most {SCENE_MAX_PIXELS:,}" in res.stderr
    assert not (tmp_path / "p.json").exists()


# ----------------------------------------------------------------------------- mapping
def test_a_100k_point_stroke_maps_in_bounded_memory(tmp_path, scene):
    """100 000 mouse samples along one 244 mm stroke: mapped like its 12-sample version."""
    tmp, frame, geom = scene
    save_stroke(tmp_path / "dense.json", skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1), 10**5))
    args = ["map-stroke", "--scene", str(tmp / "scene.npz"), "--stroke", "dense.json"]
    res = _bounded([*args, "--out", "path.json"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "mapped 100000 stroke pixels" in res.stdout
    dense = load_path(tmp_path / "path.json")
    sparse = StrokeMapper(Config().perception).map(
        frame, skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1))
    )
    length = np.sum(np.linalg.norm(np.diff(dense.points, axis=0), axis=1))
    assert length == pytest.approx(sparse.length, abs=1e-3)


def test_crowded_samples_are_decimated():
    px = np.array([[0.0, 0.0], [0.1, 0.0], [0.2, 0.1], [1.0, 0.0], [1.2, 0.0], [3.0, 0.0]])
    assert decimate(px, 0.5).tolist() == [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]
    # the last sample is kept even when close to the previous kept one
    assert decimate(px[:5], 0.5).tolist() == [[0.0, 0.0], [1.2, 0.0]]
    assert len(decimate(np.zeros((1000, 2)), 0.5)) == 2


def test_strokes_longer_than_max_length_are_refused(scene):
    _, frame, geom = scene
    a = skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1), 2)
    zigzag = np.tile(a, (200, 1))  # 400 samples back and forth: ~100 m on the skin
    with pytest.raises(
        StrokeError, match=r"about .* m on the skin .* longest accepted is 1 m"
    ) as e:
        StrokeMapper(Config().perception).map(frame, zigzag)
    assert e.value.code is StrokeErrorCode.TOO_LONG
    import dataclasses

    short = dataclasses.replace(Config().perception, max_length=0.15)
    with pytest.raises(
        StrokeError, match=r"0\.24 m long on the skin; the longest accepted is 0\.15 m"
    ):
        StrokeMapper(short).map(frame, skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1)))


# ----------------------------------------------------------------------------- calibration
def test_camera_translation_in_millimetres_is_refused(tmp_path):
    T = np.eye(4)
    T[:3, 3] = [950.0, 0.0, 850.0]
    save_calibration(tmp_path / "c.json", CameraCalibration(T))
    with pytest.raises(FileFormatError, match=r"puts the camera 1274\.75 m from the robot base"):
        load_calibration(tmp_path / "c.json")


def _hand_eye_file(tmp_path: Path, images: list, scale: float = 1.0) -> Path:
    A, _, _ = hand_eye_data(seed=0, n=len(images))
    A[:, :3, 3] *= scale
    poses = [{"T_base_flange": a.tolist(), "image": im} for a, im in zip(A, images, strict=True)]
    f = tmp_path / "he" / "hand_eye.json"
    f.parent.mkdir(exist_ok=True)
    f.write_text(json.dumps({"poses": poses}))
    return f


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/etc/passwd", "poses\\[1\\].image '/etc/passwd' must name a file inside"),
        ("../secret.png", "poses\\[1\\].image '../secret.png' must name a file inside"),
        ("sub/../../x.png", "must name a file inside"),
        ("link/x.png", "poses\\[1\\].image 'link/x.png' leads outside"),
        (5, "poses\\[1\\].image: expected str, got int"),
    ],
)
def test_hand_eye_images_stay_inside_the_folder(tmp_path, name, message):
    (tmp_path / "he").mkdir()
    (tmp_path / "he" / "link").symlink_to(tmp_path)
    f = _hand_eye_file(tmp_path, ["a.png", name, "b.png"])
    with pytest.raises(FileFormatError, match=message):
        load_hand_eye(f)


def test_hand_eye_input_resolved_and_bounded(tmp_path):
    f = _hand_eye_file(tmp_path, ["a.png", "sub/b.png", "c.png"])
    data = load_hand_eye(f)
    assert data.images[1] == (tmp_path / "he" / "sub" / "b.png").resolve()
    assert data.T_base_flange.shape == (3, 4, 4)
    f = _hand_eye_file(tmp_path, ["a.png"] * (HAND_EYE_MAX_POSES + 1))
    with pytest.raises(FileFormatError, match="'poses' has 501 entries; at most 500"):
        load_hand_eye(f)


def test_calibrate_refuses_robot_poses_in_millimetres(tmp_path, capsys):
    from robot_us.core.types import CameraIntrinsics

    save_calibration(
        tmp_path / "intr.json", CameraCalibration(None, CameraIntrinsics(640, 480, CAL_K))
    )
    f = _hand_eye_file(tmp_path, [f"{i}.png" for i in range(6)], scale=1000.0)
    args = ["calibrate", "--intrinsics", str(tmp_path / "intr.json"), "--hand-eye", str(f)]
    assert main([*args, "--out", str(tmp_path / "out.json")]) != 0
    err = capsys.readouterr().err
    assert str(f) in err and "must be in metres" in err and "look like millimetres" in err
    assert not (tmp_path / "out.json").exists()


def test_implausible_hand_eye_residuals_are_refused():
    """Robot poses and images that do not belong together (shuffled) give residuals of
    centimetres: refused instead of written."""
    A, views, _ = hand_eye_data(seed=3, n=12)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"hand-eye residuals are .* mm / .* deg mean"):
        calibrate_from_views(A[rng.permutation(len(A))], views, CAL_K, np.zeros(5), refine=False)
