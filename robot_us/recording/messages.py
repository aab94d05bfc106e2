"""Encoding and decoding of every channel's JSON message (see ``channels.py``).

Times: MCAP log times and the ``timestamp`` fields are absolute nanoseconds
(``origin_ns`` + loop time); the ``t`` fields are loop time (s). Images travel as base64
in JSON (Foxglove's JSON convention for ``bytes`` fields). Non-finite floats become
``null`` (JSON has no NaN)."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from robot_us.core.typed_json import SchemaError, decode_json
from robot_us.recording.contents import QualitySample, ScanEvent
from robot_us.recording.payloads import ANY_OBJECT, PAYLOADS

#: numpy dtype kind/channels -> Foxglove RawImage encoding
_ENCODINGS: dict[tuple[str, int], str] = {
    ("|u1", 1): "mono8",
    ("|u1", 3): "rgb8",
    ("|u1", 4): "rgba8",
    ("<u2", 1): "mono16",
    ("<f4", 1): "32FC1",
}
#: Foxglove RawImage encoding -> (numpy dtype, channels)
_DECODINGS: dict[str, tuple[str, int]] = {
    "mono8": ("|u1", 1),
    "8UC1": ("|u1", 1),
    "rgb8": ("|u1", 3),
    "bgr8": ("|u1", 3),
    "8UC3": ("|u1", 3),
    "rgba8": ("|u1", 4),
    "mono16": ("<u2", 1),
    "16UC1": ("<u2", 1),
    "32FC1": ("<f4", 1),
}
#: Foxglove log levels
LOG_INFO = 2
LOG_WARNING = 3
LOG_ERROR = 4


class MessageError(ValueError):
    """A recorded message does not match its channel's schema."""


def to_ns(t: float, origin_ns: int) -> int:
    """Absolute log time (ns) of loop time ``t`` (s)."""
    return origin_ns + round(t * 1e9)


def stamp(t_ns: int) -> dict[str, int]:
    """Foxglove ``time`` {sec, nsec} of an absolute time in ns."""
    sec, nsec = divmod(int(t_ns), 1_000_000_000)
    return {"sec": sec, "nsec": nsec}


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy values converted to Python and non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(msg: dict[str, Any]) -> bytes:
    """Compact JSON bytes of a message. Fast path for plain Python values; messages with
    numpy values or non-finite floats go through ``jsonable`` first."""
    try:
        return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError):
        return json.dumps(jsonable(msg), separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes, topic: str) -> dict[str, Any]:
    """Parse one JSON message into its channel's typed schema (``payloads.PAYLOADS``); a
    malformed message raises ``MessageError`` naming the topic and the field."""
    try:
        return decode_json(data, PAYLOADS.get(topic, ANY_OBJECT), topic)
    except SchemaError as exc:
        raise MessageError(str(exc)) from exc


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


# -- images -----------------------------------------------------------------------------
def raw_image(t_ns: int, frame_id: str, image: np.ndarray) -> dict[str, Any]:
    """foxglove.RawImage of ``image`` (HxW uint8/uint16/float32 or HxWx3/4 uint8)."""
    img = np.ascontiguousarray(image)
    channels = 1 if img.ndim == 2 else img.shape[2]
    dt = img.dtype.newbyteorder("<") if img.dtype.byteorder == ">" else img.dtype
    key = (dt.str, channels)
    if img.ndim not in (2, 3) or key not in _ENCODINGS:
        raise ValueError(
            f"cannot record image of dtype {img.dtype} and shape {img.shape}; "
            "supported: HxW uint8/uint16/float32, HxWx3 or HxWx4 uint8"
        )
    img = img.astype(dt, copy=False)
    h, w = img.shape[:2]
    return {
        "timestamp": stamp(t_ns),
        "frame_id": frame_id,
        "width": w,
        "height": h,
        "encoding": _ENCODINGS[key],
        "step": w * channels * img.dtype.itemsize,
        "data": base64.b64encode(img.tobytes()).decode("ascii"),
    }


def decode_raw_image(msg: dict[str, Any], topic: str) -> np.ndarray:
    """The image array of a foxglove.RawImage message."""
    try:
        enc = msg["encoding"]
        w, h, step = int(msg["width"]), int(msg["height"]), int(msg["step"])
        data = base64.b64decode(msg["data"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed foxglove.RawImage: {exc}") from exc
    if enc not in _DECODINGS:
        raise MessageError(f"{topic}: unsupported image encoding {enc!r}")
    dtype, channels = _DECODINGS[enc]
    item = np.dtype(dtype).itemsize
    if step < w * channels * item or len(data) != step * h:
        raise MessageError(
            f"{topic}: image data is {len(data)} bytes, expected {step * h} ({h} rows x {step})"
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(h, step)[:, : w * channels * item]
    img = np.ascontiguousarray(rows).view(dtype)
    return img.reshape(h, w) if channels == 1 else img.reshape(h, w, channels)


# -- poses ------------------------------------------------------------------------------
def quaternion_xyzw(R: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w), w >= 0, of a rotation matrix (3x3) or a stack (Nx3x3)."""
    return Rotation.from_matrix(np.asarray(R, dtype=np.float64)).as_quat(canonical=True)


def pose_dict(T: np.ndarray) -> dict[str, Any]:
    """foxglove.Pose of a 4x4 (or 3x4) transform."""
    T = np.asarray(T, dtype=np.float64)
    x, y, z, w = quaternion_xyzw(T[:3, :3])
    p = T[:3, 3]
    return {
        "position": {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])},
        "orientation": {"x": float(x), "y": float(y), "z": float(z), "w": float(w)},
    }


def _pose_parts(pose: dict[str, Any], topic: str) -> tuple[list[float], list[float]]:
    """(position, quaternion xyzw) of a foxglove.Pose, validated."""
    try:
        p, o = pose["position"], pose["orientation"]
        pos = [float(p["x"]), float(p["y"]), float(p["z"])]
        quat = [float(o["x"]), float(o["y"]), float(o["z"]), float(o["w"])]
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed foxglove.Pose: {exc}") from exc
    if np.linalg.norm(quat) < 1e-9:
        raise MessageError(f"{topic}: zero-norm orientation quaternion")
    return pos, quat


def _pose_matrices(positions: list[list[float]], quats: list[list[float]]) -> np.ndarray:
    """Nx4x4 transforms of N positions and N quaternions (x, y, z, w; normalised first)."""
    T = np.zeros((len(positions), 4, 4))
    T[:, 3, 3] = 1.0
    if len(positions):
        T[:, :3, :3] = Rotation.from_quat(quats).as_matrix()
        T[:, :3, 3] = positions
    return T


def pose_matrix(pose: dict[str, Any], topic: str) -> np.ndarray:
    """4x4 transform of a foxglove.Pose."""
    pos, quat = _pose_parts(pose, topic)
    return _pose_matrices([pos], [quat])[0]


def pose_in_frame(t_ns: int, frame_id: str, T: np.ndarray) -> dict[str, Any]:
    """foxglove.PoseInFrame of a 4x4 transform."""
    return {"timestamp": stamp(t_ns), "frame_id": frame_id, "pose": pose_dict(T)}


def poses_in_frame(t_ns: int, frame_id: str, poses: np.ndarray) -> dict[str, Any]:
    """foxglove.PosesInFrame of an Nx4x4 stack."""
    return {
        "timestamp": stamp(t_ns),
        "frame_id": frame_id,
        "poses": [pose_dict(T) for T in poses],
    }


# -- wrench, frame info, quality --------------------------------------------------------
def _vec3(v: np.ndarray) -> dict[str, float]:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def wrench_msg(t_ns: int, frame_id: str, seq: int, wrench: np.ndarray) -> dict[str, Any]:
    """robot_us.Wrench of [fx fy fz tx ty tz] (N, N·m)."""
    w = np.asarray(wrench, dtype=np.float64)
    return {
        "timestamp": stamp(t_ns),
        "frame_id": frame_id,
        "seq": int(seq),
        "force": _vec3(w[:3]),
        "torque": _vec3(w[3:6]),
    }


def decode_wrench(msg: dict[str, Any], topic: str) -> np.ndarray:
    """[fx fy fz tx ty tz] of a robot_us.Wrench message."""
    try:
        f, m = msg["force"], msg["torque"]
        return np.array([_num(f[k]) for k in "xyz"] + [_num(m[k]) for k in "xyz"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed robot_us.Wrench: {exc}") from exc


def quality_msg(t_ns: int, q: QualitySample) -> dict[str, Any]:
    """robot_us.Quality of a ``QualitySample``."""
    msg: dict[str, Any] = {
        "timestamp": stamp(t_ns),
        "t": q.t,
        "seq": int(q.seq),
        "label": str(q.label),
        "score": float(q.score),
        "mean_confidence": float(q.mean_confidence),
        "s": q.s,
        "ood": bool(q.ood),
        "ood_reason": str(q.ood_reason),
    }
    if q.scanline_confidence is not None:
        msg["scanline_confidence"] = np.asarray(q.scanline_confidence, dtype=np.float64)
    return msg


def decode_quality(msg: dict[str, Any], topic: str) -> QualitySample:
    """``QualitySample`` of a robot_us.Quality message."""
    try:
        lines = msg.get("scanline_confidence")
        s = msg.get("s")
        return QualitySample(
            t=float(msg["t"]),
            seq=int(msg["seq"]),
            label=str(msg["label"]),
            score=_num(msg["score"]),
            mean_confidence=_num(msg["mean_confidence"]),
            scanline_confidence=None if lines is None else np.array(lines, dtype=np.float64),
            s=None if s is None else float(s),
            ood=bool(msg.get("ood", False)),
            ood_reason=str(msg.get("ood_reason", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed robot_us.Quality: {exc}") from exc


# -- events -----------------------------------------------------------------------------
def event_msg(t_ns: int, e: ScanEvent) -> dict[str, Any]:
    """robot_us.Event of a ``ScanEvent``."""
    return {
        "timestamp": stamp(t_ns),
        "t": e.t,
        "kind": e.kind,
        "cause": e.cause,
        "s": e.s,
        "state": e.state,
        "detail": e.detail,
    }


def decode_event(msg: dict[str, Any], topic: str) -> ScanEvent:
    """``ScanEvent`` of a robot_us.Event message."""
    try:
        s, state = msg.get("s"), msg.get("state")
        return ScanEvent(
            t=float(msg["t"]),
            kind=str(msg["kind"]),
            cause=str(msg["cause"]),
            s=None if s is None else float(s),
            state=None if state is None else int(state),
            detail=dict(msg.get("detail") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed robot_us.Event: {exc}") from exc


def log_msg(t_ns: int, e: ScanEvent, level: int) -> dict[str, Any]:
    """foxglove.Log line of a ``ScanEvent`` (for Foxglove's Log panel)."""
    where = "" if e.s is None else f" at s={e.s:.4f} m"
    return {
        "timestamp": stamp(t_ns),
        "level": level,
        "message": f"{e.kind}: {e.cause}{where}",
        "name": "robot_us.scan",
        "file": "",
        "line": 0,
    }


# -- state ------------------------------------------------------------------------------
def state_block(t_ns: int, rows: np.ndarray, first_index: int, lost: int) -> dict[str, Any]:
    """robot_us.StateBlock: rows packed as little-endian numpy records, base64."""
    return {
        "timestamp": stamp(t_ns),
        "first_index": int(first_index),
        "count": len(rows),
        "lost": int(lost),
        "dtype": rows.dtype.descr,
        "data": base64.b64encode(rows.tobytes()).decode("ascii"),
    }


def dtype_from_descr(descr: Any) -> np.dtype:
    """numpy dtype of a JSON-decoded ``dtype.descr`` list."""
    fields = []
    for entry in descr:
        name, typ = str(entry[0]), str(entry[1])
        if len(entry) > 2:
            fields.append((name, typ, tuple(int(n) for n in entry[2])))
        else:
            fields.append((name, typ))
    return np.dtype(fields)


def decode_state_block(msg: dict[str, Any], topic: str) -> tuple[np.ndarray, int, int]:
    """(rows, first_index, lost) of a robot_us.StateBlock message."""
    try:
        dtype = dtype_from_descr(msg["dtype"])
        data = base64.b64decode(msg["data"], validate=True)
        count, first, lost = int(msg["count"]), int(msg["first_index"]), int(msg["lost"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed robot_us.StateBlock: {exc}") from exc
    if len(data) != count * dtype.itemsize:
        raise MessageError(
            f"{topic}: state block holds {len(data)} bytes, expected {count} rows x "
            f"{dtype.itemsize} bytes"
        )
    return np.frombuffer(data, dtype=dtype).copy(), first, lost


def state_msgs(
    rows: np.ndarray, origin_ns: int, state_names: dict[int, str]
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(log time ns, robot_us.State, foxglove.PoseInFrame) for each row. The State
    message holds every row field, with ``T_base_probe`` as position and orientation."""
    T = rows["T_base_probe"]
    quats = quaternion_xyzw(T[:, :, :3]).tolist() if len(rows) else []
    positions = T[:, :, 3].tolist()
    names = [n for n in rows.dtype.names if n != "T_base_probe"]
    cols = [rows[n].tolist() for n in names]  # plain Python values
    out = []
    for i in range(len(rows)):
        fields = {n: col[i] for n, col in zip(names, cols, strict=True)}
        t_ns = to_ns(fields["t"], origin_ns)
        ts = stamp(t_ns)
        x, y, z = positions[i]
        qx, qy, qz, qw = quats[i]
        pose = {
            "position": {"x": x, "y": y, "z": z},
            "orientation": {"x": qx, "y": qy, "z": qz, "w": qw},
        }
        sid = fields["state"]
        state = {"timestamp": ts, **fields, **pose, "state_name": state_names.get(sid, str(sid))}
        out.append((t_ns, state, {"timestamp": ts, "frame_id": "base", "pose": pose}))
    return out


def decode_state_rows(msgs: list[dict[str, Any]], dtype: np.dtype, topic: str) -> np.ndarray:
    """A structured array (``dtype``) from decimated robot_us.State messages."""
    rows = np.zeros(len(msgs), dtype=dtype)
    names = [n for n in dtype.names if n != "T_base_probe"]
    positions, quats = [], []
    for i, m in enumerate(msgs):
        try:
            for name in names:
                value, field_dtype = m[name], dtype[name]
                if field_dtype.shape:
                    rows[name][i] = [_num(v) for v in value]
                elif field_dtype.kind == "i":
                    rows[name][i] = int(value)
                else:
                    rows[name][i] = _num(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"{topic}: malformed robot_us.State: {exc}") from exc
        pos, quat = _pose_parts(m, topic)
        positions.append(pos)
        quats.append(quat)
    rows["T_base_probe"] = _pose_matrices(positions, quats)[:, :3]
    return rows
