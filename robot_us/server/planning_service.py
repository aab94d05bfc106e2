"""Snapshots, stroke mapping and planning for the server (``snapshot``, ``map_stroke``,
``plan``, and packing a plan for ``start_scan``): tens to hundreds of milliseconds each,
and pybullet's renderer and parts of the planner hold the interpreter lock for up to
~100 ms at a time. So they run in a worker process of the server (``run_planning``),
never on the server's event loop (a stalled loop would miss heartbeats and trip the
deadman) and never in the control process. ``PlanningClient`` is the server's end: jobs
out, results back over a private ipc link (pickled: both ends are this program). The
results are protocol bodies; the service keeps snapshots, previews and plans by id in
bounded tables (the newest ``MAX_KEPT`` of each).

A preview plans its path once from the arm's current joints to report reachability per
span (the planner stops at the first failing span: the spans after it are "unchecked");
``plan`` reuses that plan when the speed and the joints are unchanged. ``start_scan``
plans again if the arm moved since.
"""

from __future__ import annotations

import itertools
import os
import pickle
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from perception.stroke_mapping import StrokeMapper
from robot_us.config import Config
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.core.types import RgbdFrame, SurfacePath
from robot_us.protocol import messages as m
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.scan.messages import ScanRequest
from robot_us.scan.planning import PlannedScan, ScanPlanningError, plan_scan
from robot_us.server import links
from robot_us.server.plan_transport import pack_plan
from robot_us.server.snapshot_camera import SNAPSHOT_CAMERAS, SnapshotCamera
from trajectory.errors import PlanningError

#: Snapshots, previews and plans kept (the oldest is forgotten first).
MAX_KEPT = 16
#: A plan is reused (not planned again) when the arm is this close to its start (rad).
REPLAN_TOLERANCE = 1e-3
#: Jobs waiting for the planning process at most.
MAX_JOBS = 8


@dataclass
class Preview:
    """A mapped stroke: its path on the skin, plane, snapshot and the reply sent; the trial
    plan (at the configured speed) and the joints it started from, if feasible."""

    path: SurfacePath
    plane: str | None
    body: m.PathPreview
    trial: PlannedScan | None
    q_trial: np.ndarray


@dataclass
class PlanEntry:
    """A feasible plan (kept in the planning process): the scan, the joints it starts from,
    its preview and speed."""

    planned: PlannedScan
    q_start: np.ndarray
    preview_id: int
    speed: float | None
    body: m.PlanResult


@dataclass
class SnapshotResult:
    """A snapshot reply and its two extra parts (RGB, depth)."""

    body: m.SnapshotReply
    parts: list[bytes]


@dataclass
class PackedPlan:
    """A plan ready for the control process: its bytes (``plan_transport``), the sweep
    length (m) and the ``ScanPlan`` (for the recording)."""

    data: bytes
    length: float
    plan: Any


@dataclass
class JobError:
    """A job's ``ProtocolError``, as it crosses the process boundary."""

    code: str
    message: str
    field: str | None
    reason: str | None

    def error(self) -> ProtocolError:
        """The error again."""
        return ProtocolError(
            ErrorCode(self.code), self.message, field=self.field, reason=self.reason
        )


def _token(reason: Any) -> str:
    """A planning failure reason as a protocol span status (``out_of_reach``)."""
    return getattr(reason, "name", str(reason)).lower()


def _spans(length: float, exc: BaseException | None) -> tuple[list[m.Span], str]:
    """Spans of a path of ``length`` (m) from a planning outcome (None: feasible)."""
    if exc is None:
        return [m.Span(s0=0.0, s1=length, status="ok")], ""
    err = exc.__cause__ if isinstance(exc.__cause__, PlanningError) else exc
    message = str(exc)
    if not isinstance(err, PlanningError):
        return [m.Span(s0=0.0, s1=length, status="unchecked", detail=message)], message
    status = _token(err.reason)
    if err.span_m is None:
        return [m.Span(s0=0.0, s1=length, status=status, detail=message)], message
    s0, s1 = (min(max(v, 0.0), length) for v in err.span_m)
    spans = []
    if s0 > 0.0:
        spans.append(m.Span(s0=0.0, s1=s0, status="ok"))
    spans.append(m.Span(s0=s0, s1=s1, status=status, detail=message))
    if s1 < length:
        spans.append(m.Span(s0=s1, s1=length, status="unchecked"))
    return spans, message


def _remember(table: OrderedDict, key: int, value: Any) -> None:
    table[key] = value
    while len(table) > MAX_KEPT:
        table.popitem(last=False)


class PlanningService:
    """Snapshots, previews and plans (see the module doc); runs in the planning process,
    one job at a time (``run``)."""

    def __init__(self, cfg: Config, kin: ArmKinematics, camera: SnapshotCamera | None) -> None:
        self.cfg = cfg
        self.kin = kin
        self.camera = camera
        self.snapshots: OrderedDict[int, RgbdFrame] = OrderedDict()
        self.previews: OrderedDict[int, Preview] = OrderedDict()
        self.plans: OrderedDict[int, PlanEntry] = OrderedDict()
        self._ids = itertools.count(1)
        self.jobs = {
            "snapshot": self.snapshot,
            "map_stroke": self.map_stroke,
            "plan": self.plan,
            "package": self.package,
        }

    def run(self, job: str, args: tuple[Any, ...]) -> Any:
        """One job's result, or a ``JobError``."""
        try:
            return self.jobs[job](*args)
        except ProtocolError as err:
            return JobError(err.code.value, err.message, err.field, err.reason)
        except Exception as exc:  # a bug in planning: the client gets `internal`
            return JobError(ErrorCode.INTERNAL.value, f"{type(exc).__name__}: {exc}", None, None)

    def snapshot(self, q: np.ndarray, t_unix: float) -> SnapshotResult:
        """Capture an RGB-D frame with the arm at ``q``; keep it for ``map_stroke``."""
        if self.camera is None:
            raise ProtocolError(
                ErrorCode.REFUSED, "this cell has no snapshot camera", reason="no_camera"
            )
        frame = self.camera.capture(q)
        sid = next(self._ids)
        _remember(self.snapshots, sid, frame)
        K = frame.intrinsics
        h, w = frame.depth.shape
        T = frame.T_base_camera if frame.T_base_camera is not None else np.eye(4)
        body = m.SnapshotReply(
            snapshot_id=sid,
            t=t_unix,
            width=w,
            height=h,
            K=np.asarray(K.K, dtype=float).ravel().tolist(),
            dist=np.asarray(K.dist, dtype=float).ravel().tolist(),
            T_base_camera=np.asarray(T, dtype=float).ravel().tolist(),
        )
        rgb = np.ascontiguousarray(frame.rgb, dtype=np.uint8).tobytes()
        depth = np.nan_to_num(np.asarray(frame.depth, dtype="<f4"), nan=0.0).tobytes()
        return SnapshotResult(body, [rgb, depth])

    def map_stroke(self, body: m.MapStroke, q: np.ndarray) -> m.PathPreview:
        """Map a stroke drawn on a snapshot; plan it once for reachability."""
        frame = self.snapshots.get(body.snapshot_id)
        if frame is None:
            raise ProtocolError(
                ErrorCode.REFUSED,
                f"snapshot {body.snapshot_id} is not (or no longer) held: take a snapshot",
                reason="unknown_snapshot",
            )
        stroke = np.array(body.stroke_px, dtype=float)
        request = ScanRequest(frame=frame, stroke=stroke, plane=body.plane)
        trial: PlannedScan | None = None
        failure: BaseException | None = None
        try:
            trial = plan_scan(self.cfg, self.kin, request, q)
            mapping = trial.mapping
        except ScanPlanningError as exc:
            if exc.stage != "planning":
                raise ProtocolError(
                    ErrorCode.REFUSED, str(exc), reason="unmappable", field="stroke_px"
                ) from None
            failure = exc
            mapping = None
        if mapping is None:  # planning failed: map again for the preview's points
            mapping = StrokeMapper(self.cfg.perception).map(frame, stroke)
        path = mapping.path
        pts = path.points
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        length = float(s[-1])
        spans, reason = _spans(length, failure)
        speed = self.cfg.trajectory.speed
        pid = next(self._ids)
        preview = m.PathPreview(
            preview_id=pid,
            snapshot_id=body.snapshot_id,
            points=[tuple(p) for p in pts.tolist()],
            normals=[tuple(n) for n in path.normals.tolist()],
            s=s.tolist(),
            spans=spans,
            length=length,
            duration=length / speed,
            feasible=failure is None,
            reason=reason,
        )
        _remember(self.previews, pid, Preview(path, body.plane, preview, trial, q.copy()))
        return preview

    def plan(self, body: m.Plan, q: np.ndarray) -> m.PlanResult:
        """Plan a preview's scan at ``body.speed`` from joints ``q``."""
        preview = self.previews.get(body.preview_id)
        if preview is None:
            raise ProtocolError(
                ErrorCode.REFUSED, f"no preview {body.preview_id}", reason="unknown_preview"
            )
        sc = self.cfg.server
        if body.speed is not None and not sc.speed_min <= body.speed <= sc.speed_max:
            raise ProtocolError(
                ErrorCode.OUT_OF_RANGE,
                f"speed {body.speed:g} m/s outside {sc.speed_min:g}..{sc.speed_max:g} m/s",
                field="speed",
            )
        planned, failure = self._plan_preview(preview, body.speed, q)
        pid = next(self._ids)
        length = preview.body.length
        spans, reason = _spans(length, failure)
        if planned is None:
            return m.PlanResult(
                plan_id=pid,
                preview_id=body.preview_id,
                feasible=False,
                reason=reason,
                spans=spans,
                length=length,
            )
        plan = planned.plan
        result = m.PlanResult(
            plan_id=pid,
            preview_id=body.preview_id,
            feasible=True,
            spans=spans,
            length=float(planned.length),
            duration=float(plan.duration_s),
            speed=float(plan.speed_m_s),
        )
        _remember(
            self.plans, pid, PlanEntry(planned, q.copy(), body.preview_id, body.speed, result)
        )
        return result

    def _plan_preview(
        self, preview: Preview, speed: float | None, q: np.ndarray
    ) -> tuple[PlannedScan | None, BaseException | None]:
        if (
            speed is None
            and preview.trial is not None
            and float(np.max(np.abs(q - preview.q_trial))) <= REPLAN_TOLERANCE
        ):
            return preview.trial, None
        request = ScanRequest(path=preview.path, speed=speed, plane=preview.plane)
        try:
            return plan_scan(self.cfg, self.kin, request, q), None
        except ScanPlanningError as exc:
            return None, exc

    def package(self, plan_id: int, q: np.ndarray) -> PackedPlan:
        """The packed plan ``plan_id`` for the control process, planned again from ``q``
        if the arm moved since it was planned."""
        entry = self.plans.get(plan_id)
        if entry is None:
            raise ProtocolError(
                ErrorCode.REFUSED, f"no feasible plan {plan_id}", reason="unknown_plan"
            )
        if float(np.max(np.abs(q - entry.q_start))) > REPLAN_TOLERANCE:
            preview = self.previews.get(entry.preview_id)
            if preview is None:
                raise ProtocolError(
                    ErrorCode.REFUSED,
                    f"plan {plan_id} is out of date and its preview is gone: plan again",
                    reason="unknown_plan",
                )
            request = ScanRequest(path=preview.path, speed=entry.speed, plane=preview.plane)
            try:
                entry.planned = plan_scan(self.cfg, self.kin, request, q)
            except ScanPlanningError as exc:
                raise ProtocolError(
                    ErrorCode.REFUSED,
                    f"plan {plan_id} is no longer feasible from where the arm is: {exc}",
                    reason="unknown_plan",
                ) from None
            entry.q_start = q.copy()
        data = pack_plan(entry.planned, entry.q_start)
        return PackedPlan(data, float(entry.planned.length), entry.planned.plan)


class PlanningClient:
    """The server's end of the planning process: ``submit`` a job, read ``(key, result)``
    pairs from ``sock`` when it is readable (``receive``); results that are errors come
    back as ``ProtocolError``."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = sock
        self.waiting = 0

    def submit(self, key: int, job: str, *args: Any) -> bool:
        """Send a job; False when ``MAX_JOBS`` wait already or the link is full."""
        if self.waiting >= MAX_JOBS:
            return False
        try:
            self.sock.send(pickle.dumps((key, job, args)), zmq.NOBLOCK)
        except zmq.Again:
            return False
        self.waiting += 1
        return True

    def receive(self) -> list[tuple[int, Any]]:
        """The results that arrived."""
        out = []
        while self.sock.poll(0):
            key, result = pickle.loads(self.sock.recv())  # our own child process
            self.waiting = max(0, self.waiting - 1)
            out.append((key, result.error() if isinstance(result, JobError) else result))
        return out


def run_planning(cfg: Config, endpoint: str, error_path: str) -> None:
    """The planning process's entry point (``multiprocessing`` spawn target): jobs in,
    results out, until the server closes the link."""
    links.ignore_stop_signals()
    ctx = zmq.Context()
    sock = links.pair(ctx, endpoint, bind=False)
    ppid = os.getppid()
    camera = None
    try:
        kin = ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))
        backend = cfg.cell.backend
        camera = SNAPSHOT_CAMERAS.create(backend, cfg) if backend in SNAPSHOT_CAMERAS else None
        service = PlanningService(cfg, kin, camera)
        sock.send(b"ready")
        while os.getppid() == ppid:
            if not sock.poll(200):
                continue
            data = sock.recv()
            if data == b"stop":
                break
            key, job, args = pickle.loads(data)  # from our own server process
            sock.send(pickle.dumps((key, service.run(job, args))))
    except Exception:
        with open(error_path, "w") as f:
            traceback.print_exc(file=f)
    finally:
        if camera is not None:
            camera.close()
        sock.close(linger=200)
        ctx.term()
        links.exit_child(0)
