"""The channel table of a robot-us recording: topic -> schema, message encoding, rate.
The single source of truth for the writer, the reader and ``docs/recording.md``.

Every schema is a JSON schema (``schemas/<name>.json``, schema encoding ``jsonschema``);
every message is JSON (message encoding ``json``). Foxglove schemas keep their well-known
names and field names so Foxglove shows images, poses and plots without configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

#: MCAP schema encoding of every channel.
SCHEMA_ENCODING = "jsonschema"
#: MCAP message encoding of every channel.
MESSAGE_ENCODING = "json"
#: MCAP header profile (empty: no ROS profile).
PROFILE = ""
#: Name of the MCAP metadata record describing the recording (time origin, layout).
METADATA_NAME = "robot_us.recording"
#: Version of the channel layout; bump when a channel's meaning changes.
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Channel:
    """One recorded topic: its schema name, when it is written and what it holds."""

    topic: str
    schema: str
    rate: str
    doc: str


US_IMAGE = Channel("/us/image", "foxglove.RawImage", "per frame", "B-mode frame (mono8)")
US_POSE = Channel(
    "/us/pose", "foxglove.PoseInFrame", "per frame", "T_base_probe at the frame's time (base)"
)
US_WRENCH = Channel("/us/wrench", "robot_us.Wrench", "per frame", "wrench at the frame's time")
US_INFO = Channel(
    "/us/frame_info", "robot_us.UltrasoundFrameInfo", "per frame", "seq, pixel spacing, meta"
)
US_QUALITY = Channel(
    "/us/quality", "robot_us.Quality", "per assessed frame", "image-quality result"
)
CAMERA_RGB = Channel("/camera/rgb", "foxglove.RawImage", "once, at scan start", "RGB (rgb8)")
CAMERA_DEPTH = Channel(
    "/camera/depth", "foxglove.RawImage", "once, at scan start", "depth (32FC1, m)"
)
CAMERA_CALIBRATION = Channel(
    "/camera/calibration", "foxglove.CameraCalibration", "once, at scan start", "intrinsics"
)
CAMERA_POSE = Channel(
    "/camera/pose", "foxglove.PoseInFrame", "once, if known", "T_base_camera (base)"
)
STATE = Channel("/state", "robot_us.State", "decimated (100 Hz)", "one state row, for plots")
STATE_RAW = Channel(
    "/state/raw", "robot_us.StateBlock", "every drain (~50 Hz)", "every state row, packed"
)
PROBE_POSE = Channel(
    "/probe/pose", "foxglove.PoseInFrame", "decimated (100 Hz)", "T_base_probe from the state"
)
EVENTS = Channel("/events", "robot_us.Event", "on event", "transitions, faults, adjustments")
LOG = Channel("/log", "foxglove.Log", "on event", "events as log lines (Foxglove Log panel)")
PLAN = Channel("/plan", "robot_us.Plan", "once", "the planned scan")
PLAN_PATH = Channel("/plan/path", "foxglove.PosesInFrame", "once", "planned probe poses (base)")
CONFIG = Channel("/config", "robot_us.Config", "once", "the run configuration")
SUMMARY = Channel("/summary", "robot_us.Summary", "once, at the end", "scan summary / report")
RECORDER_STATS = Channel(
    "/recorder/stats", "robot_us.RecorderStats", "once, at close", "written and dropped counts"
)

#: Every channel, in the order they are registered.
CHANNELS: tuple[Channel, ...] = (
    US_IMAGE,
    US_POSE,
    US_WRENCH,
    US_INFO,
    US_QUALITY,
    CAMERA_RGB,
    CAMERA_DEPTH,
    CAMERA_CALIBRATION,
    CAMERA_POSE,
    STATE,
    STATE_RAW,
    PROBE_POSE,
    EVENTS,
    LOG,
    PLAN,
    PLAN_PATH,
    CONFIG,
    SUMMARY,
    RECORDER_STATS,
)

#: topic -> Channel
BY_TOPIC: dict[str, Channel] = {c.topic: c for c in CHANNELS}


@cache
def schema_bytes(name: str) -> bytes:
    """The JSON schema ``name`` (e.g. ``foxglove.RawImage``) as stored in the package."""
    path = resources.files("robot_us.recording").joinpath("schemas", f"{name}.json")
    if not path.is_file():
        raise LookupError(f"no JSON schema named {name!r} in robot_us/recording/schemas")
    return path.read_bytes()


#: Metadata key holding the CRC-32 of the other metadata entries (MCAP keeps no checksum
#: of records outside chunks, and the writer leaves the data-section CRC at 0).
METADATA_CRC_KEY = "crc32"


def metadata_crc(meta: dict[str, str]) -> str:
    """CRC-32 (8 hex digits) of the metadata entries except ``METADATA_CRC_KEY``, in key
    order: a flipped bit in the recording's metadata record is detected on reading."""
    import zlib

    text = "\n".join(f"{k}={v}" for k, v in sorted(meta.items()) if k != METADATA_CRC_KEY)
    return f"{zlib.crc32(text.encode('utf-8')):08x}"
