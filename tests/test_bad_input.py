"""Bad input from a careless user or a hostile file, through the command line: exit
status non-zero (2 for input), one line naming the cause, never a traceback, no output
file written or replaced, memory bounded (the subprocess cases run under an address-space
limit). Hypothesis explores configs, strokes, paths and calibration files; recordings are
covered in test_recording_recovery.py."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robot_us.cli import EXIT_BUG, EXIT_INPUT, main
from robot_us.perception_files import save_scene, save_stroke
from tests.perception_scene import default_frame, skin_stroke
from tests.scan_helpers import DEMO_IDEAL_CYLINDER

ROOT = Path(__file__).resolve().parents[1]
#: Address-space limit of the subprocess cases (bytes): numpy, pybullet and
#: onnxruntime load in well under this; an input that tried to allocate its way past
#: it gets MemoryError.
MEM_LIMIT = 3 * 1024**3
FEW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# -- helpers ------------------------------------------------------------------------------


def _one_error_line(err: str, command: str) -> str:
    """The single error line of ``err`` (asserts there is exactly one and no traceback)."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("robot-us")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"robot-us {command}: error: "), err
    return lines[0]


def _cli(capsys, args: list[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "robot_us", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scene")
    frame, geom = default_frame(scale=0.5, noise=0.0, dropout=0.0)
    save_scene(tmp / "scene.npz", frame)
    save_stroke(tmp / "stroke.json", skin_stroke(geom, frame, (-0.2, 0.5), (-0.1, 0.1)))
    return tmp


# -- configs ------------------------------------------------------------------------------

CONFIG_KEYS = [
    ("safety", "tool_speed_limit"),
    ("safety", "workspace_min"),
    ("force_control", "force_setpoint"),
    ("robot", "q_home"),
    ("loop", "rate_hz"),
    ("trajectory", "speed"),
    ("nonsense", "key"),
]
toml_values = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**6), 10**6)
    | st.booleans()
    | st.text(alphabet="abc", max_size=4)
    | st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8)
)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v)
    return str(v)


@FEW
@given(entries=st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), toml_values), max_size=4))
def test_configs_are_accepted_or_refused_naming_the_key(tmp_path, capsys, entries):
    tables: dict[str, dict[str, object]] = {}
    for (table, key), value in entries:
        tables.setdefault(table, {})[key] = value
    text = "".join(
        f"[{t}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in kv.items())
        for t, kv in tables.items()
    )
    p = tmp_path / "c.toml"
    p.write_text(text)
    code, err = _cli(capsys, ["config", str(p)])
    assert code in (0, EXIT_INPUT), err
    if code:
        line = _one_error_line(err, "config")
        assert "config key" in line or str(p) in line
        for table, kv in tables.items():  # the last entry of a key wins
            for key, v in kv.items():
                if isinstance(v, float) and not math.isfinite(v) and f"'{table}.{key}" in line:
                    assert "finite" in line, line


@FEW
@given(data=st.binary(min_size=1, max_size=200))
def test_binary_garbage_config_names_the_file(tmp_path, capsys, data):
    p = tmp_path / "garbage.toml"
    p.write_bytes(b"\xff" + data)
    code, err = _cli(capsys, ["config", str(p)])
    assert code == EXIT_INPUT
    assert str(p) in _one_error_line(err, "config")


# -- strokes and paths ---------------------------------------------------------------------


@FEW
@given(doc=json_values)
def test_any_stroke_document_is_mapped_or_refused(scene, tmp_path, capsys, doc):
    stroke = tmp_path / "stroke.json"
    stroke.write_text(json.dumps(doc))
    out = tmp_path / "path.json"
    out.unlink(missing_ok=True)
    args = ["map-stroke", "--scene", str(scene / "scene.npz"), "--stroke", str(stroke)]
    code, err = _cli(capsys, [*args, "--out", str(out)])
    assert code == EXIT_INPUT, err  # no random document is a stroke on the skin
    assert str(stroke) in _one_error_line(err, "map-stroke")
    assert not out.exists() and not list(tmp_path.glob(".path.partial-*"))


@FEW
@given(doc=json_values)
def test_any_path_document_is_refused_cleanly(tmp_path, capsys, doc):
    src = tmp_path / "path.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "plan.json"
    code, err = _cli(capsys, ["plan", "--path", str(src), "--out", str(out)])
    assert code == EXIT_INPUT, err
    _one_error_line(err, "plan")
    assert not out.exists()


@FEW
@given(doc=json_values, image=json_values)
def test_any_hand_eye_document_is_refused_naming_the_file(tmp_path, capsys, doc, image):
    import numpy as np

    from perception.camera_calibration import CameraCalibration
    from robot_us.core.types import CameraIntrinsics
    from robot_us.perception_files import save_calibration

    intr = tmp_path / "intr.json"
    if not intr.exists():
        K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
        save_calibration(intr, CameraCalibration(None, CameraIntrinsics(320, 240, K, np.zeros(5))))
    he = tmp_path / "hand_eye.json"
    if isinstance(doc, dict):
        doc = {**doc, "poses": [{"T_base_flange": np.eye(4).tolist(), "image": image}]}
    he.write_text(json.dumps(doc))
    out = tmp_path / "calibration.json"
    args = ["calibrate", "--intrinsics", str(intr), "--hand-eye", str(he), "--out", str(out)]
    code, err = _cli(capsys, args)
    assert code == EXIT_INPUT, err
    _one_error_line(err, "calibrate")
    assert not out.exists()


def test_calibration_file_of_the_wrong_types(tmp_path, capsys, scene):
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"T_base_camera": [[1, 0, 0, 0]] * 3 + [[0, 0, 0, "1"]]}))
    args = ["map-stroke", "--scene", str(scene / "scene.npz"), "--stroke"]
    args += [str(scene / "stroke.json"), "--out", str(tmp_path / "p.json")]
    code, err = _cli(capsys, [*args, "--calibration", str(bad)])
    assert code == EXIT_INPUT
    assert "T_base_camera[3][3]: expected float, got str" in _one_error_line(err, "map-stroke")
    bad.write_text(json.dumps({"T_base_camera": [[1, 0, 0, 0]] * 4, "hand_eye": 5}))
    code, err = _cli(capsys, [*args, "--calibration", str(bad)])
    assert "hand_eye: expected object, got int" in _one_error_line(err, "map-stroke")


def test_sidecar_of_the_wrong_type_names_the_file(tmp_path, capsys):
    import cv2
    import numpy as np

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), np.full((64, 64), 100, np.uint8))
    (frames / "frames.json").write_text(json.dumps({"frames": {"a.png": 5}}))
    args = ["quality", "--frames", str(frames), "--out", str(tmp_path / "q.json")]
    code, err = _cli(capsys, args)
    assert code == EXIT_INPUT
    assert "frames.json" in _one_error_line(err, "quality")
    (frames / "frames.json").unlink()
    cv2.imwrite(str(frames / "b.png"), np.zeros((2, 2), np.uint8))  # a 2x2 frame
    code, err = _cli(capsys, args)
    assert "b.png" in _one_error_line(err, "quality") and code == EXIT_INPUT


# -- output never replaced -----------------------------------------------------------------


def test_existing_outputs_are_refused_and_kept(scene, tmp_path, capsys):
    out = tmp_path / "path.json"
    out.write_text("earlier run")
    args = ["map-stroke", "--scene", str(scene / "scene.npz")]
    args += ["--stroke", str(scene / "stroke.json"), "--out", str(out)]
    code, err = _cli(capsys, args)
    assert code == EXIT_INPUT and "already exists" in _one_error_line(err, "map-stroke")
    assert out.read_text() == "earlier run"
    # --overwrite with a bad stroke: the earlier file is still not touched
    bad = tmp_path / "bad.json"
    bad.write_text('{"pixels": 3}')
    args[4] = str(bad)
    code, err = _cli(capsys, [*args, "--overwrite"])
    assert code == EXIT_INPUT and out.read_text() == "earlier run"
    # --overwrite with a good stroke replaces it
    args[4] = str(scene / "stroke.json")
    assert _cli(capsys, [*args, "--overwrite"])[0] == 0
    assert "points" in json.loads(out.read_text())


def test_demo_refuses_an_output_folder_holding_an_earlier_run(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "scan.mcap").write_bytes(b"41 MB of an earlier scan")
    (out / "report.json").write_text("{}")
    code, err = _cli(capsys, ["demo", *DEMO_IDEAL_CYLINDER, "--out", str(out), "--quiet"])
    assert code == EXIT_INPUT
    line = _one_error_line(err, "demo")
    assert "report.json, scan.mcap" in line
    assert (out / "scan.mcap").read_bytes() == b"41 MB of an earlier scan"


def test_an_unexpected_exception_is_one_line_and_a_log(tmp_path, capsys, monkeypatch):
    from robot_us.commands import config as config_cmd

    def boom(args):
        raise AttributeError("'int' object has no attribute 'get'")

    monkeypatch.setattr(config_cmd, "run", boom)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, err = _cli(capsys, ["config"])
    assert code == EXIT_BUG
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "internal error (a bug" in line and "AttributeError" in line
    log = Path(line.rsplit("traceback in ", 1)[1])
    assert log.parent == tmp_path and "Traceback" in log.read_text()


def test_a_file_system_error_is_one_line(tmp_path, capsys, monkeypatch):
    """A read-only or full disk: one line with the reason and the file, exit 1."""
    import errno

    from robot_us.commands import config as config_cmd

    def read_only(args):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "x.json"))

    monkeypatch.setattr(config_cmd, "run", read_only)
    code, err = _cli(capsys, ["config"])
    line = _one_error_line(err, "config")
    assert code == 1 and "Read-only file system: " in line and "x.json" in line


# -- memory bounded (subprocess under an address-space limit) ------------------------------


@pytest.mark.parametrize(
    "name, content",
    [
        ("deep", "[" * 100_000 + "]" * 100_000),
    ],
)
def test_hostile_strokes_stay_bounded_under_a_memory_limit(scene, tmp_path, name, content):
    stroke = tmp_path / f"{name}.json"
    stroke.write_text(content)
    out = tmp_path / "path.json"
    args = ["map-stroke", "--scene", str(scene / "scene.npz"), "--stroke", str(stroke)]
    proc = _subprocess([*args, "--out", str(out)], tmp_path)
    assert proc.returncode in (1, 2), proc.stderr
    _one_error_line(proc.stderr, "map-stroke")
    assert not out.exists()


def test_a_huge_config_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (64 * 1024 * 1024) + "\n")
    proc = _subprocess(["config", str(big)], tmp_path)
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert "too large" in _one_error_line(proc.stderr, "config")


def test_hostile_recording_stays_bounded_under_a_memory_limit(tmp_path):
    """A chunk header declaring 2**40 uncompressed bytes is never allocated."""
    import struct

    bad = tmp_path / "bomb.mcap"
    magic = b"\x89MCAP0\r\n"
    body = struct.pack("<QQQII", 0, 0, 2**40, 0, 4) + b"zstd" + struct.pack("<Q", 16)
    body += b"\x28\xb5\x2f\xfd" + bytes(12)
    bad.write_bytes(magic + b"\x06" + struct.pack("<Q", len(body)) + body)
    proc = _subprocess(["recording", "info", str(bad)], tmp_path)
    assert proc.returncode == EXIT_INPUT, proc.stderr
    _one_error_line(proc.stderr, "recording")
