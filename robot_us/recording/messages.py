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

from robot_us.recording.contents import QualitySample, ScanEvent

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
    """Parse one JSON message; a malformed message raises ``MessageError`` naming the topic."""
    try:
        msg = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"{topic}: message is not valid JSON: {exc}") from exc
    if not isinstance(msg, dict):
        raise MessageError(f"{topic}: message is not a JSON object")
    return msg


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
    """Unit quaternion (x, y, z, w), w >= 0, of a rotation matrix (3x3) or a stack (Nx3x3)
    (Shepperd's method: the largest of w, x, y, z is computed first, so it is stable)."""
    R = np.asarray(R, dtype=np.float64)
    single = R.ndim == 2
    R = R.reshape(-1, 3, 3)
    m00, m11, m22 = R[:, 0, 0], R[:, 1, 1], R[:, 2, 2]
    trace = m00 + m11 + m22
    cand = np.stack([trace, m00, m11, m22], axis=1)
    k = np.argmax(cand, axis=1)
    q = np.empty((len(R), 4))  # x y z w
    for case in range(4):
        sel = k == case
        if not np.any(sel):
            continue
        r = R[sel]
        if case == 0:
            s = np.sqrt(1.0 + trace[sel]) * 2.0
            q[sel] = np.stack(
                [(r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s,
                 (r[:, 1, 0] - r[:, 0, 1]) / s, 0.25 * s], axis=1)  # fmt: skip
        else:
            i = case - 1
            j, n = (i + 1) % 3, (i + 2) % 3
            s = np.sqrt(1.0 + r[:, i, i] - r[:, j, j] - r[:, n, n]) * 2.0
            qi = np.empty((int(sel.sum()), 4))
            qi[:, i] = 0.25 * s
            qi[:, j] = (r[:, j, i] + r[:, i, j]) / s
            qi[:, n] = (r[:, n, i] + r[:, i, n]) / s
            qi[:, 3] = (r[:, n, j] - r[:, j, n]) / s
            q[sel] = qi
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 3] < 0] *= -1.0
    return q[0] if single else q


def rotation_matrix(quat_xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrix (3x3) of a quaternion (x, y, z, w); normalised first."""
    x, y, z, w = np.asarray(quat_xyzw, dtype=np.float64) / np.linalg.norm(quat_xyzw)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def pose_dict(T: np.ndarray) -> dict[str, Any]:
    """foxglove.Pose of a 4x4 (or 3x4) transform."""
    T = np.asarray(T, dtype=np.float64)
    x, y, z, w = quaternion_xyzw(T[:3, :3])
    p = T[:3, 3]
    return {
        "position": {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])},
        "orientation": {"x": float(x), "y": float(y), "z": float(z), "w": float(w)},
    }


def pose_matrix(pose: dict[str, Any], topic: str) -> np.ndarray:
    """4x4 transform of a foxglove.Pose."""
    try:
        p, o = pose["position"], pose["orientation"]
        pos = [float(p["x"]), float(p["y"]), float(p["z"])]
        quat = [float(o["x"]), float(o["y"]), float(o["z"]), float(o["w"])]
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"{topic}: malformed foxglove.Pose: {exc}") from exc
    if np.linalg.norm(quat) < 1e-9:
        raise MessageError(f"{topic}: zero-norm orientation quaternion")
    T = np.eye(4)
    T[:3, :3] = rotation_matrix(np.array(quat))
    T[:3, 3] = pos
    return T


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
    """(log time ns, robot_us.State, foxglove.PoseInFrame) for each row."""
    out = []
    T = rows["T_base_probe"]
    quats = quaternion_xyzw(T[:, :, :3]) if len(rows) else np.zeros((0, 4))
    cols = {name: rows[name].tolist() for name in rows.dtype.names}  # plain Python values
    for i in range(len(rows)):
        row = {name: col[i] for name, col in cols.items()}
        t_ns = to_ns(row["t"], origin_ns)
        ts = stamp(t_ns)
        p = T[i, :, 3].tolist()
        qx, qy, qz, qw = quats[i].tolist()
        position = {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])}
        orientation = {"x": float(qx), "y": float(qy), "z": float(qz), "w": float(qw)}
        state = {
            "timestamp": ts,
            "t": row["t"],
            "cycle": row["cycle"],
            "q": row["q"],
            "qd": row["qd"],
            "qd_cmd": row["qd_cmd"],
            "wrench_raw": row["wrench_raw"],
            "wrench": row["wrench"],
            "position": position,
            "orientation": orientation,
            "f_set": row["f_set"],
            "f_n": row["f_n"],
            "s": row["s"],
            "s_dot": row["s_dot"],
            "speed_override": row["speed_override"],
            "state": row["state"],
            "state_name": state_names.get(row["state"], str(row["state"])),
            "fault": row["fault"],
            "compute_us": row["compute_us"],
            "lateness_us": row["lateness_us"],
        }
        pose = {
            "timestamp": ts,
            "frame_id": "base",
            "pose": {"position": position, "orientation": orientation},
        }
        out.append((t_ns, state, pose))
    return out


def decode_state_rows(msgs: list[dict[str, Any]], dtype: np.dtype, topic: str) -> np.ndarray:
    """A structured array (``dtype``) from decimated robot_us.State messages."""
    rows = np.zeros(len(msgs), dtype=dtype)
    for i, m in enumerate(msgs):
        try:
            for name in ("t", "cycle", "f_set", "f_n", "s", "s_dot", "speed_override"):
                rows[name][i] = _num(m[name])
            for name in ("state", "fault"):
                rows[name][i] = int(m[name])
            for name in ("compute_us", "lateness_us"):
                rows[name][i] = _num(m[name])
            for name in ("q", "qd", "qd_cmd", "wrench_raw", "wrench"):
                rows[name][i] = [_num(v) for v in m[name]]
            T = pose_matrix({"position": m["position"], "orientation": m["orientation"]}, topic)
            rows["T_base_probe"][i] = T[:3]
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"{topic}: malformed robot_us.State: {exc}") from exc
    return rows
