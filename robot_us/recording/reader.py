"""Reading a recording back with one call: ``read_recording(path) -> Recording``.

Works on complete files, on files whose writer crashed or was killed (no summary or
footer: everything up to the last complete chunk is returned, ``Recording.truncated`` /
``Recording.truncation`` say so) and on files damaged in the middle (every intact chunk
is read, ``Recording.damaged`` lists the byte ranges skipped, ``Recording.recovery``
says what was recovered). A file that is not MCAP, or not a robot-us recording,
raises a ``RecordingFormatError`` naming the cause."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from mcap.records import Channel as McapChannel

from robot_us.recording import channels as ch
from robot_us.recording import messages as m
from robot_us.recording.contents import (
    CameraRecord,
    FrameRecord,
    PlanRecord,
    Recording,
    TopicInfo,
)
from robot_us.recording.mcap_scan import NotMcapError, ScanState, scan_mcap
from robot_us.state_log import state_dtype


class RecordingFormatError(ValueError):
    """The file is not a readable robot-us recording (the message names the cause)."""


Raw = list[tuple[int, bytes]]  # (log time ns, payload) in file order


def _writer_channels() -> dict[int, McapChannel]:
    """The channel records the robot-us writer registers (ids in ``channels.CHANNELS``
    order): they stand in for channel records lost with a damaged first chunk."""
    schema_ids: dict[str, int] = {}
    out = {}
    for cid, c in enumerate(ch.CHANNELS, start=1):
        sid = schema_ids.setdefault(c.schema, len(schema_ids) + 1)
        out[cid] = McapChannel(
            id=cid, topic=c.topic, message_encoding=ch.MESSAGE_ENCODING, schema_id=sid, metadata={}
        )
    return out


def _collect(path: Path) -> tuple[dict[str, Raw], dict[str, str], ScanState]:
    st = ScanState(str(path))
    by_topic: dict[str, Raw] = defaultdict(list)
    schema_of: dict[str, str] = {}
    try:
        for channel, msg in scan_mcap(path, st, _writer_channels()):
            by_topic[channel.topic].append((msg.log_time, msg.data))
            if channel.topic not in schema_of:
                schema = st.schemas.get(channel.schema_id)
                known = ch.BY_TOPIC.get(channel.topic)
                name = schema.name if schema is not None else known.schema if known else ""
                schema_of[channel.topic] = name
    except NotMcapError as exc:
        raise RecordingFormatError(str(exc)) from exc
    return by_topic, schema_of, st


def _json_meta(meta: dict[str, str], key: str, default: Any) -> Any:
    raw = meta.get(key)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordingFormatError(f"recording metadata {key!r} is not valid JSON") from exc


def _decode_all(by_topic: dict[str, Raw], c: ch.Channel) -> list[tuple[int, dict[str, Any]]]:
    """(log time ns, message) of every message on channel ``c``."""
    return [(t_ns, m.loads(data, c.topic)) for t_ns, data in by_topic.get(c.topic, [])]


def _last(by_topic: dict[str, Raw], c: ch.Channel) -> dict[str, Any] | None:
    """The last message on channel ``c``, None if there is none."""
    raw = by_topic.get(c.topic)
    return m.loads(raw[-1][1], c.topic) if raw else None


def _state(by_topic: dict[str, Raw], meta: dict[str, str]) -> tuple[np.ndarray, bool, int]:
    blocks = [
        m.decode_state_block(msg, ch.STATE_RAW.topic)
        for _, msg in _decode_all(by_topic, ch.STATE_RAW)
    ]
    if blocks:
        blocks.sort(key=lambda b: b[1])
        lost = sum(b[2] for b in blocks)
        expected = blocks[0][1]
        for rows, first, _ in blocks:
            lost += max(0, first - expected)  # a gap between blocks: rows never recorded
            expected = first + len(rows)
        return np.concatenate([b[0] for b in blocks]), True, lost
    descr = _json_meta(meta, "state_dtype", None)
    try:
        dtype = m.dtype_from_descr(descr) if descr else state_dtype()
    except (TypeError, ValueError, IndexError) as exc:
        raise RecordingFormatError(f"recording metadata 'state_dtype' is invalid: {exc}") from exc
    msgs = [msg for _, msg in _decode_all(by_topic, ch.STATE)]
    return m.decode_state_rows(msgs, dtype, ch.STATE.topic), False, 0


def _frames(by_topic: dict[str, Raw], origin_ns: int) -> list[FrameRecord]:
    poses = {
        t: m.pose_matrix(msg["pose"], ch.US_POSE.topic)
        for t, msg in _decode_all(by_topic, ch.US_POSE)
    }
    wrenches = {
        t: (m.decode_wrench(msg, ch.US_WRENCH.topic), str(msg.get("frame_id", "")))
        for t, msg in _decode_all(by_topic, ch.US_WRENCH)
    }
    infos = dict(_decode_all(by_topic, ch.US_INFO))
    frames = []
    for t_ns, data in by_topic.get(ch.US_IMAGE.topic, []):
        image = m.decode_raw_image(m.loads(data, ch.US_IMAGE.topic), ch.US_IMAGE.topic)
        info = infos.get(t_ns, {})
        spacing = info.get("spacing_m") or [float("nan"), float("nan")]
        w = wrenches.get(t_ns)
        frames.append(
            FrameRecord(
                t=(t_ns - origin_ns) * 1e-9,
                seq=int(info.get("seq", -1)),
                image=image,
                spacing_m=(float(spacing[0]), float(spacing[1])),
                T_base_probe=poses.get(t_ns),
                wrench=None if w is None else w[0],
                wrench_frame=None if w is None else w[1],
                pose_source=str(info.get("pose_source", "none")),
                meta=dict(info.get("meta") or {}),
            )
        )
    frames.sort(key=lambda f: (f.t, f.seq))
    return frames


def _camera(by_topic: dict[str, Raw], origin_ns: int) -> CameraRecord | None:
    rgb_raw = by_topic.get(ch.CAMERA_RGB.topic, [])
    depth_raw = by_topic.get(ch.CAMERA_DEPTH.topic, [])
    calib = _last(by_topic, ch.CAMERA_CALIBRATION)
    pose = _last(by_topic, ch.CAMERA_POSE)
    if not (rgb_raw or depth_raw or calib):
        return None
    t_ns = (rgb_raw or depth_raw or [(origin_ns, b"")])[-1][0]
    rgb = _last(by_topic, ch.CAMERA_RGB)
    depth = _last(by_topic, ch.CAMERA_DEPTH)
    return CameraRecord(
        t=(t_ns - origin_ns) * 1e-9,
        rgb=None if rgb is None else m.decode_raw_image(rgb, ch.CAMERA_RGB.topic),
        depth=None if depth is None else m.decode_raw_image(depth, ch.CAMERA_DEPTH.topic),
        K=None if calib is None else np.array(calib["K"], dtype=np.float64).reshape(3, 3),
        dist=None if calib is None else np.array(calib["D"], dtype=np.float64),
        T_base_camera=None if pose is None else m.pose_matrix(pose["pose"], ch.CAMERA_POSE.topic),
    )


def _plan(msg: dict[str, Any] | None) -> PlanRecord | None:
    if msg is None:
        return None
    try:
        poses = np.array(msg["poses"], dtype=np.float64).reshape(-1, 4, 4)
        return PlanRecord(
            poses=poses,
            arc_length=np.array(msg["arc_length"], dtype=np.float64),
            joints=np.array(msg["joints"], dtype=np.float64),
            kinds=[str(k) for k in msg["kinds"]],
            speed_m_s=float(msg["speed_m_s"]),
            duration_s=float(msg["duration_s"]),
            robot=str(msg["robot"]),
            plane=str(msg["plane"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingFormatError(f"{ch.PLAN.topic}: malformed robot_us.Plan: {exc}") from exc


def read_recording(path: str | Path) -> Recording:
    """Read every channel of a recording (complete or truncated) into a ``Recording``."""
    path = Path(path)
    by_topic, schema_of, st = _collect(path)
    meta = st.metadata.get(ch.METADATA_NAME)
    if meta is None:
        raise RecordingFormatError(
            f"{path} is an MCAP file but not a robot-us recording "
            f"(no '{ch.METADATA_NAME}' metadata record)"
        )
    crc = meta.get(ch.METADATA_CRC_KEY)
    if crc is not None and crc != ch.metadata_crc(meta):
        raise RecordingFormatError(
            f"{path}: the recording's metadata record is damaged (checksum mismatch); "
            "its time origin and state layout cannot be trusted"
        )
    try:
        origin_ns = int(meta["origin_ns"])
    except (KeyError, ValueError) as exc:
        raise RecordingFormatError(f"{path}: recording metadata lacks a valid origin_ns") from exc
    try:
        state, full_rate, lost = _state(by_topic, meta)
        quality = [
            m.decode_quality(msg, ch.US_QUALITY.topic)
            for _, msg in _decode_all(by_topic, ch.US_QUALITY)
        ]
        events = [
            m.decode_event(msg, ch.EVENTS.topic) for _, msg in _decode_all(by_topic, ch.EVENTS)
        ]
        frames = _frames(by_topic, origin_ns)
        camera = _camera(by_topic, origin_ns)
        plan = _plan(_last(by_topic, ch.PLAN))
        cfg = _last(by_topic, ch.CONFIG)
        summary = _last(by_topic, ch.SUMMARY)
        rstats = _last(by_topic, ch.RECORDER_STATS)
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # MessageError and shapes
        raise RecordingFormatError(f"{path}: {exc}") from exc
    quality.sort(key=lambda q: (q.t, q.seq))
    events.sort(key=lambda e: e.t)
    times = [t for raw in by_topic.values() for t, _ in raw]
    start_t = (min(times) - origin_ns) * 1e-9 if times else 0.0
    end_t = (max(times) - origin_ns) * 1e-9 if times else 0.0
    topics = [
        TopicInfo(topic, schema_of.get(topic, ""), len(raw))
        for topic, raw in sorted(by_topic.items())
    ]
    if rstats is not None:
        rstats = {k: v for k, v in rstats.items() if k != "timestamp"}
    return Recording(
        path=str(path),
        frames=frames,
        quality=quality,
        state=state,
        state_full_rate=full_rate,
        state_lost=lost,
        events=events,
        plan=plan,
        config=None if cfg is None else cfg.get("config"),
        summary=None if summary is None else summary.get("summary"),
        camera=camera,
        recorder_stats=rstats,
        topics=topics,
        metadata=dict(meta),
        truncated=st.truncated,
        truncation=st.truncation,
        start_t=start_t,
        end_t=end_t,
        damaged=list(st.damaged),
        status=st.status,
        recovery=st.describe(),
        messages_recovered=st.messages,
        messages_expected=st.expected_messages,
    )
