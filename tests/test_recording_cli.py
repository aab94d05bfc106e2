"""``robot-us recording info`` and ``export`` on a recording, and on bad input."""

import json

import numpy as np
import pytest

from robot_us.cli import main
from robot_us.core.types import UltrasoundFrame
from robot_us.recording.contents import QualitySample
from robot_us.recording.recorder import Recorder
from robot_us.state_log import StateLog


@pytest.fixture(scope="module")
def rec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "scan.mcap"
    log = StateLog(1024)
    T, q, w = np.eye(4), np.zeros(7), np.zeros(6)
    with Recorder(path, state_log=log) as rec:
        for k in range(500):
            log.push_fields(k * 1e-3, k, q, q, q, w, w, T, 5, 5, 0, 0, 1, 0, 0, 1, 1)
            if k % 100 == 0:
                img = np.full((8, 10), k // 100, dtype=np.uint8)
                rec.add_frame(UltrasoundFrame(t=k * 1e-3, image=img, spacing_m=(1e-4, 1e-4), seq=k))
                rec.add_quality(QualitySample(k * 1e-3, k, "good", 0.9, 0.8))
    return path


def test_info_prints_channels_counts_duration(rec_file, capsys):
    assert main(["recording", "info", str(rec_file)]) == 0
    out = capsys.readouterr().out
    assert "complete" in out and "/us/image" in out and "foxglove.RawImage" in out
    assert "5 frames" in out and "500 state rows" in out
    assert main(["recording", "info", "--json", str(rec_file)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["truncated"] is False and figures["frames"] == 5
    assert figures["duration_s"] == pytest.approx(0.499, abs=1e-6)
    assert {"topic": "/us/quality", "schema": "robot_us.Quality", "count": 5} in figures["channels"]


def test_info_reports_a_truncated_file(rec_file, tmp_path, capsys):
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(rec_file.read_bytes()[:-200])
    assert main(["recording", "info", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "truncated)" in out and "truncated at byte" in out and "messages recovered" in out


def test_export_refuses_a_folder_that_holds_files(rec_file, tmp_path, capsys):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "frames.csv").write_text("earlier run")
    assert main(["recording", "export", str(rec_file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds an earlier run (frames.csv)" in err
    assert (out / "frames.csv").read_text() == "earlier run" and len(list(out.iterdir())) == 1


def test_export_writes_files(rec_file, tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["recording", "export", str(rec_file), "--out", str(out)]) == 0
    assert "exported 5 frames and 500 state rows" in capsys.readouterr().out
    assert len(list((out / "frames").glob("*.png"))) == 5
    assert (out / "state.csv").exists() and (out / "frames.csv").exists()


def test_bad_file_is_an_error_naming_the_cause(tmp_path, capsys):
    junk = tmp_path / "junk.mcap"
    junk.write_text("not mcap")
    assert main(["recording", "info", str(junk)]) == 2
    assert "not an MCAP file" in capsys.readouterr().err
    assert main(["recording", "export", str(tmp_path / "nope.mcap"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
