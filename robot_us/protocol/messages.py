"""The typed bodies of every message (docs/protocol.md lists them with units and ranges).

Numbers are SI (m, s, N, N m, rad, m/s, rad/s) unless the field name says otherwise
(``_px`` pixels, ``_us`` microseconds, ``_hz``). Times are Unix seconds on the server's
clock. Poses are 4x4 homogeneous matrices flattened row-major (16 numbers).

Command bodies (client -> server) are strict: an unknown field, a wrong type, NaN or a value
outside the schema's range is a ``bad_body`` naming the field. Ranges the server configures
(force, speed, teleop limits) are checked by the server against its ``Limits`` and answered
with ``out_of_range``. Reply, stream and event bodies (server -> client) ignore unknown
fields, so the server may add fields without a new protocol version.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

#: Most points a stroke may have (the server may configure fewer: ``Limits``).
MAX_STROKE_POINTS = 2000
#: Longest name (client, key, reason token) and free text (messages, causes), characters.
MAX_NAME = 64
MAX_TEXT = 512

#: A finite number (NaN and infinities are rejected by the range).
Num = Annotated[float, Meta(ge=-1e9, le=1e9)]
#: A non-negative finite number.
NonNeg = Annotated[float, Meta(ge=0.0, le=1e9)]
#: An identifier (sequence numbers, snapshot/preview/plan ids).
Id = Annotated[int, Meta(ge=0, le=2**53)]
#: A pixel coordinate (u column, v row) on a snapshot image.
Px = Annotated[float, Meta(ge=0.0, le=1e5)]
#: A twist component: the server clamps to its configured limits; beyond 10 is malformed.
Rate = Annotated[float, Meta(ge=-10.0, le=10.0)]
Name = Annotated[str, Meta(max_length=MAX_NAME)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Vec3 = tuple[Num, Num, Num]
Pose16 = Annotated[list[Num], Meta(min_length=16, max_length=16)]


class CommandBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of the command bodies (client -> server): strict."""


class ServerBody(msgspec.Struct, frozen=True, kw_only=True):
    """Base of reply, stream and event bodies (server -> client): unknown fields ignored."""


# --- commands ------------------------------------------------------------------------


class Hello(CommandBody):
    """First message of a session: who the client is."""

    client_name: Name
    client_version: Name = ""


class MapStroke(CommandBody):
    """Map a stroke drawn on snapshot ``snapshot_id`` (pixels, u column / v row) onto the
    skin; ``plane`` overrides ``trajectory.plane`` for the preview."""

    snapshot_id: Id
    stroke_px: Annotated[list[tuple[Px, Px]], Meta(min_length=2, max_length=MAX_STROKE_POINTS)]
    plane: Name | None = None


class Plan(CommandBody):
    """Plan the scan of preview ``preview_id`` at ``speed`` (m/s; None: configured)."""

    preview_id: Id
    speed: Annotated[float, Meta(gt=0.0, le=1.0)] | None = None


class StartScan(CommandBody):
    """Start the planned scan ``plan_id``."""

    plan_id: Id


class PauseScan(CommandBody):
    """Pause the scan (holds in contact); ``reason`` goes to the events and the recording."""

    reason: Text = "operator"


class ResumeScan(CommandBody):
    """Resume a paused scan."""


class AbortScan(CommandBody):
    """Abort the scan: retract and stop."""

    reason: Text = "operator"


class SetForce(CommandBody):
    """Contact force set-point along the probe axis (N, pressing positive), within
    ``Limits.force_min..force_max``."""

    force: Annotated[float, Meta(ge=0.0, le=1000.0)]


class SetSpeed(CommandBody):
    """Sweep speed override, a fraction of the planned speed, within
    ``0..Limits.speed_override_max``."""

    override: Annotated[float, Meta(ge=0.0, le=1.0)]


class TeleopStart(CommandBody):
    """Enter teleoperation (needs control; no scan running)."""


class TeleopStop(CommandBody):
    """Leave teleoperation: the probe stops and holds."""


class TeleopTwist(CommandBody):
    """Rate command in the probe frame: slide along x/y (m/s), tilt about x/y and rotate
    about the probe axis z (rad/s). No z velocity: force control owns the probe axis.
    Clamped to ``Limits.teleop_linear_max`` / ``teleop_angular_max``; applied for ``hold``
    seconds (None: ``Limits.twist_hold_max``), then the probe stops unless a newer twist
    arrived."""

    vx: Rate = 0.0
    vy: Rate = 0.0
    wx: Rate = 0.0
    wy: Rate = 0.0
    wz: Rate = 0.0
    hold: Annotated[float, Meta(gt=0.0, le=1.0)] | None = None


class Heartbeat(CommandBody):
    """Keeps control alive (>= 20 Hz while in control); carries the client's own view of
    the link for the state stream: round trip and jitter (s), clock offset estimate
    (server minus client, s) and requests that got no reply."""

    rtt: NonNeg | None = None
    jitter: NonNeg | None = None
    offset: Num | None = None
    lost: Annotated[int, Meta(ge=0, le=2**53)] = 0


class EStop(CommandBody):
    """Emergency stop (accepted from any client, never stale)."""

    reason: Text = "operator"


class ResetFaults(CommandBody):
    """Clear the latched faults (refused while their cause persists)."""


class TakeControl(CommandBody):
    """Become the controlling client (``busy`` while another one holds control)."""


class ReleaseControl(CommandBody):
    """Give control back; the probe stops and holds."""


class Snapshot(CommandBody):
    """Capture an RGB-D frame; the reply carries the images as extra parts."""


# --- replies -------------------------------------------------------------------------


class Limits(ServerBody):
    """What the server accepts (its configuration): force set-point (N), planned speed
    (m/s), speed override, teleop twist limits (m/s, rad/s) and hold (s), longest validity
    horizon (s), most stroke points, deadman time (s) and what it does on expiry."""

    force_min: float
    force_max: float
    speed_min: float
    speed_max: float
    teleop_linear_max: float
    teleop_angular_max: float
    twist_hold_max: float
    ttl_max: float
    deadman: float
    deadman_action: str = "hold"  # "hold" (keep contact, stop) or "retract"
    speed_override_max: float = 1.0
    max_stroke_points: int = MAX_STROKE_POINTS
    heartbeat_min_hz: float = 20.0


class Ports(ServerBody):
    """The server's TCP ports (docs/protocol.md: command port + 0..3)."""

    commands: int
    state: int
    frames: int
    events: int


class Welcome(ServerBody):
    """Reply to ``hello``: the server, the session and its rules."""

    server_name: str
    server_version: str
    protocol_version: int
    client_id: str  # how the server names this client (state stream, events, recording)
    limits: Limits
    ports: Ports
    state_rate_hz: float
    frame_rate_hz: float
    controller: str | None = None
    curve: bool = False  # the endpoints use CurveZMQ


class Span(ServerBody):
    """A stretch of a path, arc length ``s0..s1`` (m from the start), and whether the arm
    can follow it: ``status`` "ok" or a planning failure (``SPAN_STATUSES``)."""

    s0: float
    s1: float
    status: str
    detail: str = ""


class PathPreview(ServerBody):
    """Reply to ``map_stroke``: the stroke on the skin in the base frame (points and
    outward normals, arc length of each point), per-span reachability, length (m) and the
    sweep's duration at the configured speed (s)."""

    preview_id: int
    snapshot_id: int
    points: list[tuple[float, float, float]]
    normals: list[tuple[float, float, float]]
    s: list[float]
    spans: list[Span]
    length: float
    duration: float
    feasible: bool
    reason: str = ""


class PlanResult(ServerBody):
    """Reply to ``plan``: the plan id to start, or why it is not feasible (``spans``)."""

    plan_id: int
    preview_id: int
    feasible: bool
    reason: str = ""
    spans: list[Span] = []
    length: float = 0.0
    duration: float = 0.0
    speed: float = 0.0


class Ack(ServerBody):
    """Reply to a command that returns nothing: it was accepted."""


class Control(ServerBody):
    """Reply to ``take_control`` / ``release_control``: who holds control now and whether
    that is the asking client."""

    controller: str | None
    you: bool


class SnapshotReply(ServerBody):
    """Reply to ``snapshot``: extra part 1 is RGB (uint8, height x width x 3, row-major),
    part 2 is depth (float32 little-endian, height x width, metres, 0 = no depth). ``K`` is
    the 3x3 intrinsic matrix row-major, ``dist`` the OpenCV distortion coefficients,
    ``T_base_camera`` the camera pose."""

    snapshot_id: int
    t: float
    width: int
    height: int
    K: list[float]
    dist: list[float]
    T_base_camera: list[float]
    rgb_format: str = "rgb8"
    depth_format: str = "float32_m"


class Error(ServerBody):
    """Reply to a message that was not executed (``ErrorCode`` values)."""

    code: str
    message: str
    field: str | None = None
    reason: str | None = None
    versions: list[int] = []


# --- streams -------------------------------------------------------------------------


class ScanStatus(ServerBody):
    """Scan state name (``SCAN_STATES``), progress 0..1, arc length and path length (m),
    the plan being run, the speed override."""

    state: str = "idle"
    progress: float = 0.0
    s: float = 0.0
    length: float = 0.0
    plan_id: int | None = None
    override: float = 1.0


class Fault(ServerBody):
    """A latched fault: numeric code, name and cause (one line), when it latched (s)."""

    code: int
    name: str
    cause: str
    t: float


class LoopTiming(ServerBody):
    """The control loop: rate, per-cycle compute and wake-up lateness p99 (us) over the
    last second, overruns and skipped cycles since start."""

    rate_hz: float
    compute_us_p99: float
    late_us_p99: float
    overruns: int
    skipped: int


class LinkStatus(ServerBody):
    """One connected client's link: round trip, jitter and clock offset as the client
    reports them (s), age of its last heartbeat (s), stale commands dropped, error replies
    sent, requests it reports lost."""

    client: str
    rtt: float | None = None
    jitter: float | None = None
    offset: float | None = None
    heartbeat_age: float | None = None
    stale: int = 0
    errors: int = 0
    lost: int = 0


class State(ServerBody):
    """The state stream (one message per published cycle): loop time ``t``, cycle number,
    joints (rad, rad/s), probe pose, contact wrench in the probe frame (N, N m), force along
    the probe axis and its set-point (N, pressing positive), controller mode
    (``CONTROLLER_MODES``), scan, latched faults, E-stop, teleoperation, who holds control,
    loop timing, per-client links and the server's error counters by code."""

    t: float
    cycle: int
    q: list[float]
    qd: list[float]
    T_base_probe: list[float]
    wrench: list[float]
    force: float
    force_setpoint: float
    mode: str
    scan: ScanStatus
    faults: list[Fault] = []
    estop: bool = False
    teleop: bool = False
    controller: str | None = None
    loop: LoopTiming | None = None
    links: list[LinkStatus] = []
    errors: dict[str, int] = {}
    stale_commands: int = 0


class Quality(ServerBody):
    """Image quality of frame ``frame_seq`` (the newest result when the frame was sent):
    class label, score 0..1, mean confidence 0..1 (NaN if not computed)."""

    frame_seq: int
    label: str
    score: float
    mean_confidence: float = float("nan")


class Frame(ServerBody):
    """An ultrasound frame: extra part 1 holds the pixels (``pixel_format`` gray8: uint8,
    height x width, row-major). Acquisition time (s), pixel spacing (m, lateral and axial),
    probe pose and force (N) at that time, and the newest quality result. When
    ``confidence_width`` and ``confidence_height`` are > 0, extra part 2 holds the
    confidence map of the assessed frame (uint8, 0..255 = confidence 0..1, row-major,
    covering the whole image at its own, usually coarser, resolution)."""

    frame_seq: int
    t: float
    width: int
    height: int
    spacing: tuple[float, float]
    T_base_probe: list[float]
    force: float
    quality: Quality | None = None
    pixel_format: str = "gray8"
    confidence_width: int = 0
    confidence_height: int = 0


class Event(ServerBody):
    """A rare event (``EVENT_KINDS``): time (s), kind, one-line cause, arc length (m) where
    it applies, the client it concerns."""

    t: float
    kind: str
    cause: str = ""
    s: float | None = None
    client: str | None = None


#: Span statuses: "ok" or a planning failure (trajectory.errors.FailureReason, lower case).
SPAN_STATUSES = (
    "ok",
    "too_short",
    "too_long",
    "workspace",
    "fold_back",
    "curvature",
    "smoothing",
    "orientation_rate",
    "normal",
    "out_of_reach",
    "joint_limit",
    "near_singular",
    "discontinuity",
    "joint_speed",
    "start_state",
)
#: Scan states in the state stream (robot_us.scan.states.ScanState, lower case).
SCAN_STATES = (
    "idle",
    "planning",
    "transfer",
    "approach",
    "settle",
    "sweep",
    "retract",
    "done",
    "paused",
    "aborting",
    "aborted",
    "safe_retract",
    "faulted",
)
#: Controller modes in the state stream (force_control.Mode, lower case), plus "teleop".
CONTROLLER_MODES = (
    "idle",
    "track",
    "approach",
    "contact",
    "reseek",
    "retract",
    "hold",
    "joint",
    "teleop",
)
#: Event kinds the server publishes.
EVENT_KINDS = (
    "transition",  # scan state change: cause "from -> to (trigger)"
    "fault",  # a fault latched: cause names it
    "faults_reset",
    "estop",
    "control",  # control taken, released or lost (deadman): client names who
    "teleop",  # teleoperation started / stopped
    "deadman",  # the controller's heartbeat stopped: the probe stopped (and retracted)
    "stale",  # a command arrived older than its validity horizon and was dropped
    "client",  # a client connected (hello) or timed out
)
