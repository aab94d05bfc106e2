"""``robot-us demo`` end to end on a short stroke (lockstep simulation with ultrasound
frames and live quality): the report, the pictures and the recording; the image-quality
policy over the rib; a recording cut by SIGKILL mid-sweep; a stroke off the body."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robot_us.cli import main
from robot_us.perception_files import load_stroke, save_stroke
from robot_us.recording import read_recording
from tests.scan_helpers import DEMO_IDEAL_CYLINDER, short_config, stroke_on_skin

ROOT = Path(__file__).resolve().parents[1]
#: Test config: a short stand-off (quick approach), the ideal plant.
SHORT_TOML = '[trajectory]\nstandoff = 0.02\n[sim]\nprofile = "ideal"\n'


def _files(tmp_path, theta, y):
    cfg = short_config()
    stroke = tmp_path / "stroke.json"
    save_stroke(stroke, stroke_on_skin(cfg, theta, y))
    toml = tmp_path / "short.toml"
    toml.write_text(SHORT_TOML)
    return stroke, toml


@pytest.mark.slow
def test_demo_scans_over_the_rib_slows_pauses_and_reports_the_span(tmp_path, capsys):
    # 40 mm along the body across the rib (y = -90 mm), transverse: the rib's shadow is
    # about 20 mm from the start
    stroke, toml = _files(tmp_path, (0.0, 0.0), (-0.07, -0.11))
    out = tmp_path / "out"
    args = [
        "demo",
        *DEMO_IDEAL_CYLINDER,
        "--out",
        str(out),
        "--stroke",
        str(stroke),
        "--config",
        str(toml),
    ]
    assert main([*args, "--quiet"]) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "force error RMS / max" in text and "not_imaged" in text
    rep = json.loads((out / "report.json").read_text())
    assert rep["result"] == "done" and rep["plan"]["plane"] == "transverse"
    assert rep["plan"]["length_mm"] == pytest.approx(40.0, abs=2.0)
    assert rep["force"]["rms_error_N"] < 0.3 and rep["pose"]["orientation_rms_deg"] < 2.0
    assert rep["pose"]["lateral_rms_mm"] < 1.0
    q = rep["quality"]
    assert q["sweep_frames"] > 100 and q["classes"]["shadowed"] > 10
    assert q["class_agreement_with_sim_truth"] > 0.9
    (span,) = q["spans"]
    assert span["kind"] == "not_imaged" and 12.0 < span["from_mm"] < 22.0 < span["to_mm"] < 32.0
    kinds = [a["kind"] for a in rep["adjustments"]]
    assert kinds[:5] == ["slow_down", "force_up", "force_up", "force_up", "pause"]
    assert "span" in kinds and "speed_restored" in kinds
    slow = rep["adjustments"][0]
    assert slow["s_mm"] == pytest.approx(span["from_mm"], abs=0.5) and "shadowed" in slow["cause"]
    assert set(rep["duration"]["states_s"]) >= {"transfer", "approach", "sweep", "paused"}
    # the F/T was re-tared after the retract (out of contact) and its drift reported
    assert len(rep["ft_bias_correction"]) == 6
    assert [e["kind"] for e in rep["events"]].count("retare") == 1
    assert rep["loop"]["cycles"] > 5000 and rep["loop"]["frame_assess_ms_p50"] > 0
    for name in ("force.png", "path_quality.png", "frames.png"):
        assert (out / name).stat().st_size > 10_000
    # the stroke it mapped is in the output, ready to be run again
    assert rep["files"]["stroke"] == str(out / "stroke.json")
    np.testing.assert_array_equal(load_stroke(out / "stroke.json"), load_stroke(stroke))
    # the recording holds it all, with the arc length on quality results and events
    rec = read_recording(out / "scan.mcap")
    assert not rec.truncated and rec.summary["result"] == "done"
    assert len(rec.frames) > 300 and rec.frames[0].T_base_probe is not None
    assert rec.camera is not None and rec.camera.rgb is not None and rec.plan is not None
    sweep_q = [x for x in rec.quality if x.s and x.s > 0]
    assert len(sweep_q) > 100 and min(x.score for x in sweep_q) < 0.3
    ev = {e.kind: e for e in rec.events}
    assert ev["slow_down"].s == pytest.approx(span["from_mm"] * 1e-3, abs=1e-3)
    assert ev["force_up"].s > ev["slow_down"].s and ev["pause"].s > ev["force_up"].s
    assert "transition" in ev and "span" in ev


def _progress_t(line: str) -> float | None:
    m = re.search(r"\bt\s+([0-9.]+) s", line)
    return float(m.group(1)) if m else None


def _start_demo(tmp_path):
    """The demo on a short stroke in a subprocess (progress on its stderr pipe);
    returns (process, output folder)."""
    stroke, toml = _files(tmp_path, (0.0, 0.0), (-0.03, 0.05))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "robot_us",
        "demo",
        *DEMO_IDEAL_CYLINDER,
        "--out",
        str(out),
        "--stroke",
        str(stroke),
    ]
    cmd += ["--config", str(toml), "--plane", "config", "--no-pictures"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    return proc, out


@pytest.mark.slow
def test_a_scan_killed_mid_sweep_leaves_a_readable_recording(tmp_path):
    proc, out = _start_demo(tmp_path)
    t_line = None
    try:
        sweeping = 0
        for line in proc.stderr:
            if " sweep " in line:
                sweeping += 1
                t_line = _progress_t(line)
                if sweeping >= 3:  # at least a second into the sweep
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and t_line is not None
    rec = read_recording(out / "scan.mcap")
    assert rec.truncated and rec.summary is None
    names = rec.state["state"]
    assert (names == 5).any()  # sweep rows made it to disk
    t_last = float(rec.state["t"][-1])
    assert t_last >= t_line - 1.5  # at most about the last second lost
    assert rec.frames and rec.frames[-1].t >= t_line - 1.5
    assert rec.plan is not None and rec.camera is not None
    assert any(e.kind == "transition" and "sweep" in e.cause for e in rec.events)
    assert not (out / "report.json").exists()


@pytest.mark.slow
def test_demo_with_a_stroke_off_the_body_fails_cleanly(tmp_path, capsys):
    cfg = short_config()
    stroke = tmp_path / "bed.json"
    save_stroke(stroke, stroke_on_skin(cfg, (0.0, 0.0), (-0.05, 0.05)) + np.array([0.0, 200.0]))
    out = tmp_path / "out"
    args = ["demo", *DEMO_IDEAL_CYLINDER, "--out", str(out), "--stroke", str(stroke)]
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "robot-us demo: error: mapping the stroke:" in err and "off the body" in err
    rec = read_recording(out / "scan.mcap")
    assert rec.summary["result"] == "faulted" and not (out / "report.json").exists()


def _interrupt_mid_sweep(tmp_path, signals, gap_s=0.0):
    """Run the demo in a subprocess and send ``signals`` once it is a second into the
    sweep; returns (process, output folder, wall time from the first signal to exit)."""
    import time

    proc, out = _start_demo(tmp_path)
    t_sent = None
    err = []
    try:
        sweeping = 0
        for line in proc.stderr:
            err.append(line)
            if " sweep " in line:
                sweeping += 1
                if sweeping >= 3 and t_sent is None:
                    t_sent = time.monotonic()
                    for sig in signals:
                        proc.send_signal(sig)
                        time.sleep(gap_s)
                    break
        err.extend(proc.stderr)  # the rest, until the process closes stderr
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert t_sent is not None, "".join(err)
    return proc, out, time.monotonic() - t_sent, "".join(err)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_sweep_aborts_like_the_operator(tmp_path, sig):
    """SIGTERM / SIGINT mid-sweep: retract, the abort event, the report with result
    aborted, a closed (complete) recording, exit 128 + the signal number."""
    proc, out, wall_s, err = _interrupt_mid_sweep(tmp_path, [sig])
    assert proc.returncode == 128 + sig, err
    assert f"interrupted by {sig.name}" in err and "Traceback" not in err
    rep = json.loads((out / "report.json").read_text())
    assert rep["result"] == "aborted" and sig.name in rep["cause"]
    rec = read_recording(out / "scan.mcap")
    assert not rec.truncated and rec.summary["result"] == "aborted"
    kinds = [e.kind for e in rec.events]
    assert "abort" in kinds
    abort = next(e for e in rec.events if e.kind == "abort")
    assert sig.name in abort.cause and abort.s is not None and abort.s > 0  # on the path
    # retracted: the last state rows are off the skin (no contact force) and aborted
    assert any(e.kind == "transition" and "aborted" in e.cause for e in rec.events)
    assert abs(float(rec.state["f_n"][-1])) < 0.5
    assert wall_s < 30.0  # seconds, not the rest of the scan (noisy machine: generous)


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_still_closes_the_recording(tmp_path):
    proc, out, _, err = _interrupt_mid_sweep(tmp_path, [signal.SIGINT, signal.SIGINT], gap_s=0.05)
    assert proc.returncode == 130, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["result"] == "aborted" and "second signal" in rep["cause"]
    rec = read_recording(out / "scan.mcap")
    assert not rec.truncated and rec.summary["result"] == "aborted"
    assert any(e.kind == "abort" and "second signal" in e.cause for e in rec.events)
