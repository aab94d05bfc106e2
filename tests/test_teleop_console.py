"""The terminal teleoperation client without a terminal: which keys count as held (from a
terminal's auto-repeat), the commands its keys send (against the protocol's stub server),
and the status screen."""

import time

import pytest

from robot_us.protocol.client import Client
from robot_us.teleop_console import (
    FIRST_REPEAT_S,
    REPEAT_S,
    HeldKeys,
    TeleopSession,
    status_lines,
)
from tests.protocol_stub import StubServer


def test_a_key_is_held_while_its_auto_repeat_keeps_coming():
    keys = HeldKeys()
    assert keys.twist(0.0, 0.01, 0.2) is None  # nothing held: no twist at all
    keys.press("w", 0.0)
    assert keys.twist(FIRST_REPEAT_S - 0.01, 0.01, 0.2) == (0.0, 0.01, 0.0, 0.0, 0.0)
    assert keys.twist(FIRST_REPEAT_S + 0.01, 0.01, 0.2) is None  # released
    keys.press("w", 1.0)
    keys.press("w", 1.03)  # an auto-repeat: from now on a short hold
    assert keys.twist(1.03 + REPEAT_S - 0.01, 0.01, 0.2) is not None
    assert keys.twist(1.03 + REPEAT_S + 0.01, 0.01, 0.2) is None
    keys.press("a", 2.0)
    keys.press("e", 2.0)
    assert keys.twist(2.1, 0.01, 0.2) == (-0.01, 0.0, 0.0, 0.0, 0.2)
    keys.release_all()
    assert keys.twist(2.1, 0.01, 0.2) is None


@pytest.fixture
def session():
    with StubServer(state_rate_hz=100) as srv:
        client = Client(srv.url, name="teleop-test")
        client.connect()
        yield srv, TeleopSession(client)
        client.close()


def eventually(cond, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_keys_drive_the_session(session):
    srv, s = session
    now = time.monotonic()
    s.key("w", now)
    s.tick(now)
    assert srv.twists_executed == 0  # not in control: nothing sent
    s.key("t", now)
    assert srv.teleop and s.client.in_control and "started" in s.message
    s.key("w", now)
    s.tick(now + 0.05)
    assert eventually(lambda: srv.twists_executed == 1)
    assert srv.twist.vy == pytest.approx(s.linear)
    s.tick(now + 0.055)  # not due yet at 50 Hz
    s.key(" ", now)  # stop: no key held, no twist
    s.tick(now + 0.2)
    time.sleep(0.1)
    assert srv.twists_executed == 1
    assert eventually(lambda: s.client.latest_state() is not None)
    s.key("+", now)
    assert srv.force_setpoint == pytest.approx(5.5)
    s.key("x", now)
    assert not srv.teleop
    s.key("Q", now)
    assert s.quit and not s.client.in_control


def test_status_screen(session):
    _, s = session
    assert eventually(lambda: s.client.latest_state() is not None)
    lines = status_lines(s.client.latest_state().state, s.client, "hello", (0.02, 0.3))
    text = "\n".join(lines)
    assert "force" in text and "mode" in text and "rtt" in text and "hello" in text
    assert "20 mm/s" in text
    assert "waiting" in status_lines(None, s.client, "", (0.02, 0.3))[2]
