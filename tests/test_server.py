"""The real robot-side server (``robot-us serve`` in its own process, the simulated cell in
real time, probe a few millimetres above the body): the welcome and the state stream,
control handover, teleoperation on the skin, the deadman (hold), stale commands, E-stop
and fault reset, force limits, and what the session's recording holds. One server for the
module; the tests run in file order on it."""

import time

import numpy as np
import pytest

from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.protocol.client import RemoteError
from robot_us.recording.reader import read_recording
from tests.server_harness import ServerProcess, connect

pytestmark = pytest.mark.slow

DEADMAN_S = 0.1
FORCE = 5.0
#: Twists may apply this long (s): longer than the deadman, to tell the two apart.
TWIST_HOLD = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = {"server.twist_hold_max": TWIST_HOLD}
    srv = ServerProcess(tmp_path_factory.mktemp("serve"), settings, teleop_home=True)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def kin():
    from robot_us.config import load_config

    cfg = load_config()
    return ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))


def wait_for(client, predicate, timeout=10.0):
    """The first state satisfying ``predicate`` within ``timeout`` s (fails otherwise)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        sample = client.wait_state(0.5, newer_than=last.seq if last else 0)
        if sample is None:
            continue
        last = sample
        if predicate(sample.state):
            return sample
    pytest.fail(f"no state satisfied the condition in {timeout} s; last: {last and last.state}")


def wait_event(client, predicate, timeout=2.0):
    """The first event satisfying ``predicate`` within ``timeout`` s (fails otherwise)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in client.events():
            seen.append(e)
            if predicate(e):
                return e
        time.sleep(0.02)
    pytest.fail(f"no such event in {timeout} s; seen: {[(e.kind, e.cause) for e in seen]}")


def tip_velocity(state, kin) -> tuple[float, float]:
    """Probe-tip speed across and along the probe axis (m/s) from q and qd."""
    q, qd = np.array(state.q), np.array(state.qd)
    v = kin.jacobian(q)[:3] @ qd
    z = np.array(state.T_base_probe).reshape(4, 4)[:3, 2]
    along = float(z @ v)
    return float(np.linalg.norm(v - z * along)), along


def position(state) -> np.ndarray:
    return np.array(state.T_base_probe).reshape(4, 4)[:3, 3]


def to_skin(client, timeout=15.0):
    """Take control, start teleoperation and wait until it slides on the skin."""
    if not client.in_control:
        client.take_control()
    client.teleop_start()
    return wait_for(client, lambda s: s.mode == "teleop", timeout)


def slide(client, seconds, hold=0.1, ttl=None, **twist):
    """Send ``twist`` at 50 Hz for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        client.teleop_twist(**twist, hold=hold, ttl=ttl)
        time.sleep(0.02)


def test_welcome_and_state_stream(server):
    c = connect(server.url, "observer")
    try:
        w = c.welcome
        assert w.limits.deadman == pytest.approx(DEADMAN_S)
        assert w.limits.deadman_action == "hold"
        assert (w.limits.force_min, w.limits.force_max) == (1.0, 15.0)
        assert w.ports.state == server.port + 1 and not w.curve
        a = c.wait_state(2.0)
        b = c.wait_state(2.0, newer_than=a.seq)
        s = b.state
        assert b.state.cycle > a.state.cycle
        assert abs(s.t - time.time()) < 1.0  # Unix time of the cycle, server clock
        assert len(s.q) == 7 and len(s.T_base_probe) == 16
        assert s.scan.state == "idle" and s.controller is None and not s.teleop
        assert s.mode in ("hold", "idle")
        assert s.loop is not None and s.loop.rate_hz > 0
    finally:
        c.close()


def test_control_handover(server):
    # alice needs no frames: less for this process's interpreter to decode, so her
    # heartbeats keep within the 100 ms deadman on a busy machine
    a = connect(server.url, "alice", streams=("state", "events"))
    b = connect(server.url, "bob")
    try:
        assert a.take_control().you
        wait_for(b, lambda s: s.controller == a.welcome.client_id)
        with pytest.raises(RemoteError) as busy:
            b.take_control()
        assert (busy.value.code.value, busy.value.reason) == ("busy", "controlled")
        with pytest.raises(RemoteError) as nic:
            b.set_force(6.0)
        assert nic.value.code.value == "not_in_control"
        b.snapshot(timeout=10.0)  # observers may read
        a.release_control()
        wait_for(b, lambda s: s.controller is None)
        assert b.take_control().you
        b.close()  # bob disappears while in control: the deadman takes it back
        t_gone = time.monotonic()
        wait_for(a, lambda s: s.controller is None, timeout=5.0)
        assert time.monotonic() - t_gone < 2.0
        wait_event(a, lambda e: e.kind == "deadman" and e.client == b.welcome.client_id)
        assert a.take_control().you
        a.release_control()
    finally:
        a.close()
        b.close()


def test_teleop_slides_and_the_deadman_stops_holding_contact(server, kin):
    op, obs = connect(server.url, "operator"), connect(server.url, "watcher")
    try:
        start = to_skin(op)
        p0 = position(start.state)
        slide(op, 1.0, vx=0.01, hold=TWIST_HOLD, ttl=TWIST_HOLD)
        moving = obs.wait_state(1.0).state
        assert tip_velocity(moving, kin)[0] > 0.004
        assert position(moving)[0] - p0[0] > 0.004
        # the last twist is valid for a whole second, then the operator's program dies:
        # no heartbeat, no twist; only the deadman can stop the probe before the second
        op.teleop_twist(vx=0.01, hold=TWIST_HOLD, ttl=TWIST_HOLD)
        op.close()
        t_last = time.time()
        stopped = wait_for(obs, lambda s: tip_velocity(s, kin)[0] < 0.001, timeout=1.0)
        s = stopped.state
        # (state.t: the cycle's time on the server clock, the same clock on this machine)
        assert s.t - t_last < DEADMAN_S + 0.1
        assert s.controller is None and not s.teleop
        assert s.mode == "contact"  # holding: force control keeps the set-point
        time.sleep(0.5)
        s = obs.wait_state(1.0).state
        assert abs(s.force - FORCE) < 1.0
        assert tip_velocity(s, kin)[0] < 0.001
        wait_event(obs, lambda e: e.kind == "deadman")
    finally:
        op.close()
        obs.close()


def test_a_stale_twist_is_never_executed(server, kin):
    op = connect(server.url, "stale-op")
    try:
        to_skin(op)
        before = op.wait_state(1.0).state
        with pytest.raises(RemoteError) as stale:
            op.teleop_twist(vx=0.02, ttl=1e-6, wait=True)  # older than its horizon on arrival
        assert stale.value.code.value == "stale"
        time.sleep(0.3)
        after = op.wait_state(1.0).state
        assert np.linalg.norm(position(after) - position(before)) < 0.0005
        assert after.stale_commands >= before.stale_commands + 1
        assert after.errors.get("stale", 0) >= 1
        mine = [ln for ln in after.links if ln.client == op.welcome.client_id]
        assert mine and mine[0].stale >= 1
        op.teleop_stop()
        op.release_control()
    finally:
        op.close()


def test_force_limits_and_set_point(server):
    op = connect(server.url, "force-op")
    try:
        to_skin(op)
        with pytest.raises(RemoteError) as err:
            op.set_force(40.0)
        assert (err.value.code.value, err.value.field) == ("out_of_range", "force")
        op.set_force(7.0)
        s = wait_for(op, lambda s: abs(s.force_setpoint - 7.0) < 0.05, timeout=3.0).state
        wait_for(op, lambda s: abs(s.force - 7.0) < 0.5, timeout=3.0)
        assert s.mode == "teleop"
        op.set_force(FORCE)
        op.teleop_stop()
        op.release_control()
    finally:
        op.close()


def test_estop_from_any_client_and_fault_reset(server):
    op, other = connect(server.url, "estop-op"), connect(server.url, "bystander")
    try:
        op.take_control()
        other.estop("test")  # not in control: still allowed
        s = wait_for(op, lambda s: s.estop and s.faults, timeout=3.0).state
        assert "ESTOP" in s.faults[0].cause
        with pytest.raises(RemoteError) as refused:
            op.teleop_start()
        assert refused.value.reason == "fault_latched"
        op.reset_faults()
        s = wait_for(op, lambda s: not s.estop and not s.faults, timeout=3.0).state
        assert s.controller == op.welcome.client_id
        op.release_control()
    finally:
        op.close()
        other.close()


def test_zz_the_session_recording(server):
    """Last on this server: stop it and read its recording back."""
    assert server.stop() == 130  # SIGINT
    (path,) = server.recordings()
    rec = read_recording(path)
    assert rec.status == "complete"
    kinds = {c["type"] for c in rec.operator_commands}
    assert {"hello", "take_control", "teleop_start", "teleop_twist", "estop"} <= kinds
    stale = [c for c in rec.operator_commands if c["result"] == "stale"]
    assert stale and all(c["type"] == "teleop_twist" for c in stale)
    executed = [c for c in rec.operator_commands if c["type"] == "teleop_twist"]
    executed = [c for c in executed if c["result"] == "ok"]
    assert executed and all(c["age"] <= (c["ttl"] or 0.25) for c in executed)
    assert rec.links and any(ln["controller"] for ln in rec.links)
    assert {"rtt", "heartbeat_age", "stale"} <= set(rec.links[0])
    assert any(e.kind == "deadman" for e in rec.events)
    assert rec.summary is not None and rec.summary["deadman_trips"] >= 2
    assert rec.state_full_rate and "mode" in rec.state.dtype.names
