"""``robot-us reconstruct`` on a short recorded sweep with a 40 ms image latency: the
estimated lag, the files for 3D Slicer (NRRD in the base frame, mask and vessel label maps,
the probe path as a markups curve, the summary), accuracy against the phantom's true
vessels, the output policy and a truncated recording."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from robot_us.cli import main
from robot_us.config import load_config
from robot_us.reconstruction.accuracy import accuracy, recorded_phantom
from robot_us.reconstruction.reconstruct import reconstruct
from robot_us.reconstruction.slicer_files import read_volume
from robot_us.recording import read_recording
from tests.sweep_fixture import FIXTURE_LATENCY

pytestmark = pytest.mark.slow  # the session's sweep recording takes ~30 s once


@pytest.fixture(scope="module")
def made(sweep_recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("recon") / "volume.nrrd"
    code = main(["reconstruct", str(sweep_recording), "--out", str(out), "--lag", "auto"])
    assert code == 0
    return out


def test_reconstruct_estimates_the_injected_lag_and_counts_left_out_frames(made):
    s = json.loads(made.with_suffix(".json").read_text())
    est = s["lag_estimate"]
    assert est["ok"] and abs(est["lag_ms"] - FIXTURE_LATENCY * 1e3) <= 5.0
    assert s["lag_ms"] == pytest.approx(est["lag_ms"])
    f = s["frames"]
    assert f["used"] > 100 and f["left_out"]["no_contact"] > 50  # approach and retract
    assert f["used"] + sum(f["left_out"].values()) == f["total"]
    assert s["software"].startswith("robot-us ") and s["config"]["spacing"] == 5e-4
    assert s["compression"]["applied"] and 0.2 < s["compression"]["face_sink_mm_per_N"] < 1.0


def test_volume_files_open_in_the_base_frame_in_millimetres(made, sweep_recording):
    vol, grid = read_volume(made)
    mask, mgrid = read_volume(made.with_name("volume_mask-label.nrrd"))
    vessels, _ = read_volume(made.with_name("volume_vessels-label.nrrd"))
    assert vol.dtype == np.uint8 and vol.shape == mask.shape == vessels.shape == grid.shape
    assert np.allclose(mgrid.origin, grid.origin) and grid.spacing == pytest.approx(5e-4)
    assert set(np.unique(mask)) <= {0, 1, 2} and (mask == 1).mean() > 0.5
    assert set(np.unique(vessels)) == {0, 1, 2}  # both vessels mapped
    # the volume spans the frames: the probe path on the skin lies on its top face
    rec = read_recording(sweep_recording)
    p = np.array([f.T_base_probe[:3, 3] for f in rec.frames if f.meta.get("score", 0) > 0.5])
    lo, hi = grid.origin, grid.origin + grid.spacing * (np.array(grid.shape) - 1)
    assert np.all(p[:, :2] > lo[:2]) and np.all(p[:, :2] < hi[:2])
    assert abs(hi[2] - p[:, 2].max()) < 0.005  # image starts at the skin below the face
    doc = json.loads(made.with_name("volume_path.mrk.json").read_text())
    (curve,) = doc["markups"]
    assert curve["type"] == "Curve" and curve["coordinateSystem"] == "RAS"
    assert curve["coordinateUnits"] == "mm" and 10 < len(curve["controlPoints"]) <= 200
    pts = np.array([c["position"] for c in curve["controlPoints"]])
    assert np.ptp(pts[:, 1]) == pytest.approx(40.0, abs=3.0)  # the 40 mm stroke along y
    assert np.allclose(pts.mean(axis=0) * 1e-3, p.mean(axis=0), atol=0.01)


def test_mapped_vessels_match_the_phantom(sweep_recording):
    rec = read_recording(sweep_recording)
    cfg = load_config().reconstruction
    phantom = recorded_phantom(rec.config)
    plain = accuracy(
        reconstruct(rec, dataclasses.replace(cfg, compression_correction=False), estimate=True),
        phantom,
    )
    assert plain.false_vessels == 0 and len(plain.vessels) == 2 and plain.dice > 0.78
    shallow, deep = sorted(plain.vessels, key=lambda v: v.bias_z_mm)
    assert shallow.centreline_err_mm < 0.6
    # uncorrected, the deep vessel appears shallower: the probe's 5 N compress the tissue
    assert 0.8 < deep.bias_z_mm < 2.0
    sr = reconstruct(rec, cfg, estimate=True)
    assert sr.compression is not None and sr.compression_note == ""
    fixed = accuracy(sr, phantom)
    assert fixed.false_vessels == 0 and len(fixed.vessels) == 2
    assert fixed.dice > 0.88 and fixed.centreline_err_mm < 0.6
    assert all(abs(v.bias_z_mm) < 0.8 for v in fixed.vessels)


def test_reconstruct_refuses_to_replace_outputs_and_bad_names(made, sweep_recording, capsys):
    capsys.readouterr()
    args = ["reconstruct", str(sweep_recording), "--out", str(made)]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    other = made.with_name("other.nrrd")
    made.with_name("other.json").write_text("{}")  # a sidecar in the way is refused too
    assert main(["reconstruct", str(sweep_recording), "--out", str(other)]) == 2
    assert "other.json already exists" in capsys.readouterr().err and not other.exists()
    assert main([*args, "--overwrite", "--spacing", "1.0"]) == 0
    assert read_volume(made)[1].spacing == pytest.approx(1e-3)
    assert main(["reconstruct", str(sweep_recording), "--out", str(made.with_suffix(".raw"))]) == 2
    assert "give a .nrrd file name" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--lag", "soon"]) == 2


def test_a_truncated_recording_reconstructs_what_was_recovered(sweep_recording, tmp_path, capsys):
    cut = tmp_path / "cut.mcap"
    data = sweep_recording.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])
    out = tmp_path / "v.nrrd"
    assert main(["reconstruct", str(cut), "--out", str(out)]) == 0
    assert "truncated" in capsys.readouterr().err
    s = json.loads(out.with_suffix(".json").read_text())
    assert s["recording"]["status"].startswith("truncated") and s["frames"]["used"] > 20
    shutil.rmtree(tmp_path)
