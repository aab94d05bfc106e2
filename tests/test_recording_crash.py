"""A recording cut by kill -9 mid-write is still readable up to about the last second."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from robot_us.recording.reader import read_recording

ROOT = Path(__file__).resolve().parents[1]
#: Loop time (s) at which the writer is killed.
KILL_AFTER_S = 2.5
#: The recording must cover at least up to the kill time minus this (s).
MAX_LOSS_S = 1.2


@pytest.mark.slow
def test_kill_9_mid_write_loses_at_most_about_a_second(tmp_path):
    out = tmp_path / "killed.mcap"
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot_us.recording.synthetic", str(out), "--duration", "30"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY"), f"writer did not start: {line!r} {proc.stderr.read()}"
        t0 = float(line.split()[1])
        time.sleep(max(0.0, t0 + KILL_AFTER_S - time.monotonic()))
        kill_t = time.monotonic() - t0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    r = read_recording(out)
    assert r.truncated, "a killed writer cannot have written the footer"
    assert r.summary is None
    # state rows (1 kHz), frames (30 Hz) and quality reach close to the kill time
    assert len(r.state) > 0 and len(r.frames) > 0 and len(r.quality) > 0
    assert float(r.state["t"].max()) >= kill_t - MAX_LOSS_S, (r.state["t"].max(), kill_t)
    assert r.frames[-1].t >= kill_t - MAX_LOSS_S, (r.frames[-1].t, kill_t)
    assert r.quality[-1].t >= kill_t - MAX_LOSS_S
    # what was recorded is whole: consecutive cycles, no row lost in the ring
    assert r.state_lost == 0
    cyc = r.state["cycle"]
    assert np.all(np.diff(cyc) >= 1)
    assert r.plan is not None and r.config is not None and r.camera is not None
