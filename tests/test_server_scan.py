"""A whole autonomous scan driven through the client on a fresh real server (snapshot,
map a stroke, plan, start, done), then a second scan with garbage thrown at every endpoint
while it sweeps: random bytes, hypothesis-made envelopes, raw TCP noise on all four ports,
valid commands from a client without control. Nothing changes state, the server stays
up, the scan finishes, the loop keeps its rate. Last, the recording process dies: the
server says so and still stops cleanly."""

import os
import random
import signal
import socket
import time

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robot_us.protocol.catalogue import CATALOGUE
from robot_us.protocol.client import RemoteError
from robot_us.protocol.codec import decode_server_message
from robot_us.scan.runner import default_stroke
from tests.server_harness import (
    SIGNAL_EXIT_S,
    ServerProcess,
    connect,
    fifo_allowed,
    wait_group_gone,
)

pytestmark = pytest.mark.slow

#: The scans here: 65 mm of the default stroke (its first 5 points) at 20 mm/s.
STROKE_POINTS = 5
SPEED = 0.02
TERMINAL = ("done", "aborted", "faulted")


#: The deadman is not under test here; the fuzzing below keeps this test process's
#: interpreter busy, and a thread waiting for its lock (the operator's heartbeats) can wait
#: for as long as the machine leaves the busy thread unscheduled.
DEADMAN_MS = 2000.0


#: Shorter moves than the defaults, for the test's wall time: a 20 mm stand-off and
#: retract, a quicker transfer.
SETTINGS = {
    "server.deadman_ms": DEADMAN_MS,
    "trajectory.standoff": 0.02,
    "trajectory.transfer_velocity_scale": 0.6,
    "force_control.contact.retract_distance": 0.02,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("serve-scan"), SETTINGS)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def plan(server):
    """Plan ids made by the first test (the second replans them from where the arm is)."""
    return {}


def run_until(client, states, timeout):
    """Every state until the scan reaches one of ``states`` (fails on timeout)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sample = client.wait_state(1.0)
        if sample is None:
            continue
        seen.append(sample.state)
        if sample.state.scan.state in states:
            return seen
    pytest.fail(f"scan not in {states} after {timeout} s: {seen[-1].scan if seen else None}")


def test_a_whole_scan_through_the_client(server, plan):
    c = connect(server.url, "console", timeout=30.0)
    try:
        c.take_control()
        snap = c.snapshot(timeout=20.0)
        assert snap.rgb.shape == (snap.body.height, snap.body.width, 3)
        assert snap.depth.shape == (snap.body.height, snap.body.width)
        assert 0.3 < float(snap.depth[snap.body.height // 2, snap.body.width // 2]) < 3.0
        stroke = default_stroke()[:STROKE_POINTS]
        preview = c.map_stroke(stroke, snap.body.snapshot_id, plane="longitudinal")
        assert preview.feasible and [sp.status for sp in preview.spans] == ["ok"]
        assert len(preview.points) == len(preview.normals) == len(preview.s) > 10
        assert preview.s[-1] == pytest.approx(preview.length)
        assert 0.03 < preview.length < 0.1
        with pytest.raises(RemoteError) as fast:
            c.plan(preview.preview_id, speed=0.09)
        assert fast.value.code.value == "out_of_range"
        result = c.plan(preview.preview_id, speed=SPEED)
        assert result.feasible and result.speed == pytest.approx(SPEED)
        plan["id"] = result.plan_id
        c.start_scan(result.plan_id)
        with pytest.raises(RemoteError) as twice:
            c.start_scan(result.plan_id)
        assert twice.value.reason == "scan_running"
        states = run_until(c, TERMINAL, timeout=120.0)
        assert states[-1].scan.state == "done", states[-1]
        visited = [s.scan.state for s in states]
        assert "sweep" in visited and "retract" in visited
        sweeping = [s for s in states if s.scan.state == "sweep" and s.mode == "contact"]
        assert sweeping and all(abs(s.force - 5.0) < 2.0 for s in sweeping)
        assert states[-1].scan.plan_id == result.plan_id
        assert max(s.scan.progress for s in states) > 0.99
        transitions = [e.cause for e in c.events() if e.kind == "transition"]
        assert any(t.startswith("sweep -> retract") for t in transitions)
        frame = c.latest_frame()
        assert frame is not None and frame.image.shape == (256, 256)
        assert frame.frame.quality is not None
        c.release_control()
    finally:
        c.close()


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.binary(max_size=12)
    | st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4)
)


def test_fuzz_every_endpoint_while_a_scan_runs(server, plan):
    assert "id" in plan, "needs the first test's plan"
    op = connect(server.url, "operator", timeout=30.0)
    intruder = connect(server.url, "intruder", timeout=5.0)
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.connect(server.url)
    rng = random.Random(3)
    try:
        op.take_control()
        op.start_scan(plan["id"])  # planned again from where the arm is now
        run_until(op, ("sweep",), timeout=60.0)
        op.set_speed(0.25)  # a sweep of about 13 s: the fuzzing below happens during it
        before = op.wait_state(1.0).state
        t0 = time.monotonic()

        # 1) raw random frames at the command port: one error reply each
        sent = replies = 0
        while sent < 150 and time.monotonic() - t0 < 3.0:
            n = rng.randint(1, 3)
            dealer.send_multipart([rng.randbytes(rng.choice([1, 9, 70, 900])) for _ in range(n)])
            sent += 1
            if dealer.poll(1000):
                msg = decode_server_message(dealer.recv_multipart())
                assert msg.type == "error"
                replies += 1
        assert sent >= 50 and replies == sent

        # 2) envelope-shaped maps with random values (hypothesis, bounded)
        @FUZZ
        @given(
            # (an estop is accepted from anyone, without hello: it is meant to stop the scan)
            kind=st.sampled_from([k for k in CATALOGUE if k != "estop"] + ["warp"]),
            envelope=st.dictionaries(st.sampled_from(["v", "seq", "t_sent", "ttl", "x"]), values),
            body=st.dictionaries(st.text(max_size=8), values, max_size=4) | values,
        )
        def envelopes(kind, envelope, body):
            d = {"type": kind, "v": 1, "seq": 1, "t_sent": time.time(), **envelope, "body": body}
            dealer.send(msgpack.packb(d, use_bin_type=True))
            assert dealer.poll(2000)
            msg = decode_server_message(dealer.recv_multipart())
            assert msg.type in ("error", "welcome", "ack", "control")

        envelopes()

        # 3) raw TCP noise on all four ports (not even ZMTP)
        for i in range(4):
            for _ in range(5):
                with socket.create_connection(("127.0.0.1", server.port + i), timeout=2) as s:
                    s.sendall(rng.randbytes(rng.choice([3, 64, 4096])))

        # 4) well-formed commands from a client that does not hold control
        controller = op.wait_state(1.0).state.controller
        assert controller == op.welcome.client_id, [(e.kind, e.cause) for e in op.events()]
        for name, call in (
            ("take_control", lambda: intruder.take_control()),
            ("set_force", lambda: intruder.set_force(9.0)),
            ("abort_scan", lambda: intruder.abort_scan("intruder")),
            ("start_scan", lambda: intruder.start_scan(plan["id"])),
            ("teleop_start", lambda: intruder.teleop_start()),
        ):
            with pytest.raises(RemoteError, match=r"busy|not_in_control"):
                call()
                pytest.fail(f"{name} from a client without control was executed")
        during = op.wait_state(1.0).state
        t1 = time.monotonic()

        assert during.scan.state == "sweep" and during.controller == op.welcome.client_id
        assert during.force_setpoint == pytest.approx(before.force_setpoint, abs=1.5)
        assert not during.faults and not during.estop
        assert sum(during.errors.values()) >= sum(before.errors.values()) + sent
        if fifo_allowed():  # the loop kept its rate while all this went on
            assert (during.cycle - before.cycle) / (t1 - t0) > 900.0
        states = run_until(op, TERMINAL, timeout=120.0)
        assert states[-1].scan.state == "done", states[-1]
    finally:
        dealer.close()
        ctx.term()
        op.close()
        intruder.close()


def test_zz_a_lost_recording_process_is_reported_and_the_stop_still_works(server):
    """Last on this server: its recording process dies (SIGKILL); the loss is an event,
    the server goes on, and SIGTERM still stops it and all its processes."""
    watcher = connect(server.url, "watcher")
    try:
        pid = server.recording_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        seen = []
        while not any(e.kind == "recording" for e in seen):
            assert time.monotonic() < deadline, [(e.kind, e.cause) for e in seen]
            seen += watcher.events()
            time.sleep(0.05)
        assert watcher.wait_state(2.0) is not None  # still serving
    finally:
        watcher.close()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(SIGNAL_EXIT_S) == 143, server.output()
    assert wait_group_gone(server.pgid, SIGNAL_EXIT_S)
