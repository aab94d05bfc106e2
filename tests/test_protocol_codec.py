"""The envelope, the catalogue and the decode paths: every type round-trips; every kind of
bad input gets the right error code (and field, and seq when readable); size limits hold
before decoding; staleness; the port layout and the bind rule; docs in step with code."""

import math
import re
import time
from pathlib import Path

import msgpack
import pytest

from robot_us.protocol import messages as m
from robot_us.protocol.catalogue import CATALOGUE, COMMANDS, TYPE_OF, Kind
from robot_us.protocol.codec import (
    COMMAND_LIMITS,
    SUPPORTED_VERSIONS,
    decode_command,
    decode_server_message,
    encode,
    stale_error,
)
from robot_us.protocol.endpoints import Endpoints, bind_refusal, is_loopback
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.link_stats import LinkMonitor
from robot_us.protocol.msgpack_shape import check_shape
from tests.protocol_samples import SAMPLE_PARTS, SAMPLES

ROOT = Path(__file__).resolve().parents[1]


def raw(d: dict) -> list[bytes]:
    return [msgpack.packb(d)]


def envelope(kind="set_force", body=None, **over) -> dict:
    d = {
        "type": kind,
        "v": 1,
        "seq": 7,
        "t_sent": time.time(),
        "body": {"force": 5.0} if body is None else body,
    }
    d.update(over)
    return d


def error_of(frames, decode=decode_command) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        decode(frames)
    return e.value


def test_every_type_has_a_sample_and_round_trips():
    assert set(SAMPLES) == set(CATALOGUE)
    for kind, body in SAMPLES.items():
        spec = CATALOGUE[kind]
        parts = SAMPLE_PARTS.get(kind, [])
        assert len(parts) == spec.parts, kind
        frames = encode(body, seq=42, ttl=0.5 if spec.ttl else None, parts=parts)
        decode = decode_command if spec.kind is Kind.COMMAND else decode_server_message
        msg = decode(frames)
        assert (msg.type, msg.seq, msg.body, msg.parts) == (kind, 42, body, parts)


def test_catalogue_is_consistent():
    assert len(TYPE_OF) == len(CATALOGUE)  # one body struct per type
    for spec in CATALOGUE.values():
        if spec.kind is Kind.COMMAND:
            assert CATALOGUE[spec.reply].kind is Kind.REPLY, spec.type
            assert issubclass(spec.body, m.CommandBody)
        else:
            assert spec.reply is None and issubclass(spec.body, m.ServerBody)
    # safety-increasing and read-only commands never go stale; motion commands do
    for kind in ("estop", "abort_scan", "pause_scan", "teleop_stop", "release_control"):
        assert CATALOGUE[kind].ttl is None
    for kind in ("teleop_twist", "heartbeat", "set_force", "start_scan", "resume_scan"):
        assert CATALOGUE[kind].ttl is not None
    assert not CATALOGUE["estop"].needs_control  # anyone may stop the robot


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([b"\xc1"], ErrorCode.BAD_ENVELOPE),  # not msgpack
        ([b""], ErrorCode.BAD_ENVELOPE),
        ([], ErrorCode.BAD_ENVELOPE),
        ([msgpack.packb([1, 2, 3])], ErrorCode.BAD_ENVELOPE),  # not a map
        ([msgpack.packb({"v": 1, "seq": 1})], ErrorCode.BAD_ENVELOPE),  # no type
        ([msgpack.packb({"type": "hello"})], ErrorCode.BAD_ENVELOPE),  # no v
        (raw(envelope(v=2)), ErrorCode.UNSUPPORTED_VERSION),
        (raw(envelope(v=2, body=[1, "anything"], type=5)), ErrorCode.UNSUPPORTED_VERSION),
        (raw(envelope(kind="fly_to_the_moon")), ErrorCode.UNKNOWN_TYPE),
        (raw(envelope(kind="state")), ErrorCode.UNKNOWN_TYPE),  # a stream is not a command
        (raw(envelope(seq=-1)), ErrorCode.BAD_ENVELOPE),
        (raw(envelope(seq=0)), ErrorCode.BAD_ENVELOPE),  # requests start at 1
        (raw(envelope(t_sent="now")), ErrorCode.BAD_ENVELOPE),
        (raw(envelope(ttl=-1.0)), ErrorCode.BAD_ENVELOPE),
        (raw(envelope(extra=1)), ErrorCode.BAD_ENVELOPE),  # unknown envelope key
        (raw(envelope(parts=1)), ErrorCode.BAD_ENVELOPE),  # announces a part it lacks
        ([*raw(envelope()), b"x"], ErrorCode.TOO_LARGE),  # commands carry no parts
        ([b"\x91" * 5000 + b"\x00"], ErrorCode.TOO_LARGE),  # nesting, before msgspec
        ([msgpack.packb(list(range(20_000)))], ErrorCode.TOO_LARGE),  # items
        ([bytes(COMMAND_LIMITS.max_envelope_bytes + 1)], ErrorCode.TOO_LARGE),
    ],
)
def test_bad_envelopes_get_their_code(frames, code):
    assert error_of(frames).code is code


def test_unsupported_version_names_the_supported_ones_and_echoes_seq():
    err = error_of(raw(envelope(v=9, seq=1234)))
    assert err.versions == SUPPORTED_VERSIONS and err.seq == 1234


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("set_force", {"force": "five"}, "force"),
        ("set_force", {"force": math.nan}, "force"),
        ("set_force", {"force": math.inf}, "force"),
        ("set_force", {"force": -1.0}, "force"),
        ("set_force", {}, "force"),
        ("set_force", {"force": 5.0, "forse": 1.0}, "forse"),
        ("teleop_twist", {"vx": 0.01, "vz": 0.01}, "vz"),  # the probe axis is force control's
        ("teleop_twist", {"vx": 50.0}, "vx"),
        ("map_stroke", {"snapshot_id": 1, "stroke_px": [[1, 2], [3, -4]]}, "stroke_px[1][1]"),
        ("map_stroke", {"snapshot_id": 1, "stroke_px": [[1, 2]]}, "stroke_px"),
        ("hello", {"client_name": "x" * 1000}, "client_name"),
        ("hello", [1], None),
    ],
)
def test_bad_bodies_name_the_field(kind, body, field):
    err = error_of(raw(envelope(kind=kind, body=body, seq=99)))
    assert err.code is ErrorCode.BAD_BODY
    assert err.field == field
    assert err.seq == 99


def test_server_messages_ignore_unknown_fields_commands_do_not():
    d = envelope(kind="ack", body={"added_in_a_later_server": [1, 2]})
    assert decode_server_message(raw(d)).body == m.Ack()
    assert error_of(raw(envelope(kind="ack"))).code is ErrorCode.UNKNOWN_TYPE


def test_client_limits_allow_large_frames_but_not_too_many_parts():
    body = SAMPLES["frame"]
    decode_server_message(encode(body, 1, parts=[bytes(4)]))
    err = error_of(encode(body, 1, parts=[bytes(4)] * 9), decode_server_message)
    assert err.code is ErrorCode.TOO_LARGE


def test_stale_commands_are_never_fresh_safety_commands_never_stale():
    now = time.time()
    twist = decode_command(encode(SAMPLES["teleop_twist"], 1, t_sent=now - 0.1, ttl=0.2))
    assert stale_error(twist, now) is None
    err = stale_error(twist, now + 0.2)
    assert err.code is ErrorCode.STALE and err.seq == 1
    default_ttl = CATALOGUE["teleop_twist"].ttl
    twist = decode_command(encode(SAMPLES["teleop_twist"], 2, t_sent=now))
    assert stale_error(twist, now + default_ttl * 0.9) is None
    assert stale_error(twist, now + default_ttl * 1.1) is not None
    assert stale_error(twist, now - default_ttl * 1.1) is not None  # dated in the future
    estop = decode_command(encode(SAMPLES["estop"], 3, t_sent=now - 3600))
    assert stale_error(estop, now) is None


def test_shape_check_bounds():
    check_shape(b"\x91" * 6 + b"\x00", max_depth=6, max_items=100)
    with pytest.raises(ProtocolError, match="deeper"):
        check_shape(b"\x91" * 7 + b"\x00", max_depth=6, max_items=100)
    with pytest.raises(ProtocolError, match="extra bytes"):
        check_shape(b"\x00\x00", 6, 100)
    with pytest.raises(ProtocolError, match="truncated"):
        check_shape(b"\x92\x00", 6, 100)
    with pytest.raises(ProtocolError, match="truncated"):
        check_shape(b"\xdb\xff\xff\xff\xff", 6, 100)  # str32 claiming 4 GiB
    check_shape(msgpack.packb({"a": [b"x" * 1000, "é", -1, 2**40, 1.5, None, True]}), 3, 20)


def test_clock_offset_and_round_trip_ntp_style():
    link = LinkMonitor()
    offset = 5.0  # the server's clock runs 5 s ahead
    t1 = 100.0
    for up, down in [(0.010, 0.030), (0.001, 0.001), (0.050, 0.002)]:
        t2 = t1 + up + offset
        t3 = t2 + 0.0005  # the server holds the request 0.5 ms
        t4 = t3 - offset + down
        link.on_reply(t1, t2, t3, t4)
        t1 += 1.0
    # the lowest-delay sample (1 ms each way) gives the offset, exact for symmetric paths
    assert link.offset == pytest.approx(offset, abs=1e-9)
    assert link.offset_bound == pytest.approx(0.001)
    assert link.rtt_last == pytest.approx(0.052)
    assert link.summary().replies == 3
    link.on_stream(t_sent=200.0 + offset, t_recv_local=200.004)
    assert link.summary().latency_p50 == pytest.approx(0.004)


def test_port_layout_and_bind_rule():
    ep = Endpoints.at("10.0.0.2", 5560)
    assert (ep.commands, ep.state, ep.frames, ep.events) == (
        "tcp://10.0.0.2:5560",
        "tcp://10.0.0.2:5561",
        "tcp://10.0.0.2:5562",
        "tcp://10.0.0.2:5563",
    )
    assert Endpoints.parse("tcp://[::1]:6000").events == "tcp://[::1]:6003"
    with pytest.raises(ValueError):
        Endpoints.at("h", 65534)
    with pytest.raises(ValueError):
        Endpoints.parse("http://h:1")
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost"):
        assert is_loopback(host) and bind_refusal(host, have_keys=False) is None
    for host in ("0.0.0.0", "::", "192.168.1.5", "robot.local"):
        line = bind_refusal(host, have_keys=False)
        assert line is not None and "\n" not in line and "keys" in line
        assert bind_refusal(host, have_keys=True) is None


def test_doc_lists_every_message_type_and_error_code():
    doc = (ROOT / "docs" / "protocol.md").read_text()
    headings = set(re.findall(r"^#### `([a-z_]+)`", doc, re.M))
    assert headings == set(CATALOGUE), set(CATALOGUE) ^ headings
    for code in ErrorCode:
        assert f"`{code.value}`" in doc
    for kind in COMMANDS:  # every command's row in the command table
        assert re.search(rf"^\| `{kind}` \|", doc, re.M), kind


def test_vocabularies_match_the_stack():
    from force_control.controller import Mode
    from robot_us.scan.states import ScanState
    from trajectory.errors import FailureReason

    assert set(m.SPAN_STATUSES) == {"ok"} | {r.name.lower() for r in FailureReason}
    assert set(m.SCAN_STATES) == {s.name.lower() for s in ScanState}
    assert {x.name.lower() for x in Mode} <= set(m.CONTROLLER_MODES)
    assert TYPE_OF[m.SetForce] == "set_force"
