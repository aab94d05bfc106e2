"""The server's session rules without a network: hello first, one controller, the deadman,
validity horizons, a session bound to its key."""

import pytest

from robot_us.protocol import messages as m
from robot_us.protocol.codec import decode_command, encode
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.sessions import SessionTable

T0 = 1_700_000_000.0
A, B = b"client-a", b"client-b"


def cmd(body, t_sent=T0, ttl=None, seq=1):
    return decode_command(encode(body, seq, t_sent=t_sent, ttl=ttl))


def code(table, identity, msg, now=T0, key=None):
    with pytest.raises(ProtocolError) as e:
        table.admit(identity, key, msg, now)
    return e.value.code


@pytest.fixture
def table():
    t = SessionTable(deadman=0.1, ttl_max=5.0)
    t.hello(A, "console", None, T0)
    t.hello(B, "script", None, T0)
    return t


def test_hello_first_but_anyone_may_stop_the_robot():
    t = SessionTable(deadman=0.1, ttl_max=5.0)
    assert code(t, A, cmd(m.TakeControl())) is ErrorCode.REFUSED
    t.admit(A, None, cmd(m.EStop()), T0)
    t.admit(A, None, cmd(m.Hello(client_name="x")), T0)
    assert t.hello(A, "x", None, T0).startswith("x#")


def test_one_controller_at_a_time(table):
    set_force = cmd(m.SetForce(force=5.0))
    assert code(table, A, set_force) is ErrorCode.NOT_IN_CONTROL
    table.admit(A, None, cmd(m.TakeControl()), T0)
    table.take(A, T0)
    table.admit(A, None, set_force, T0)
    with pytest.raises(ProtocolError) as e:
        table.take(B, T0)
    assert e.value.code is ErrorCode.BUSY and "console" in e.value.message
    assert code(table, B, set_force) is ErrorCode.NOT_IN_CONTROL
    table.admit(B, None, cmd(m.EStop()), T0)  # an observer may still stop the robot
    table.release(A)
    table.take(B, T0)
    assert table.controller_name.startswith("script#")


def test_deadman_takes_control_once_heartbeats_keep_it(table):
    table.take(A, T0)
    for i in range(1, 10):  # heartbeats every 50 ms keep control
        now = T0 + 0.05 * i
        hb = cmd(m.Heartbeat(rtt=0.001), t_sent=now)
        table.admit(A, None, hb, now)
        table.heartbeat(A, hb.body, now)
        assert table.expire(now) is None
    last = T0 + 0.45
    assert table.expire(last + 0.099) is None
    assert table.expire(last + 0.101).startswith("console#")
    assert table.expire(last + 0.2) is None  # reported once
    assert table.controller is None and table.deadman_trips == 1
    [link_a, _] = table.links(last + 0.2)
    assert link_a.rtt == 0.001 and link_a.heartbeat_age == pytest.approx(0.2)


def test_stale_heartbeat_does_not_keep_control(table):
    table.take(A, T0)
    late = cmd(m.Heartbeat(), t_sent=T0, ttl=0.05)
    assert code(table, A, late, now=T0 + 0.08) is ErrorCode.STALE
    assert table.expire(T0 + 0.11) is not None  # the stale heartbeat did not count
    assert table.stale_total == 1 and table.sessions[A].stale == 1


def test_ttl_above_the_server_limit_is_out_of_range(table):
    table.take(A, T0)
    msg = cmd(m.TeleopTwist(vx=0.01), ttl=10.0)
    assert code(table, A, msg) is ErrorCode.OUT_OF_RANGE


def test_a_session_belongs_to_its_key():
    t = SessionTable(deadman=0.1, ttl_max=5.0)
    t.hello(A, "console", "alice", T0)
    t.take(A, T0)
    t.admit(A, "alice", cmd(m.SetForce(force=5.0)), T0)
    # another key presenting the same routing identity is a stranger without control
    assert code(t, A, cmd(m.SetForce(force=5.0)), key="mallory") is ErrorCode.REFUSED
    t.hello(A, "console", "mallory", T0)
    assert t.controller is None
