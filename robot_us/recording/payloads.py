"""Typed schemas of the recorded JSON messages, per channel, checked when a recording is
read (``messages.loads``): a message of the wrong shape is one ``MessageError`` naming the
topic and the field (``/us/frame_info: meta: expected object, got int``), never a
``TypeError`` deep in the reader. TypedDicts, so decoded messages stay plain dicts; the
JSON schemas the files carry for Foxglove are ``schemas/*.json``. Non-finite numbers are
written as ``null`` (``float | None`` where the writer may produce one)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from robot_us.recording import channels as ch

Num = float | None  # a number, null where it was not finite


class Vec3(TypedDict):
    x: float
    y: float
    z: float


class Vec3N(TypedDict):
    x: Num
    y: Num
    z: Num


class Quat(TypedDict):
    x: float
    y: float
    z: float
    w: float


class Pose(TypedDict):
    position: Vec3
    orientation: Quat


class RawImage(TypedDict):
    encoding: str
    width: int
    height: int
    step: int
    data: str
    frame_id: NotRequired[str]
    timestamp: NotRequired[dict[str, int]]


class PoseInFrame(TypedDict):
    pose: Pose
    frame_id: NotRequired[str]
    timestamp: NotRequired[dict[str, int]]


class Wrench(TypedDict):
    force: Vec3N
    torque: Vec3N
    frame_id: NotRequired[str]
    seq: NotRequired[int]
    timestamp: NotRequired[dict[str, int]]


class FrameInfo(TypedDict):
    t: float
    seq: int
    spacing_m: NotRequired[list[Num] | None]
    pose_source: NotRequired[str]
    meta: NotRequired[dict[str, Any] | None]
    timestamp: NotRequired[dict[str, int]]


class Quality(TypedDict):
    t: float
    seq: int
    label: str
    score: Num
    mean_confidence: Num
    s: NotRequired[Num]
    scanline_confidence: NotRequired[list[Num] | None]
    ood: NotRequired[bool]
    ood_reason: NotRequired[str]
    timestamp: NotRequired[dict[str, int]]


class Event(TypedDict):
    t: float
    kind: str
    cause: str
    s: NotRequired[Num]
    state: NotRequired[int | None]
    detail: NotRequired[dict[str, Any] | None]
    timestamp: NotRequired[dict[str, int]]


class StateBlock(TypedDict):
    first_index: int
    count: int
    lost: int
    dtype: list[list[Any]]
    data: str
    timestamp: NotRequired[dict[str, int]]


class CameraCalibration(TypedDict):
    K: list[float]
    D: list[float]
    width: NotRequired[int]
    height: NotRequired[int]


class Plan(TypedDict):
    poses: list[list[float]]
    arc_length: list[float]
    joints: list[list[Num]]
    kinds: list[str]
    speed_m_s: float
    duration_s: float
    robot: str
    plane: str
    timestamp: NotRequired[dict[str, int]]


class ConfigMsg(TypedDict):
    config: dict[str, Any]


class SummaryMsg(TypedDict):
    summary: dict[str, Any]


class OperatorCommand(TypedDict):
    t: float
    client: str | None
    type: str
    seq: int
    t_sent: float
    t_recv: float
    age: float
    ttl: float | None
    result: str
    reason: str
    body: dict[str, Any]
    timestamp: NotRequired[dict[str, int]]


class LinkStats(TypedDict):
    t: float
    client: str
    controller: bool
    rtt: Num
    jitter: Num
    offset: Num
    heartbeat_age: Num
    stale: int
    errors: int
    lost: int
    timestamp: NotRequired[dict[str, int]]


#: Channel topic -> the schema its messages are decoded into (others: any JSON object).
PAYLOADS: dict[str, Any] = {
    ch.US_IMAGE.topic: RawImage,
    ch.CAMERA_RGB.topic: RawImage,
    ch.CAMERA_DEPTH.topic: RawImage,
    ch.US_POSE.topic: PoseInFrame,
    ch.CAMERA_POSE.topic: PoseInFrame,
    ch.US_WRENCH.topic: Wrench,
    ch.US_INFO.topic: FrameInfo,
    ch.US_QUALITY.topic: Quality,
    ch.EVENTS.topic: Event,
    ch.STATE_RAW.topic: StateBlock,
    ch.CAMERA_CALIBRATION.topic: CameraCalibration,
    ch.PLAN.topic: Plan,
    ch.CONFIG.topic: ConfigMsg,
    ch.SUMMARY.topic: SummaryMsg,
    ch.OPERATOR_COMMANDS.topic: OperatorCommand,
    ch.LINK.topic: LinkStats,
}
#: Schema of a message on any other topic.
ANY_OBJECT = dict[str, Any]
