"""``robot-us igtl``: pyigtl's own client receives the tracked frames, placed in the robot
base frame (mm), from a replayed recording and live from the stub robot-side server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyigtl
import pytest

from robot_us.reconstruction.sweep import recorded_probe
from robot_us.recording import read_recording
from tests.protocol_stub import StubServer

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bridge(*args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "robot_us", "igtl", "--wait", "20", *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _run_bridge(n_images: int, *args: str) -> tuple[list[tuple], str]:
    """Run the bridge on a free port with ``args``, receive ``n_images`` (image,
    transform) pairs with pyigtl's client; the pairs and the bridge's stdout."""
    port = _free_port()
    proc = _bridge(*args, "--port", str(port))
    try:
        got = _receive(port, n_images)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    return got, out


def _receive(port: int, n_images: int, timeout: float = 30.0) -> list[tuple]:
    """(image message, transform message) pairs received by a pyigtl client."""
    client = pyigtl.OpenIGTLinkClient("127.0.0.1", port)
    got = []
    end = time.monotonic() + timeout
    try:
        while len(got) < n_images and time.monotonic() < end:
            img = client.wait_for_message("Image_Reference", timeout=1.0)
            if img is None:
                continue
            tr = client.wait_for_message("ProbeToReference", timeout=1.0)
            got.append((img, tr))
    finally:
        client.stop()
    return got


@pytest.mark.slow
def test_replayed_frames_arrive_in_the_base_frame(sweep_recording):
    got, out = _run_bridge(5, "--replay", str(sweep_recording), "--frames", "60")
    assert "sent 60 frames" in out and len(got) == 5
    rec = read_recording(sweep_recording)
    origin = int(rec.metadata["origin_ns"]) * 1e-9
    by_time = {round(origin + f.t, 3): f for f in rec.frames}
    probe = recorded_probe(rec)
    for img, tr in got:
        f = by_time[round(img.timestamp, 3)]
        assert img.image.shape == (1, *f.image.shape) and np.array_equal(img.image[0], f.image)
        want = f.T_base_probe @ probe.T_probe_image(f.image.shape[1], f.spacing_m)
        M = img.ijk_to_world_matrix  # mm, RAS = base
        assert img.world_coordinate_system == "ras"
        assert np.allclose(M[:3, [0, 1, 3]], want[:3, [0, 1, 3]] * 1e3, atol=1e-3)
        assert np.allclose(M[:3, 2], f.T_base_probe[:3, 1], atol=1e-6)  # 1 mm elevation
        assert tr is not None and np.allclose(
            tr.matrix[:3, 3], f.T_base_probe[:3, 3] * 1e3, atol=1e-3
        )


@pytest.mark.slow
def test_live_frames_from_the_stub_server_reach_a_pyigtl_client():
    with StubServer(frame_rate_hz=30.0, frame_size=(64, 80)) as stub:
        got, out = _run_bridge(3, "--connect", stub.url, "--frames", "20")
    assert "sent 20 frames" in out and len(got) == 3
    img, tr = got[-1]
    assert img.image.shape == (1, 64, 80)
    # the stub's probe sits at the base origin: the image hangs below it along +z
    M = img.ijk_to_world_matrix
    assert np.allclose(M[:3, 0], [0.2, 0, 0]) and np.allclose(M[:3, 1], [0, 0, 0.2])
    assert np.allclose(M[:3, 3], [-0.5 * 79 * 0.2, 0, 0.1], atol=1e-4)
    assert np.allclose(tr.matrix, np.eye(4))


def test_bridge_refuses_bad_arguments(tmp_path):
    proc = _bridge("--replay", str(tmp_path / "none.mcap"), "--port", "18950")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "none.mcap" in err
    proc = _bridge("--connect", "tcp://127.0.0.1:5560", "--port", "70000")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--port 70000" in err
