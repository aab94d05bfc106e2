"""``robot-us quality``: scores PNG folders and .npz stacks; bad input exits 1 with a
message naming the cause."""

import json

import cv2
import numpy as np
import pytest

from robot_us.cli import main
from tests.us_helpers import on_skin, small_sim


@pytest.fixture(scope="module")
def frames():
    sim = small_sim()
    return np.stack(
        [
            sim.render(on_skin(0.0, 0.05), 5.0).image,
            sim.render(on_skin(0.0, 0.05, press=-0.01), 0.0).image,
        ]
    )


def test_scores_an_npz_stack(tmp_path, frames, capsys):
    np.savez(tmp_path / "f.npz", frames=frames)
    out = tmp_path / "scores.json"
    assert main(["quality", "--frames", str(tmp_path / "f.npz"), "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    rows = rep["results"]
    assert len(rows) == 2
    assert {"class", "score", "mean_confidence"} <= set(rows[0])
    assert rows[0]["class"] == "good" and rows[1]["class"] == "no_contact"
    assert rows[0]["score"] > rows[1]["score"]
    assert 0 < rows[0]["mean_confidence"] < 1
    assert "scored 2 frames" in capsys.readouterr().out


def test_names_out_of_distribution_frames_and_their_reason(tmp_path, frames, capsys):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, frames.shape[1:], dtype=np.uint8)
    stack = np.stack([frames[0], noise, *[frames[0]] * 4])  # the 4th in a row is frozen
    np.savez(tmp_path / "f.npz", frames=stack)
    out = tmp_path / "scores.json"
    args = ["quality", "--frames", str(tmp_path / "f.npz"), "--out", str(out), "--no-confidence"]
    assert main(args) == 0
    rep = json.loads(out.read_text())
    rows = rep["results"]
    assert [r["ood_reason"] for r in rows] == ["", "noise", "", "", "", "frozen"]
    assert rows[1]["score"] == 0.0 and rows[1]["stats"]["correlation"] < 0.2
    assert rep["out_of_distribution"] == {"noise": 1, "frozen": 1}
    assert "out of distribution (noise) 1" in capsys.readouterr().out
    # frames judged one by one: no frozen-frame check
    assert main([*args, "--independent", "--overwrite"]) == 0
    assert [r["ood_reason"] for r in json.loads(out.read_text())["results"]][-1] == ""


def test_scores_a_png_folder(tmp_path, frames):
    d = tmp_path / "pngs"
    d.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(d / f"{i}.png"), f)
    out = tmp_path / "scores.json"
    assert main(["quality", "--frames", str(d), "--out", str(out), "--no-confidence"]) == 0
    rows = json.loads(out.read_text())["results"]
    assert [r["name"] for r in rows] == ["0.png", "1.png"]
    assert rows[0]["mean_confidence"] is None


def test_bad_inputs_exit_2_naming_the_cause(tmp_path, capsys):
    out = str(tmp_path / "s.json")
    assert main(["quality", "--frames", str(tmp_path / "missing"), "--out", out]) == 2
    assert "not found" in capsys.readouterr().err
    d = tmp_path / "corrupt"
    d.mkdir()
    (d / "a.png").write_bytes(b"\x89PNG broken")
    assert main(["quality", "--frames", str(d), "--out", out]) == 2
    assert "a.png" in capsys.readouterr().err
    np.savez(tmp_path / "k.npz", images=np.zeros((1, 8, 8), np.uint8))
    assert main(["quality", "--frames", str(tmp_path / "k.npz"), "--out", out]) == 2
    assert "no 'frames' array" in capsys.readouterr().err
    np.savez(tmp_path / "d.npz", frames=np.zeros((1, 8, 8), np.int16))
    assert main(["quality", "--frames", str(tmp_path / "d.npz"), "--out", out]) == 2
    assert "uint8" in capsys.readouterr().err
    np.savez(tmp_path / "ok.npz", frames=np.zeros((1, 8, 8), np.uint8))
    bad_model = tmp_path / "m.onnx"
    bad_model.write_bytes(b"x")
    args = ["quality", "--frames", str(tmp_path / "ok.npz"), "--out", out]
    assert main([*args, "--model", str(bad_model)]) == 2
    assert "not a loadable ONNX model" in capsys.readouterr().err
