"""A test-only robot-side server for the operator console: the protocol stub
(tests/protocol_stub.py) with a toy scan behind it, run as its own process
(``python -m tests.console_stub --port P``), so the console's tests kill and restart it like
the real server.

What it adds to the protocol stub, everything the console shows:
- ``snapshot``: the simulated cell's camera view of the phantom (the configured camera,
  phantom and bed), ray-cast analytically (``analytic``, fast) or rendered by pybullet
  (``pybullet``, the real simulated camera);
- ``map_stroke``: the real stroke mapping (``perception.stroke_mapping``) on that view, a
  span per stretch the toy arm can or cannot reach (``REACH``);
- a toy scan after ``start_scan``: transfer, approach, settle, sweep along the mapped path
  at the planned speed times the override, retract, done; pause, resume, abort, E-stop;
  probe pose on the path, force near the set-point in contact, transition and fault
  events;
- ultrasound frames with a quality result and a confidence map: ``toy`` (speckle, a rib
  shadow over part of the path; cheap) or ``bmode`` (the B-mode simulator at the probe
  pose, scored by the shipped quality model).

No control cycle, no arm dynamics: a stand-in until ``robot-us serve`` exists.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import msgspec
import numpy as np

from perception.quality.confidence import confidence_at_size
from perception.stroke import StrokeError
from perception.stroke_mapping import StrokeMapper
from robot_us.config import load_config
from robot_us.core.types import CameraIntrinsics, RgbdFrame
from robot_us.protocol import messages as m
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.server_sockets import Inbound
from sim.camera import look_at
from sim.phantom_geometry import PhantomGeometry
from tests.protocol_stub import STUB_LIMITS, StubServer, _WithParts

#: Deadman time (s): longer than the protocol stub's 0.1 s, because the console's tests and
#: screenshot run the GUI on a shared, loaded machine where a paint can hold the GIL (and
#: so the client's heartbeat thread) for longer than 0.1 s.
DEADMAN = 0.5
#: Horizontal distance from the robot base (m) beyond which the toy arm cannot reach.
REACH = 0.74
#: Durations (s) of the toy scan's steps around the sweep.
STEP_S = {"transfer": 0.6, "approach": 0.6, "settle": 0.4, "retract": 0.6, "aborting": 0.5}
#: Height (m) of the probe above the path's start before contact.
HOVER = 0.05
#: Toy frames: size (px), spacing (m/px) and confidence map size (px).
TOY_FRAME = (192, 192)
TOY_SPACING = 2.5e-4
CONFIDENCE_SIZE = 48
#: Toy rib shadow: the stretch of the path (fraction of its length) that images badly.
TOY_SHADOW = (0.45, 0.6)
#: States the toy scan moves through, in order.
SEQUENCE = ("transfer", "approach", "settle", "sweep", "retract", "done")
CONTACT_STATES = frozenset({"settle", "sweep", "paused"})
MODE_OF = {
    "transfer": "joint",
    "approach": "approach",
    "settle": "contact",
    "sweep": "contact",
    "paused": "contact",
    "retract": "retract",
    "aborting": "retract",
}
SKIN_RGB = np.array([228.0, 184.0, 156.0])
BED_RGB = np.array([82.0, 104.0, 132.0])
FLOOR_RGB = np.array([245.0, 245.0, 245.0])


# --- the camera view -------------------------------------------------------------------


def analytic_view(cfg) -> RgbdFrame:
    """The configured camera's view of the phantom and the bed, ray-cast exactly."""
    cam, g = cfg.sim.camera, PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    bed = cfg.sim.bed
    K = np.array([[cam.fx, 0, cam.width / 2], [0, cam.fy, cam.height / 2], [0, 0, 1.0]])
    T = look_at(np.asarray(cam.eye), np.asarray(cam.target))
    v, u = np.mgrid[0 : cam.height, 0 : cam.width].astype(float)
    rays_cam = np.stack([(u + 0.5 - K[0, 2]) / K[0, 0], (v + 0.5 - K[1, 2]) / K[1, 1]], -1)
    rays = np.concatenate([rays_cam, np.ones_like(u)[..., None]], -1) @ T[:3, :3].T
    eye = T[:3, 3]
    # cylinder (axis along y through (center_x, axis_z)): |(o + t d) - c|^2 = r^2 in x, z
    ox, oz = eye[0] - g.center_x, eye[2] - g.axis_z
    dx, dz = rays[..., 0], rays[..., 2]
    a = dx**2 + dz**2
    b = 2 * (ox * dx + oz * dz)
    c = ox**2 + oz**2 - g.radius**2
    disc = b**2 - 4 * a * c
    t_cyl = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
    hit = eye + t_cyl[..., None] * rays
    on_body = (
        np.isfinite(t_cyl)
        & (t_cyl > 0)
        & (hit[..., 2] >= g.bed_z)
        & (np.abs(hit[..., 1] - g.center_y) <= g.length / 2)
    )
    t_bed = np.where(dz < 0, (g.bed_z - eye[2]) / np.where(dz < 0, dz, -1), np.inf)
    bed_hit = eye + t_bed[..., None] * rays
    on_bed = (
        ~on_body
        & np.isfinite(t_bed)
        & (np.abs(bed_hit[..., 0] - bed.center_xy[0]) <= bed.size_xy[0] / 2)
        & (np.abs(bed_hit[..., 1] - bed.center_xy[1]) <= bed.size_xy[1] / 2)
    )
    t = np.where(on_body, t_cyl, np.where(on_bed, t_bed, 0.0))
    depth = t.astype(np.float32)  # rays have unit optical-axis component: t is the depth
    normal = np.stack([hit[..., 0] - g.center_x, np.zeros_like(u), hit[..., 2] - g.axis_z], -1)
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    light = np.array([-0.3, 0.2, 1.0]) / np.linalg.norm([-0.3, 0.2, 1.0])
    shade = 0.55 + 0.45 * np.clip(normal @ light, 0, 1)
    rgb = np.where(
        on_body[..., None],
        SKIN_RGB * shade[..., None],
        np.where(on_bed[..., None], BED_RGB, FLOOR_RGB),
    )
    return RgbdFrame(
        t=0.0,
        rgb=np.clip(rgb, 0, 255).astype(np.uint8),
        depth=depth,
        intrinsics=CameraIntrinsics(cam.width, cam.height, K, np.zeros(5)),
        T_base_camera=T,
        mask=on_body,
    )


def pybullet_view(cfg) -> RgbdFrame:
    """The simulated cell's camera (pybullet)."""
    from sim.cell import make_sim_cell

    cell = make_sim_cell(cfg)
    try:
        return cell.camera.capture()
    finally:
        cell.close()


VIEWS: dict[str, Callable] = {"analytic": analytic_view, "pybullet": pybullet_view}


# --- ultrasound frames -----------------------------------------------------------------


class ToyFrames:
    """Speckle frames, darker with depth; a rib shadow over ``TOY_SHADOW`` of the path;
    no echo without contact. Quality from the same rules, confidence map by depth."""

    def __init__(self, cfg) -> None:
        self.rng = np.random.default_rng(3)
        self.depth = np.linspace(0, 1, TOY_FRAME[0])[:, None]
        self.spacing = (TOY_SPACING, TOY_SPACING)

    def render(self, T: np.ndarray, force: float, contact: bool, where: float | None):
        """(image uint8, label, score, confidence map uint8)."""
        h, w = TOY_FRAME
        speckle = self.rng.rayleigh(0.35, (h, w))
        layers = 0.6 + 0.4 * np.sin(self.depth * 23.0) ** 8
        image = speckle * layers * np.exp(-1.6 * self.depth)
        conf = np.exp(-2.2 * np.linspace(0, 1, CONFIDENCE_SIZE))[:, None] * np.ones(
            (1, CONFIDENCE_SIZE)
        )
        label, score = "good", 0.88 + 0.06 * self.rng.random()
        if not contact:
            image *= 0.05
            conf *= 0.05
            label, score = "no_contact", 0.05
        elif where is not None and TOY_SHADOW[0] <= where <= TOY_SHADOW[1]:
            mid = 0.5 * (TOY_SHADOW[0] + TOY_SHADOW[1])
            centre = 0.5 + (where - mid) * 4.0
            cols = np.abs(np.linspace(0, 1, w) - centre) < 0.22
            rows = self.depth[:, 0] > 0.25
            image[np.ix_(rows, cols)] *= 0.08
            image[int(0.25 * h) : int(0.25 * h) + 3, cols] = 2.5  # the rib's bright edge
            ccols = np.abs(np.linspace(0, 1, CONFIDENCE_SIZE) - centre) < 0.22
            conf[np.ix_(np.linspace(0, 1, CONFIDENCE_SIZE) > 0.25, ccols)] *= 0.1
            label, score = "shadowed", 0.35 + 0.1 * self.rng.random()
        img = np.clip(image * 255, 0, 255).astype(np.uint8)
        return img, label, score, np.clip(conf * 255, 0, 255).astype(np.uint8)


class BModeFrames:
    """The B-mode simulator at the probe pose, scored by the shipped quality model."""

    def __init__(self, cfg) -> None:
        from perception.quality.assess import QualityAssessor
        from robot_us.imaging.models import load_quality_model
        from sim.ultrasound.source import make_simulator

        self.sim = make_simulator(cfg)
        self.qcfg = cfg.ultrasound.quality
        self.assessor = QualityAssessor(self.qcfg, load_quality_model(self.qcfg.model))
        self.spacing = (0.0, 0.0)

    def render(self, T: np.ndarray, force: float, contact: bool, where: float | None):
        """(image uint8, label, score, confidence map uint8)."""
        frame = self.sim.render(T, force if contact else 0.0)
        self.spacing = tuple(frame.spacing_m)
        q = self.assessor.assess(frame.image, with_confidence=False)
        c = self.qcfg
        conf = confidence_at_size(frame.image, CONFIDENCE_SIZE, c.alpha, c.beta, c.gamma)
        return (
            frame.image,
            q.quality.value,
            float(q.score),
            np.clip(conf * 255, 0, 255).astype(np.uint8),
        )


FRAMES: dict[str, Callable] = {"toy": ToyFrames, "bmode": BModeFrames}


# --- the server --------------------------------------------------------------------------


class ConsoleStub(StubServer):
    """The protocol stub with a camera view, stroke mapping, a toy scan and frames."""

    def __init__(self, *, view: str = "analytic", frames: str = "toy", **kw) -> None:
        self.cfg = load_config()
        self.view = VIEWS[view](self.cfg)
        self.mapper = StrokeMapper(self.cfg.perception)
        self.frames = FRAMES[frames](self.cfg)
        kw.setdefault("frame_rate_hz", 15.0)
        super().__init__(**kw)
        self.lock = threading.Lock()
        self.scan_t0 = 0.0  # when the current step started (monotonic s)
        self.s = 0.0
        self.plan: m.PlanResult | None = None
        self.path: m.PathPreview | None = None
        self.frame_seq = 0
        self.quality: m.Quality | None = None
        self._last_step = time.monotonic()
        self._rendered: tuple[m.Frame, list[bytes]] | None = None

    # scan ------------------------------------------------------------------------------

    def _transition(self, to: str, why: str) -> None:
        if to != self.scan_state:
            self.event("transition", f"{self.scan_state} -> {to} ({why})", client=None)
            self.scan_state = to
            self.scan_t0 = time.monotonic()

    def step(self, now: float) -> None:
        """Advance the toy scan by the time since the last turn."""
        mono = time.monotonic()
        dt, self._last_step = mono - self._last_step, mono
        st = self.scan_state
        if self.plan is None or st in ("idle", "done", "aborted", "faulted"):
            return
        elapsed = mono - self.scan_t0
        if st == "sweep":
            self.s = min(self.s + dt * self.plan.speed * self.override, self.plan.length)
            if self.s >= self.plan.length:
                self._transition("retract", "end of path")
        elif st == "aborting" and elapsed >= STEP_S["aborting"]:
            self._transition("aborted", "retracted")
        elif st in STEP_S and st != "aborting" and elapsed >= STEP_S[st]:
            self._transition(SEQUENCE[SEQUENCE.index(st) + 1], "step done")

    def probe_pose(self) -> np.ndarray:
        """The toy probe: on the path at ``s`` in contact, above its start before."""
        T = np.eye(4)
        T[:3, 3] = (0.45, 0.0, 0.4)
        T[:3, :3] = np.diag([1.0, -1.0, -1.0])
        if self.path is None:
            return T
        pts, nrm = np.asarray(self.path.points), np.asarray(self.path.normals)
        s = np.asarray(self.path.s)
        p = np.array([np.interp(self.s, s, pts[:, k]) for k in range(3)])
        n = np.array([np.interp(self.s, s, nrm[:, k]) for k in range(3)])
        n /= np.linalg.norm(n)
        i = min(int(np.searchsorted(s, self.s)), len(s) - 1)
        tangent = pts[min(i + 1, len(s) - 1)] - pts[max(i - 1, 0)]
        z = -n
        x = tangent - (tangent @ z) * z
        x = x / np.linalg.norm(x) if np.linalg.norm(x) > 1e-9 else np.array([1.0, 0, 0])
        T[:3, 0], T[:3, 1], T[:3, 2] = x, np.cross(z, x), z
        lift = {"transfer": HOVER, "approach": 0.5 * HOVER, "retract": HOVER}
        T[:3, 3] = p + n * lift.get(self.scan_state, 0.0 if self.contact else HOVER)
        return T

    @property
    def contact(self) -> bool:
        """The toy probe touches the skin."""
        return self.scan_state in CONTACT_STATES

    def state(self, now: float) -> m.State:
        """The protocol stub's state with the toy scan's pose, force, mode and progress."""
        base = super().state(now)
        with self.lock:
            length = self.plan.length if self.plan else 0.0
            wobble = 0.12 * math.sin(2 * math.pi * 0.7 * now) + 0.05 * np.random.randn()
            force = self.force_setpoint + wobble if self.contact else 0.02 * np.random.randn()
            mode = "teleop" if self.teleop else MODE_OF.get(self.scan_state, "idle")
            return msgspec.structs.replace(
                base,
                T_base_probe=[float(x) for x in self.probe_pose().ravel()],
                wrench=[0.0, 0.0, -force, 0.0, 0.0, 0.0],
                force=float(force),
                mode=mode,
                scan=m.ScanStatus(
                    state=self.scan_state,
                    progress=self.s / length if length > 0 else 0.0,
                    s=self.s,
                    length=length,
                    plan_id=self.plan.plan_id if self.plan else None,
                    override=self.override,
                ),
                loop=m.LoopTiming(
                    rate_hz=1000.0,
                    compute_us_p99=180.0 + 20 * np.random.rand(),
                    late_us_p99=40.0 + 10 * np.random.rand(),
                    overruns=0,
                    skipped=0,
                ),
            )

    def start(self) -> ConsoleStub:
        """Serve, and render frames on a thread of their own (a slow render never delays
        a command or a state)."""
        threading.Thread(target=self._render_loop, name="stub-frames", daemon=True).start()
        super().start()
        return self

    def _render_loop(self) -> None:
        period = 1.0 / self.frame_rate_hz if self.frame_rate_hz > 0 else 0.1
        while not self._stop.is_set():
            t0 = time.monotonic()
            message = self.render(time.time())
            with self.lock:
                self._rendered = message
            self._stop.wait(max(0.0, period - (time.monotonic() - t0)))

    def frame_message(self, now: float) -> tuple[m.Frame, list[bytes]] | None:
        """The newest rendered frame, once."""
        with self.lock:
            message, self._rendered = self._rendered, None
        return message

    def render(self, now: float) -> tuple[m.Frame, list[bytes]]:
        """A frame at the toy probe's pose with its quality and confidence map."""
        with self.lock:
            T = self.probe_pose()
            where = self.s / self.plan.length if self.plan and self.plan.length else None
            contact = self.contact
        image, label, score, conf = self.frames.render(T, self.force_setpoint, contact, where)
        self.frame_seq += 1
        spacing = self.frames.spacing if self.frames.spacing[0] else (TOY_SPACING, TOY_SPACING)
        body = m.Frame(
            frame_seq=self.frame_seq,
            t=now,
            width=image.shape[1],
            height=image.shape[0],
            spacing=spacing,
            T_base_probe=[float(x) for x in T.ravel()],
            force=self.force_setpoint if contact else 0.0,
            quality=m.Quality(
                frame_seq=self.frame_seq,
                label=label,
                score=score,
                mean_confidence=float(conf.mean() / 255.0),
            ),
            confidence_width=conf.shape[1],
            confidence_height=conf.shape[0],
        )
        return body, [image.tobytes(), conf.tobytes()]

    # commands --------------------------------------------------------------------------

    def _on_snapshot(self, inbound: Inbound, now: float) -> _WithParts:
        v = self.view
        h, w = v.depth.shape
        body = m.SnapshotReply(
            snapshot_id=next(self._ids),
            t=now,
            width=w,
            height=h,
            K=[float(x) for x in v.intrinsics.K.ravel()],
            dist=[0.0] * 5,
            T_base_camera=[float(x) for x in v.T_base_camera.ravel()],
        )
        depth = np.ascontiguousarray(v.depth, dtype="<f4").tobytes()
        return _WithParts(body, [np.ascontiguousarray(v.rgb).tobytes(), depth])

    def _on_map_stroke(self, inbound: Inbound, now: float) -> m.PathPreview:
        body: m.MapStroke = inbound.msg.body
        try:
            mapped = self.mapper.map(self.view, np.asarray(body.stroke_px, dtype=float))
        except StrokeError as exc:
            raise ProtocolError(ErrorCode.REFUSED, str(exc), reason=exc.code.value) from None
        pts, nrm = mapped.path.points, mapped.path.normals
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        far = np.hypot(pts[:, 0], pts[:, 1]) > REACH
        spans = []
        start = 0
        for i in range(1, len(s) + 1):
            if i == len(s) or far[i] != far[start]:
                status = "out_of_reach" if far[start] else "ok"
                spans.append(m.Span(s0=float(s[start]), s1=float(s[i - 1]), status=status))
                start = i
        feasible = not far.any()
        speed = 0.01
        preview = m.PathPreview(
            preview_id=next(self._ids),
            snapshot_id=body.snapshot_id,
            points=[tuple(map(float, p)) for p in pts],
            normals=[tuple(map(float, n)) for n in nrm],
            s=[float(x) for x in s],
            spans=spans,
            length=float(s[-1]),
            duration=float(s[-1] / speed),
            feasible=feasible,
            reason="" if feasible else "out_of_reach",
        )
        self.previews[preview.preview_id] = preview
        return preview

    def _on_start_scan(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(not self.estop and not self.faults, "fault_latched")
        ack = super()._on_start_scan(inbound, now)
        with self.lock:
            self.plan = self.plans[inbound.msg.body.plan_id]
            self.path = self.previews[self.plan.preview_id]
            self.s = 0.0
            self.scan_state = "idle"
            self._transition("transfer", "start")
        return ack

    def _on_pause_scan(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.scan_state == "sweep", "not_sweeping")
        self._transition("paused", inbound.msg.body.reason)
        return m.Ack()

    def _on_resume_scan(self, inbound: Inbound, now: float) -> m.Ack:
        self._refuse_unless(self.scan_state == "paused", "not_paused")
        self._transition("sweep", "resume")
        return m.Ack()

    def _on_abort_scan(self, inbound: Inbound, now: float) -> m.Ack:
        if self.scan_state not in ("idle", "done", "aborted", "faulted"):
            self._transition("aborting", inbound.msg.body.reason)
        return m.Ack()

    def _on_estop(self, inbound: Inbound, now: float) -> m.Ack:
        ack = super()._on_estop(inbound, now)
        self.scan_state = "faulted" if self.plan is not None else self.scan_state
        self.event("fault", f"estop: {inbound.msg.body.reason}")
        return ack

    def _on_reset_faults(self, inbound: Inbound, now: float) -> m.Ack:
        ack = super()._on_reset_faults(inbound, now)
        if self.scan_state == "faulted":
            self._transition("aborted", "faults reset")
        self.event("faults_reset", "by the operator", self.sessions.controller_name)
        return ack


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM / SIGINT; prints ``ready PORT`` once listening."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True, help="base port (4 ports from it)")
    p.add_argument("--view", choices=sorted(VIEWS), default="analytic")
    p.add_argument("--frames", choices=sorted(FRAMES), default="toy")
    p.add_argument("--state-hz", type=float, default=200.0)
    p.add_argument("--frame-hz", type=float, default=15.0)
    args = p.parse_args(argv)
    stub = ConsoleStub(
        view=args.view,
        frames=args.frames,
        port=args.port,
        state_rate_hz=args.state_hz,
        frame_rate_hz=args.frame_hz,
        limits=msgspec.structs.replace(STUB_LIMITS, deadman=DEADMAN),
    )
    if stub.port != args.port:
        stub.stop()
        print(f"port {args.port} is taken", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stub.start()
    print(f"ready {stub.port}", flush=True)
    parent = os.getppid()
    while not stop.wait(0.2) and stub.alive and os.getppid() == parent:
        pass  # ends with its parent too (a test run that crashed leaves no server behind)
    stub.stop()
    stub.ctx.destroy(linger=0)  # messages queued for vanished subscribers never block exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
