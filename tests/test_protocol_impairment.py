"""The impairment proxy on its own (a TCP echo server behind it): delay and jitter of each
chunk, a stall, both kinds of link drop; then the protocol client through it."""

import socket
import socketserver
import statistics
import threading
import time

import pytest

from robot_us.protocol.client import Client, NotConnectedError, RequestTimeoutError
from robot_us.protocol.endpoints import PORT_SPAN
from robot_us.protocol.impairment import Impairment, ImpairmentProxy
from tests.protocol_stub import StubServer

DELAY = 0.04
JITTER = 0.015
# Scheduling on a loaded 2-core machine only ever makes a delivery later: lower bounds are
# exact, upper bounds get this much room.
LATE = 0.05


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def connect(proxy: ImpairmentProxy) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5.0)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def round_trip(s: socket.socket, payload: bytes = b"ping") -> float:
    t0 = time.monotonic()
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += s.recv(4096)
    return time.monotonic() - t0


def test_delay_and_jitter_of_each_direction(echo):
    with ImpairmentProxy(echo, Impairment(delay=DELAY, jitter=JITTER, seed=3)) as proxy:
        s = connect(proxy)
        rtts = [round_trip(s) for _ in range(30)]
        s.close()
        delays = list(proxy.delays)  # one sample per chunk and direction
    assert len(delays) == 60
    assert min(delays) >= DELAY - JITTER - 1e-3
    assert statistics.median(delays) <= DELAY + JITTER + LATE
    assert max(delays) - min(delays) >= JITTER  # jittered, not a constant delay
    assert min(rtts) >= 2 * (DELAY - JITTER) - 1e-3


def test_stall_holds_everything_then_delivers(echo):
    with ImpairmentProxy(echo) as proxy:
        s = connect(proxy)
        assert round_trip(s) < 1.0
        proxy.stall(0.3)
        assert round_trip(s, b"after the stall") >= 0.3 - 1e-3
        s.close()
        assert proxy.stalls == 1


def test_random_stalls_follow_the_rate(echo):
    imp = Impairment(stall_rate=20.0, stall_duration=0.01, seed=1)
    with ImpairmentProxy(echo, imp) as proxy:
        time.sleep(0.5)
        assert proxy.stalls >= 2  # ~10 expected in 0.5 s


def test_drop_close_and_blackhole(echo):
    with ImpairmentProxy(echo) as proxy:
        s = connect(proxy)
        round_trip(s)
        proxy.drop("close")
        s.settimeout(2.0)
        with pytest.raises(OSError):  # reset or EOF: the link is gone
            s.sendall(b"x")
            if not s.recv(10):
                raise ConnectionResetError("closed")
        s.close()
        refused = connect(proxy)  # accepted, then closed at once
        refused.settimeout(2.0)
        assert refused.recv(10) == b""
        refused.close()
        proxy.restore()
        s = connect(proxy)
        round_trip(s)
        proxy.drop("blackhole")
        s.settimeout(0.3)
        s.sendall(b"lost?")
        with pytest.raises(TimeoutError):
            s.recv(10)
        proxy.restore()  # the backlog arrives after the link comes back
        s.settimeout(2.0)
        assert s.recv(10) == b"lost?"
        s.close()
    with pytest.raises(ValueError):
        proxy.drop("sideways")


def test_protocol_client_through_the_proxy():
    with (
        StubServer(state_rate_hz=100) as srv,
        ImpairmentProxy(srv.port, Impairment(delay=0.03, jitter=0.01), ports=PORT_SPAN) as px,
    ):
        c = Client(px.url(), name="remote", timeout=2.0)
        c.connect()
        rtts = [c.heartbeat().rtt for _ in range(10)]
        assert min(rtts) >= 2 * (0.03 - 0.01) - 1e-3
        sample = c.wait_state(2.0)
        assert sample is not None and sample.latency >= 0.02 - 2e-3  # one way, offset-corrected
        c.take_control()
        px.drop("blackhole")
        with pytest.raises(RequestTimeoutError):
            c.request(c._heartbeat_body(), timeout=0.3)
        # the link is dead for longer than the deadman: the server took control away
        assert srv.sessions.controller is None and srv.sessions.deadman_trips == 1
        px.drop("close")
        time.sleep(0.1)
        with pytest.raises((NotConnectedError, RequestTimeoutError)):
            c.heartbeat()
        px.restore()
        deadline = time.monotonic() + 5.0
        while not c.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.heartbeat().rtt >= 0.04 - 1e-3
        c.close()
