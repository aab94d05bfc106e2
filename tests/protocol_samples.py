"""One valid body of every message type of the protocol catalogue (tests and docs)."""

from __future__ import annotations

from robot_us.protocol import messages as m
from tests.protocol_stub import STUB_LIMITS

POSE = [1.0, 0.0, 0.0, 0.4, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.1, 0.0, 0.0, 0.0, 1.0]
LIMITS = STUB_LIMITS
SPAN = m.Span(s0=0.0, s1=0.05, status="ok")

SAMPLES: dict[str, object] = {
    "hello": m.Hello(client_name="console", client_version="0.1.0"),
    "map_stroke": m.MapStroke(snapshot_id=3, stroke_px=[(10.0, 20.0), (30.5, 40.0)]),
    "plan": m.Plan(preview_id=4, speed=0.01),
    "start_scan": m.StartScan(plan_id=5),
    "pause_scan": m.PauseScan(reason="image quality"),
    "resume_scan": m.ResumeScan(),
    "abort_scan": m.AbortScan(),
    "set_force": m.SetForce(force=6.5),
    "set_speed": m.SetSpeed(override=0.5),
    "teleop_start": m.TeleopStart(),
    "teleop_stop": m.TeleopStop(),
    "teleop_twist": m.TeleopTwist(vx=0.01, vy=-0.005, wz=0.2, hold=0.1),
    "heartbeat": m.Heartbeat(rtt=0.0012, jitter=0.0001, offset=-0.0003, lost=2),
    "estop": m.EStop(reason="test"),
    "reset_faults": m.ResetFaults(),
    "take_control": m.TakeControl(),
    "release_control": m.ReleaseControl(),
    "snapshot": m.Snapshot(),
    "welcome": m.Welcome(
        server_name="cell-1",
        server_version="0.1.0",
        protocol_version=1,
        client_id="console#a1b2c3",
        limits=LIMITS,
        ports=m.Ports(commands=5560, state=5561, frames=5562, events=5563),
        state_rate_hz=500.0,
        frame_rate_hz=30.0,
    ),
    "path_preview": m.PathPreview(
        preview_id=4,
        snapshot_id=3,
        points=[(0.4, 0.0, 0.1), (0.45, 0.0, 0.1)],
        normals=[(0.0, 0.0, 1.0), (0.0, 0.0, 1.0)],
        s=[0.0, 0.05],
        spans=[SPAN],
        length=0.05,
        duration=5.0,
        feasible=True,
    ),
    "plan_result": m.PlanResult(plan_id=5, preview_id=4, feasible=True, spans=[SPAN]),
    "ack": m.Ack(),
    "control": m.Control(controller="console#a1b2c3", you=True),
    "snapshot_data": m.SnapshotReply(
        snapshot_id=3,
        t=1.7e9,
        width=2,
        height=1,
        K=[500.0, 0.0, 1.0, 0.0, 500.0, 0.5, 0.0, 0.0, 1.0],
        dist=[0.0] * 5,
        T_base_camera=POSE,
    ),
    "error": m.Error(code="stale", message="teleop_twist is 300 ms old, valid for 250 ms"),
    "state": m.State(
        t=1.7e9,
        cycle=12,
        q=[0.1] * 7,
        qd=[0.0] * 7,
        T_base_probe=POSE,
        wrench=[0.0, 0.0, -5.0, 0.0, 0.0, 0.0],
        force=5.0,
        force_setpoint=5.0,
        mode="contact",
        scan=m.ScanStatus(state="sweep", progress=0.5, s=0.025, length=0.05, plan_id=5),
        faults=[m.Fault(code=3, name="force_soft", cause="12.1 N > 12 N", t=1.7e9)],
        controller="console#a1b2c3",
        loop=m.LoopTiming(rate_hz=1000, compute_us_p99=120, late_us_p99=30, overruns=0, skipped=0),
        links=[m.LinkStatus(client="console#a1b2c3", rtt=0.001)],
        errors={"bad_body": 1},
    ),
    "frame": m.Frame(
        frame_seq=7,
        t=1.7e9,
        width=2,
        height=2,
        spacing=(2e-4, 2e-4),
        T_base_probe=POSE,
        force=5.0,
        quality=m.Quality(frame_seq=6, label="good", score=0.8, mean_confidence=0.7),
    ),
    "event": m.Event(t=1.7e9, kind="transition", cause="settle -> sweep (settled)"),
}
#: Extra parts of the sample messages that carry them.
SAMPLE_PARTS: dict[str, list[bytes]] = {
    "snapshot_data": [bytes(6), bytes(8)],
    "frame": [bytes(4)],
}
