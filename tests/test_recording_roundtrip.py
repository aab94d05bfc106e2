"""Recording round trip: every channel written by the recorder reads back with its values,
times and shapes; truncated and corrupt files; replay and export."""

import json
import math
import shutil

import cv2
import numpy as np
import pytest
from mcap.reader import make_reader
from mcap.writer import Writer

from robot_us.core.types import CameraIntrinsics, RgbdFrame, ScanPlan, SegmentKind, UltrasoundFrame
from robot_us.recording import channels as ch
from robot_us.recording.config import RecordingConfig
from robot_us.recording.contents import QualitySample
from robot_us.recording.export import export_recording
from robot_us.recording.reader import RecordingFormatError, read_recording
from robot_us.recording.recorder import Recorder
from robot_us.recording.replay import replay, replay_into
from robot_us.state_log import StateLog

STATE_NAMES = {0: "idle", 1: "approach", 2: "sweep"}
FAULT_NAMES = {7: "force ceiling"}


def _rot_z(a: float) -> np.ndarray:
    T = np.eye(4)
    T[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    return T


def _pose(k: int) -> np.ndarray:
    T = _rot_z(0.001 * k)
    T[:3, 3] = [0.5 + 1e-4 * k, 0.01, 0.1]
    return T


def _push(log: StateLog, k: int, state: int = 0, fault: int = 0) -> None:
    q = np.linspace(0, 1, 7) + 1e-3 * k
    wr = np.array([0.1, 0.2, 5.0 + 1e-3 * k, 0.01, 0.02, 0.03])
    log.push_fields(
        k * 1e-3, k, q, q * 2, q * 3, wr + 1, wr, _pose(k), 5.0, wr[2], 1e-4 * k, 0.01, 0.9,
        state, fault, 12.5, 3.25,
    )  # fmt: skip


def _plan() -> ScanPlan:
    n = 4
    poses = np.stack([_pose(k) for k in range(n)])
    return ScanPlan(
        poses=poses,
        arc_length=np.linspace(0, 0.03, n),
        joints=np.arange(n * 7, dtype=float).reshape(n, 7),
        kinds=[SegmentKind.APPROACH, SegmentKind.SWEEP, SegmentKind.SWEEP, SegmentKind.RETRACT],
        speed_m_s=0.01,
        duration_s=3.0,
    )


def _camera() -> RgbdFrame:
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 1.0, (12, 16)).astype(np.float32)
    depth[0, 0] = np.nan
    K = np.array([[20.0, 0, 8], [0, 21.0, 6], [0, 0, 1]])
    return RgbdFrame(
        t=0.0,
        rgb=rng.integers(0, 255, (12, 16, 3), dtype=np.uint8),
        depth=depth,
        intrinsics=CameraIntrinsics(16, 12, K, np.array([0.1, -0.01, 0, 0, 0.001])),
        T_base_camera=_pose(500),
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A short recording with every channel; returns (path, what went in)."""
    path = tmp_path_factory.mktemp("rec") / "scan.mcap"
    log = StateLog(4096)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (24, 32), dtype=np.uint8) for _ in range(6)]
    cfg = RecordingConfig(state_rate_hz=100.0, flush_period_s=0.1)
    rec = Recorder(path, cfg, log, STATE_NAMES, FAULT_NAMES, origin_unix_s=1.7e9)
    with rec:
        rec.write_config({"robot": {"model": "panda"}, "gain": 1.5})
        rec.write_plan(_plan())
        rec.add_camera(_camera())
        for k in range(600):
            state = 0 if k < 200 else (1 if k < 400 else 2)
            _push(log, k, state, fault=7 if k >= 550 else 0)
            if k % 100 == 50:
                i = k // 100
                has_pose = i % 2 == 0  # half the frames carry their own pose and wrench
                frame = UltrasoundFrame(
                    t=k * 1e-3,
                    image=images[i],
                    spacing_m=(1e-4, 2e-4),
                    seq=i,
                    T_base_probe=_pose(10_000) if has_pose else None,
                    wrench=np.arange(6.0) if has_pose else None,
                    meta={"gain_db": 40} if has_pose else {},
                )
                assert rec.add_frame(frame)
                line = np.linspace(0.2, 0.9, 32) if i == 1 else None
                ood = ("noise" if i == 3 else "",)
                q = QualitySample(k * 1e-3, i, "good", 0.75, 0.6, line, 1e-4 * k, i == 3, *ood)
                rec.add_quality(q)
        rec.post_event(0.3, "slow_down", "quality 0.4 < 0.5", s=0.03, detail={"override": 0.5})
        rec.post_event(0.45, "force_step", "persisting low quality", 0.045, 2)
        rec.add_operator_command(0.2, COMMAND)
        rec.add_link_stats(0.25, LINK_STATS)
        # wait for the writer to drain the state so the summary comes after it
        stats = rec.close(summary={"force_rms_N": 0.12, "nan": float("nan")})
    return path, images, stats


COMMAND = {
    "client": "console#3fa2c1",
    "type": "teleop_twist",
    "seq": 17,
    "t_sent": 1.7e9 + 0.19,
    "t_recv": 1.7e9 + 0.2,
    "age": 0.01,
    "ttl": None,
    "result": "ok",
    "reason": "",
    "body": {"vx": 0.01, "vy": 0.0, "wx": 0.0, "wy": 0.0, "wz": 0.0, "hold": 0.1},
}
LINK_STATS = {
    "client": "console#3fa2c1",
    "controller": True,
    "rtt": 0.0004,
    "jitter": None,
    "offset": 1e-5,
    "heartbeat_age": 0.012,
    "stale": 1,
    "errors": 2,
    "lost": 0,
}


def test_operator_commands_and_links_round_trip(recorded):
    r = read_recording(recorded[0])
    (cmd,) = r.operator_commands
    assert cmd["t"] == pytest.approx(0.2)
    assert {k: cmd[k] for k in COMMAND} == COMMAND
    (link,) = r.links
    assert link["t"] == pytest.approx(0.25)
    assert {k: link[k] for k in LINK_STATS} == LINK_STATS


def test_every_channel_round_trips(recorded):
    path, images, stats = recorded
    r = read_recording(path)
    assert not r.truncated and r.truncation == ""
    assert stats.dropped == {} and stats.state_lost == 0 and stats.error is None
    topics = {t.topic: t for t in r.topics}
    for c in ch.CHANNELS:
        assert c.topic in topics, c.topic
        assert topics[c.topic].schema == c.schema
    # frames: image, time, seq, spacing, pose and wrench (from the frame or the state)
    assert len(r.frames) == 6
    for i, f in enumerate(r.frames):
        assert f.seq == i and f.t == pytest.approx((100 * i + 50) * 1e-3, abs=1e-9)
        assert f.image.dtype == np.uint8 and np.array_equal(f.image, images[i])
        assert f.spacing_m == (1e-4, 2e-4)
        if i % 2 == 0:
            assert f.pose_source == "frame"
            np.testing.assert_allclose(f.T_base_probe, _pose(10_000), atol=1e-12)
            np.testing.assert_allclose(f.wrench, np.arange(6.0))
            assert f.meta == {"gain_db": 40}
        else:
            assert f.pose_source == "state"
            np.testing.assert_allclose(f.T_base_probe, _pose(100 * i + 50), atol=1e-12)
            assert f.wrench[2] == pytest.approx(5.0 + 1e-3 * (100 * i + 50))
            assert f.wrench_frame == "probe"
    # quality
    assert [q.seq for q in r.quality] == list(range(6))
    assert r.quality[1].scanline_confidence.shape == (32,)
    assert r.quality[0].scanline_confidence is None
    assert r.quality[2].score == 0.75 and r.quality[2].s == pytest.approx(0.025)
    assert [(q.ood, q.ood_reason) for q in r.quality[2:4]] == [(False, ""), (True, "noise")]
    # state: every row, bit-exact
    assert r.state_full_rate and r.state_lost == 0 and len(r.state) == 600
    assert r.state["cycle"].tolist() == list(range(600))
    np.testing.assert_array_equal(r.state["T_base_probe"][123], _pose(123)[:3])
    assert r.state["q"].shape == (600, 7) and r.state["wrench_raw"].shape == (600, 6)
    assert r.state["speed_override"][0] == 0.9 and r.state["lateness_us"][5] == 3.25
    # events: posted, queued, derived from state and fault changes
    kinds = [(e.kind, e.cause) for e in r.events]
    assert ("slow_down", "quality 0.4 < 0.5") in kinds
    assert ("force_step", "persisting low quality") in kinds
    assert ("transition", "idle -> approach") in kinds
    assert ("transition", "approach -> sweep") in kinds
    assert ("fault", "force ceiling") in kinds
    tr = next(e for e in r.events if e.cause == "idle -> approach")
    assert tr.t == pytest.approx(0.2) and tr.s == pytest.approx(0.02) and tr.state == 1
    slow = next(e for e in r.events if e.kind == "slow_down")
    assert slow.s == 0.03 and slow.detail == {"override": 0.5}
    assert [e.t for e in r.events] == sorted(e.t for e in r.events)
    # plan, config, summary, camera, recorder stats
    p = r.plan
    np.testing.assert_allclose(p.poses, _plan().poses)
    assert p.kinds == ["approach", "sweep", "sweep", "retract"] and p.joints.shape == (4, 7)
    assert p.speed_m_s == 0.01 and p.robot == "panda"
    assert r.config == {"robot": {"model": "panda"}, "gain": 1.5}
    assert r.summary == {"force_rms_N": 0.12, "nan": None}
    cam = _camera()
    assert np.array_equal(r.camera.rgb, cam.rgb)
    np.testing.assert_array_equal(r.camera.depth, cam.depth)  # NaN kept in the bytes
    np.testing.assert_allclose(r.camera.K, cam.intrinsics.K)
    np.testing.assert_allclose(r.camera.dist, cam.intrinsics.dist)
    np.testing.assert_allclose(r.camera.T_base_camera, cam.T_base_camera, atol=1e-12)
    assert r.recorder_stats["state_rows"] == 600 and r.recorder_stats["dropped"] == {}
    assert r.start_t == pytest.approx(0.0) and r.end_t == pytest.approx(0.599, abs=1e-6)


def test_decimated_state_and_pose_channels_for_plots(recorded):
    path, _, _ = recorded
    with open(path, "rb") as f:
        reader = make_reader(f)  # the standard indexed reader accepts the finished file
        summary = reader.get_summary()
        assert summary is not None and summary.statistics.message_count > 0
        states = [json.loads(msg.data) for _, _, msg in reader.iter_messages(topics=["/state"])]
    assert 55 <= len(states) <= 61  # 100 Hz over 0.6 s
    s = states[30]
    assert s["state_name"] in STATE_NAMES.values() and len(s["q"]) == 7
    assert set(s["orientation"]) == {"x", "y", "z", "w"}
    assert set(s["timestamp"]) == {"sec", "nsec"} and s["timestamp"]["sec"] == 1_700_000_000


def test_foxglove_messages_use_the_well_known_fields(recorded):
    path, _, _ = recorded
    with open(path, "rb") as f:
        reader = make_reader(f)
        got = {}
        for schema, channel, msg in reader.iter_messages():
            got.setdefault(channel.topic, (schema, json.loads(msg.data)))
    schema, img = got["/us/image"]
    assert schema.name == "foxglove.RawImage" and schema.encoding == "jsonschema"
    assert {"timestamp", "frame_id", "width", "height", "encoding", "step", "data"} <= set(img)
    assert img["encoding"] == "mono8" and img["step"] == img["width"]
    schema, pose = got["/us/pose"]
    assert pose["frame_id"] == "base" and set(pose["pose"]) == {"position", "orientation"}
    assert got["/camera/depth"][1]["encoding"] == "32FC1"
    assert got["/camera/rgb"][1]["encoding"] == "rgb8"
    assert len(got["/camera/calibration"][1]["K"]) == 9
    assert got["/log"][1]["level"] in (2, 3, 4)
    assert json.loads(schema.data)["title"] == "foxglove.PoseInFrame"


def test_state_without_raw_channel_reads_back_decimated(tmp_path):
    log = StateLog(2048)
    path = tmp_path / "dec.mcap"
    with Recorder(path, RecordingConfig(raw_state=False, state_rate_hz=50.0), log):
        for k in range(1000):
            _push(log, k)
    r = read_recording(path)
    assert not r.state_full_rate
    assert 48 <= len(r.state) <= 51
    k = int(r.state["cycle"][10])
    np.testing.assert_allclose(r.state["T_base_probe"][10], _pose(k)[:3], atol=1e-12)
    assert r.state["q"][10] == pytest.approx(np.linspace(0, 1, 7) + 1e-3 * k)


def test_truncated_file_reads_up_to_the_last_complete_chunk(recorded, tmp_path):
    path, _, _ = recorded
    data = path.read_bytes()
    full = read_recording(path)
    cut = tmp_path / "cut.mcap"
    for frac in (0.9, 0.6, 0.3):
        cut.write_bytes(data[: int(len(data) * frac)])
        r = read_recording(cut)
        assert r.truncated and r.truncation
        assert len(r.state) <= len(full.state)
        # what is there is a prefix of the complete recording
        assert np.array_equal(r.state, full.state[: len(r.state)])
        assert [f.seq for f in r.frames] == [f.seq for f in full.frames][: len(r.frames)]


def test_corrupt_chunk_is_reported_damaged_with_the_cause(recorded, tmp_path):
    path, _, _ = recorded
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)  # zero a run inside the data section
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    r = read_recording(bad)
    assert r.status == "damaged" and r.damaged and not r.truncated
    lo, hi = r.damaged[0]
    assert lo <= mid < hi and f"bytes {lo}..{hi} damaged" in r.recovery


def test_not_an_mcap_file_is_a_clear_error(tmp_path):
    p = tmp_path / "x.mcap"
    p.write_bytes(b"hello, this is not a recording" * 10)
    with pytest.raises(RecordingFormatError, match="not an MCAP file"):
        read_recording(p)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_recording(tmp_path / "missing.mcap")


def test_foreign_mcap_file_is_a_clear_error(tmp_path):
    p = tmp_path / "other.mcap"
    with open(p, "wb") as f:
        w = Writer(f)
        w.start()
        sid = w.register_schema("x", "jsonschema", b"{}")
        cid = w.register_channel("/x", "json", sid)
        w.add_message(cid, 1, b"{}", 1)
        w.finish()
    with pytest.raises(RecordingFormatError, match="not a robot-us recording"):
        read_recording(p)


def test_bad_frame_is_rejected_in_the_caller(tmp_path):
    with Recorder(tmp_path / "r.mcap") as rec:
        with pytest.raises(ValueError, match="cannot record image"):
            rec.add_frame(
                UltrasoundFrame(t=0.0, image=np.zeros((4, 4), np.int64), spacing_m=(1, 1))
            )
        with pytest.raises(ValueError, match="HxW"):
            rec.add_frame(UltrasoundFrame(t=0.0, image=np.zeros(4, np.uint8), spacing_m=(1, 1)))


def test_exception_mid_scan_still_leaves_a_complete_file(tmp_path):
    log = StateLog(1024)
    path = tmp_path / "fault.mcap"
    with pytest.raises(RuntimeError, match="simulated fault"), Recorder(path, state_log=log):
        for k in range(300):
            _push(log, k)
        raise RuntimeError("simulated fault")
    r = read_recording(path)
    assert not r.truncated and len(r.state) == 300
    err = [e for e in r.events if e.kind == "error"]
    assert err and "simulated fault" in err[0].cause


def test_producers_after_close_are_counted_as_dropped(tmp_path):
    rec = Recorder(tmp_path / "r.mcap").start()
    stats = rec.close()
    assert not rec.add_quality(QualitySample(0.0, 0, "good", 1.0, 1.0))
    assert rec.stats().dropped == {"quality": 1}
    assert stats.error is None


def test_replay_is_in_time_order_and_paced(recorded):
    path, _, _ = recorded
    r = read_recording(path)
    items = list(replay(r, speed=0))
    ts = [it.t for it in items]
    assert ts == sorted(ts)
    assert sum(it.topic == "/us/image" for it in items) == 6
    assert sum(it.topic == "/state" for it in items) == 600
    # pacing with a fake clock: 0.6 s of recording at 2x takes 0.3 s
    now = [0.0]
    sleeps = []

    def sleep(dt):
        sleeps.append(dt)
        now[0] += dt

    frames = list(replay(r, speed=2.0, topics=["/us/image"], sleep=sleep, clock=lambda: now[0]))
    assert len(frames) == 6
    assert now[0] == pytest.approx((frames[-1].t - frames[0].t) / 2.0)
    got = []
    assert replay_into(r, got.append, speed=0, topics=["/events"]) == len(r.events)
    with pytest.raises(ValueError, match="NaN"):
        next(replay(r, speed=float("nan")))


def test_export_writes_pngs_csv_npz_and_json(recorded, tmp_path):
    path, images, _ = recorded
    r = read_recording(path)
    out = tmp_path / "out"
    res = export_recording(r, out)
    assert res.frames == 6 and res.state_rows == 600
    png = cv2.imread(str(out / "frames" / "frame_00002.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(png, images[2])
    npz = np.load(out / "state.npz")
    assert npz["q"].shape == (600, 7)
    header = (out / "state.csv").read_text().splitlines()[0].split(",")
    assert "f_n" in header and "q_6" in header
    assert json.loads((out / "summary.json").read_text())["force_rms_N"] == 0.12
    assert (out / "camera_rgb.png").exists() and (out / "quality.csv").exists()
    shutil.rmtree(out)


_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "null": type(None),
    "boolean": bool,
}


def _check(value, schema, where):
    """A small JSON-schema subset check: types, object properties, array items, oneOf const."""
    if "oneOf" in schema:
        assert value in [alt["const"] for alt in schema["oneOf"]], where
        return
    types = schema.get("type")
    if types is None:
        return
    types = [types] if isinstance(types, str) else types
    assert any(isinstance(value, _TYPES[t]) for t in types), f"{where}: {value!r} not {types}"
    if isinstance(value, bool):
        assert "boolean" in types, where
    if isinstance(value, dict) and "properties" in schema:
        unknown = set(value) - set(schema["properties"])
        assert not unknown, f"{where}: fields {unknown} not in the schema"
        for k, v in value.items():
            _check(v, schema["properties"][k], f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value[:50]):
            _check(v, schema["items"], f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], where


def test_every_message_matches_its_json_schema(recorded):
    path, _, _ = recorded
    seen = set()
    with open(path, "rb") as f:
        for schema, channel, msg in make_reader(f).iter_messages():
            sch = json.loads(schema.data)
            assert sch["type"] == "object" and schema.encoding == "jsonschema"
            assert channel.message_encoding == "json"
            _check(json.loads(msg.data), sch, channel.topic)
            seen.add(channel.topic)
    assert seen == {c.topic for c in ch.CHANNELS}


def test_binary_fields_are_declared_base64():
    for c in ch.CHANNELS:
        sch = json.loads(ch.schema_bytes(c.schema))
        for name, prop in sch["properties"].items():
            if name == "data":
                assert prop.get("contentEncoding") == "base64", c.schema


def test_malformed_item_is_rejected_and_counted_but_recording_goes_on(tmp_path):
    log = StateLog(1024)
    blocks = []
    path = tmp_path / "rej.mcap"
    with Recorder(path, state_log=log, on_state_rows=blocks.append) as rec:
        rec.add_quality(QualitySample(0.0, 0, "good", "not a number", 0.5))  # type: ignore[arg-type]
        rec.add_quality(QualitySample(0.001, 1, "good", 0.9, 0.5))
        for k in range(100):
            _push(log, k)
    stats = rec.stats()
    assert stats.dropped == {"quality": 1} and "quality" in stats.last_rejection
    assert sum(len(b) for b in blocks) == 100  # the live hook saw every row
    r = read_recording(path)
    assert [q.seq for q in r.quality] == [1] and len(r.state) == 100
    assert r.recorder_stats["dropped"] == {"quality": 1}


def test_synchronous_recorder_round_trip(tmp_path):
    """threaded=False: items are written when handed in, pump() drains state and syncs."""
    from robot_us.recording.durable_writer import RecordingError

    log = StateLog(1000, 7)
    path = tmp_path / "sync.mcap"
    rec = Recorder(path, state_log=log, threaded=False).start()
    z7, z6, T = np.zeros(7), np.zeros(6), np.eye(4)
    for k in range(300):
        log.push_fields(k * 1e-3, k, z7, z7, z7, z6, z6, T, 5.0, 5.0, 0.0, 0.0, 1.0, 0, 0, 1, 0)
        if k % 50 == 0:
            rec.pump()
    rec.post_event(0.2, "note", "a test event", s=0.01)
    stats = rec.close(summary={"result": "done"})
    assert stats.error is None and not stats.dropped
    r = read_recording(path)
    assert len(r.state) == 300
    assert np.allclose(r.state["t"], np.arange(300) * 1e-3)
    assert r.summary["result"] == "done"
    assert any(e.kind == "note" for e in r.events)
    with pytest.raises(RecordingError, match="threaded=False"):
        Recorder(tmp_path / "x.mcap").pump()


@pytest.mark.parametrize("threaded", [True, False])
def test_writer_failure_stops_recording_closes_the_file_and_is_raised(tmp_path, threaded):
    """Both modes share one finishing path: a failed write is kept, later items are
    dropped, the file is closed, and close() raises naming the cause."""
    from robot_us.recording.durable_writer import RecordingError

    rec = Recorder(tmp_path / "fail.mcap", threaded=threaded).start()

    def broken_write(topic, log_time_ns, data):
        raise OSError("disk full (injected)")

    rec._writer.write = broken_write
    rec.write_config({"a": 1})
    if threaded:
        rec._thread.join(5.0)  # the writer thread stops on the error
        assert not rec._thread.is_alive()
    assert not rec.add_quality(QualitySample(0.0, 0, "good", 1.0, 1.0))
    with pytest.raises(RecordingError, match="disk full"):
        rec.close()
    assert rec._writer.closed and rec.stats().dropped == {"quality": 1}
    assert "disk full" in rec.stats().error


def test_state_messages_decode_back_and_malformed_ones_name_the_topic():
    from scipy.spatial.transform import Rotation

    from robot_us.recording import messages as m
    from robot_us.state_log import state_dtype

    rows = np.zeros(5, dtype=state_dtype(7))
    rows["t"] = np.arange(5) * 1e-2
    rows["cycle"] = np.arange(5)
    rows["state"] = 2
    rows["q"] = np.arange(35.0).reshape(5, 7)
    R = Rotation.random(5, random_state=4).as_matrix()
    R[0] = np.diag([1.0, -1.0, -1.0])  # 180 deg about x: w = 0
    rows["T_base_probe"][:, :, :3] = R
    rows["T_base_probe"][:, :, 3] = np.arange(15.0).reshape(5, 3)
    msgs = m.state_msgs(rows, 10**18, {2: "sweep"})
    states = [json.loads(m.dumps(s)) for _, s, _ in msgs]
    assert all(s["orientation"]["w"] >= 0 and s["state_name"] == "sweep" for s in states)
    back = m.decode_state_rows(states, rows.dtype, "/state")
    np.testing.assert_allclose(back["T_base_probe"], rows["T_base_probe"], atol=1e-12)
    assert back["cycle"].tolist() == [0, 1, 2, 3, 4] and np.array_equal(back["q"], rows["q"])
    bad = dict(states[1], orientation={"x": 0, "y": 0, "z": 0, "w": 0})
    with pytest.raises(m.MessageError, match="/state: zero-norm"):
        m.decode_state_rows([bad], rows.dtype, "/state")
    with pytest.raises(m.MessageError, match=r"/state: malformed robot_us\.State"):
        m.decode_state_rows(
            [{k: v for k, v in states[1].items() if k != "f_n"}], rows.dtype, "/state"
        )
