"""Ultrasound frame sources: simulated, image folder, .npz stack, OpenCV VideoCapture, and
the registry that chooses them by name."""

import json

import cv2
import numpy as np
import pytest

from hardware_drivers.frame_files import FrameFileError
from hardware_drivers.frame_stack import NpzStackSource
from hardware_drivers.image_folder import ImageFolderSource
from hardware_drivers.video_capture import VideoCaptureSource
from robot_us.config import load_config
from robot_us.core.backends import ULTRASOUND_SOURCES, BackendError
from sim.ultrasound.source import SimUltrasoundSource, make_sim_ultrasound_source
from tests.us_helpers import on_skin, small_sim


class FakeWorld:
    """The three calls the simulated source needs, plus its simulated time."""

    t = 1.5

    def probe_pose(self):
        return on_skin(0.0, 0.05)

    def contact_force(self):
        return 4.0

    def breathing_offset(self):
        return 0.0


def test_sim_source_frames_carry_pose_wrench_time_and_truth():
    src = SimUltrasoundSource(
        small_sim(), pose=lambda: on_skin(0.0, 0.05), force=lambda: 4.0, max_frames=2
    )
    a, b, c = src.grab(), src.grab(), src.grab()
    assert c is None
    assert (a.seq, b.seq) == (0, 1) and b.t > a.t
    assert a.image.shape == (96, 96) and a.T_base_probe.shape == (4, 4)
    assert a.wrench[2] == 4.0
    assert a.meta["quality"] == "good" and a.meta["score"] > 0.9


def test_make_sim_source_from_config_and_world():
    cfg = load_config(overrides={"ultrasound.sim.width_px": 64, "ultrasound.sim.height_px": 64})
    src = make_sim_ultrasound_source(cfg, FakeWorld())
    f = src.grab()
    assert f.t == 1.5 and f.image.shape == (64, 64)
    with pytest.raises(ValueError, match="probe_pose"):
        make_sim_ultrasound_source(cfg, object())

    class AttrClockWorld(FakeWorld):
        time = None  # no clock method, a simulated-time attribute instead
        t = 2.25

    assert make_sim_ultrasound_source(cfg, AttrClockWorld()).grab().t == 2.25
    with pytest.raises(ValueError, match="needs a simulated world"):
        make_sim_ultrasound_source(cfg)

    class NoClockWorld(FakeWorld):
        t = property()  # no simulated time

    with pytest.raises(ValueError, match="time attribute t"):
        make_sim_ultrasound_source(cfg, NoClockWorld())


def test_registry_names_and_factories(tmp_path):
    assert ULTRASOUND_SOURCES.names() == ["folder", "npz", "sim", "video"]
    np.savez(tmp_path / "s.npz", frames=np.zeros((2, 8, 8), np.uint8))
    cfg = load_config(
        overrides={"ultrasound.source": "npz", "ultrasound.uri": str(tmp_path / "s.npz")}
    )
    src = ULTRASOUND_SOURCES.create(cfg.ultrasound.source, cfg)
    assert len(src) == 2


def write_pngs(folder, n=3):
    for i in range(n):
        img = np.full((20, 30), 40 * i, np.uint8)
        cv2.imwrite(str(folder / f"f{i:03d}.png"), img)


def test_image_folder_source_with_sidecar(tmp_path):
    write_pngs(tmp_path)
    cv2.imwrite(str(tmp_path / "colour.bmp"), np.zeros((20, 30, 3), np.uint8))
    T = np.eye(4).tolist()
    (tmp_path / "frames.json").write_text(
        json.dumps({"frames": {"f001.png": {"t": 7.0, "T_base_probe": T, "wrench": [0] * 6}}})
    )
    src = ImageFolderSource(tmp_path, rate_hz=10.0)
    frames = []
    while (f := src.grab()) is not None:
        frames.append(f)
    assert [f.meta["name"] for f in frames] == ["colour.bmp", "f000.png", "f001.png", "f002.png"]
    assert all(f.image.ndim == 2 and f.image.dtype == np.uint8 for f in frames)
    assert frames[2].t == 7.0 and frames[2].T_base_probe.shape == (4, 4)
    assert frames[1].t == pytest.approx(0.1) and frames[1].T_base_probe is None


def test_image_folder_errors(tmp_path):
    with pytest.raises(FrameFileError, match="not found"):
        ImageFolderSource(tmp_path / "nope")
    with pytest.raises(FrameFileError, match="no image files"):
        ImageFolderSource(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    src = ImageFolderSource(tmp_path)
    with pytest.raises(FrameFileError, match=r"bad\.png.*not a readable image"):
        src.grab()
    (tmp_path / "frames.json").write_text("{broken")
    with pytest.raises(FrameFileError, match="not valid JSON"):
        ImageFolderSource(tmp_path)


def test_npz_source(tmp_path):
    p = tmp_path / "stack.npz"
    np.savez(
        p,
        frames=np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8),
        t=np.array([0.0, 0.5, 1.0]),
        wrench=np.zeros((3, 6)),
        spacing_m=np.array([2e-4, 3e-4]),
    )
    src = NpzStackSource(p)
    f = [src.grab() for _ in range(4)]
    assert f[3] is None and f[1].t == 0.5 and f[1].spacing_m == (2e-4, 3e-4)
    assert f[2].wrench.shape == (6,) and f[2].T_base_probe is None


@pytest.mark.parametrize(
    "arrays, why",
    [
        ({"images": np.zeros((2, 8, 8), np.uint8)}, "no 'frames' array"),
        ({"frames": np.zeros((2, 8, 8), np.float32)}, "must be uint8"),
        ({"frames": np.zeros((8, 8), np.uint8)}, "N x H x W"),
        ({"frames": np.zeros((2, 8, 8), np.uint8), "t": np.zeros(3)}, "'t' must be"),
    ],
)
def test_npz_source_rejects_malformed_stacks(tmp_path, arrays, why):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(FrameFileError, match=why):
        NpzStackSource(p)


def test_npz_source_corrupt_and_missing(tmp_path):
    p = tmp_path / "corrupt.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FrameFileError, match=r"not a readable \.npz"):
        NpzStackSource(p)
    with pytest.raises(FrameFileError, match="not found"):
        NpzStackSource(tmp_path / "absent.npz")


def test_video_file_source(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    assert writer.isOpened()
    for i in range(5):
        writer.write(np.full((24, 32, 3), 30 * i, np.uint8))
    writer.release()
    src = VideoCaptureSource(str(path), pose=lambda: np.eye(4))
    frames = []
    while (f := src.grab()) is not None:
        frames.append(f)
    src.close()
    assert len(frames) == 5
    assert frames[0].image.shape == (24, 32) and frames[0].image.dtype == np.uint8
    assert frames[4].t > frames[0].t
    assert abs(int(frames[4].image.mean()) - 120) < 10
    assert frames[0].T_base_probe.shape == (4, 4)


def test_video_source_errors(tmp_path):
    with pytest.raises(FrameFileError, match="video file not found"):
        VideoCaptureSource(str(tmp_path / "none.avi"))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"nothing to see")
    with pytest.raises(BackendError, match="cannot open"):
        VideoCaptureSource(str(bad))
