"""Garbage in, protocol errors out: the decoders raise ``ProtocolError`` and nothing else
for random bytes, random msgpack structures and envelope-shaped maps with random values;
the stub server answers random frames with error replies, changes nothing and stays up.
Bounded in examples and time."""

import contextlib
import random
import time

import msgpack
import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robot_us.protocol.catalogue import CATALOGUE
from robot_us.protocol.client import Client
from robot_us.protocol.codec import decode_command, decode_server_message
from robot_us.protocol.errors import ProtocolError
from tests.protocol_samples import SAMPLES
from tests.protocol_stub import StubServer

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)
field_values = structures | st.sampled_from([0, 1, -1, 2**53 + 1, 1e308, "", "x" * 100])


def only_protocol_errors(frames) -> None:
    for decode in (decode_command, decode_server_message):
        # a ProtocolError is the one allowed outcome for garbage, besides a valid message
        with contextlib.suppress(ProtocolError):
            decode(frames)


@FUZZ
@given(st.lists(st.binary(max_size=300), min_size=0, max_size=6))
def test_random_frames(frames):
    only_protocol_errors(frames)


@FUZZ
@given(structures)
def test_random_msgpack_structures(obj):
    only_protocol_errors([msgpack.packb(obj, use_bin_type=True)])


@FUZZ
@given(
    kind=st.sampled_from([*CATALOGUE, "nope", ""]) | st.text(max_size=10),
    envelope=st.dictionaries(
        st.sampled_from(["v", "seq", "t_sent", "ttl", "t_recv", "parts", "x"]), field_values
    ),
    body=st.dictionaries(st.text(max_size=12), field_values, max_size=6) | field_values,
    parts=st.lists(st.binary(max_size=50), max_size=3),
)
def test_envelope_shaped_maps_with_random_values(kind, envelope, body, parts):
    d = {"type": kind, "v": 1, "seq": 1, "t_sent": 1.0, **envelope, "body": body}
    only_protocol_errors([msgpack.packb(d, use_bin_type=True), *parts])


@FUZZ
@given(
    kind=st.sampled_from(sorted(CATALOGUE)),
    field=st.text(max_size=12),
    value=field_values,
)
def test_one_wrong_field_in_a_valid_body(kind, field, value):

    body = msgspec.to_builtins(SAMPLES[kind])
    body[field] = value
    d = {"type": kind, "v": 1, "seq": 1, "t_sent": 1.0, "body": body}
    only_protocol_errors([msgpack.packb(d, use_bin_type=True)])


@FUZZ
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from([b"\x91", b"\x81\xa1k"]))
def test_deep_and_long_documents(n, opener):
    only_protocol_errors([opener * n + b"\xc0"])
    only_protocol_errors([b"\xdd" + n.to_bytes(4, "big") + b"\x00" * min(n, 1000)])


def test_raw_garbage_at_the_command_socket():
    """Random frames at the stub's ROUTER (bounded count and time): every message gets one
    error reply, the server's state does not change, a real client still works."""
    rng = random.Random(12)
    with StubServer(state_rate_hz=50) as srv:
        before = (srv.force_setpoint, srv.scan_state, srv.sessions.controller, srv.estop)
        ctx = zmq.Context.instance()
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(srv.url)
        sent = replies = 0
        deadline = time.monotonic() + 5.0
        while sent < 300 and time.monotonic() < deadline:
            n = rng.randint(1, 3)
            frames = [rng.randbytes(rng.choice([1, 8, 64, 600, 70_000])) for _ in range(n)]
            dealer.send_multipart(frames)
            sent += 1
            if dealer.poll(1000):
                reply = dealer.recv_multipart()
                msg = decode_server_message(reply)
                assert msg.type == "error" and msg.seq == 0
                replies += 1
        dealer.close()
        assert sent >= 100 and replies == sent
        assert srv.alive
        assert (srv.force_setpoint, srv.scan_state, srv.sessions.controller, srv.estop) == before
        assert sum(srv.commands.errors.values()) == sent
        with Client(srv.url, name="after-fuzz") as client:
            client.take_control()
            client.set_force(7.0)
        assert srv.force_setpoint == 7.0


@pytest.mark.parametrize(
    ("d", "code"),
    [
        ({"type": "hello", "v": 3, "seq": 5, "t_sent": 1.0, "body": {}}, "unsupported_version"),
        ({"type": "warp", "v": 1, "seq": 6, "t_sent": 1.0, "body": {}}, "unknown_type"),
        ({"type": "hello", "v": 1, "seq": 7, "t_sent": 1.0, "body": {"x": 1}}, "bad_body"),
    ],
)
def test_error_replies_echo_seq(d, code):
    with StubServer(state_rate_hz=0) as srv:
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(srv.url)
        dealer.send(msgpack.packb(d))
        assert dealer.poll(2000)
        reply = decode_server_message(dealer.recv_multipart())
        dealer.close()
    assert (reply.type, reply.seq, reply.body.code) == ("error", d["seq"], code)
    if code == "unsupported_version":
        assert reply.body.versions == [1]
