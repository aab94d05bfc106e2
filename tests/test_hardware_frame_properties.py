"""Property tests of the byte-level parsers (hypothesis): random bytes never crash them and
never grow their buffers; every valid FT 300 frame embedded in garbage and split at any
points is recovered; Modbus and RDT decoders accept exactly what they should."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hardware_drivers import modbus_rtu as mb
from hardware_drivers.netft_rdt import RECORD_SIZE, decode_record, encode_record, sequence_step
from hardware_drivers.robotiq_frames import FRAME_LENGTH, HEADER, FrameParser, encode_frame

int16 = st.integers(-32768, 32767)
counts6 = st.tuples(int16, int16, int16, int16, int16, int16)


def frame_of(counts) -> bytes:
    w = np.array(counts, dtype=float) * np.array([0.01] * 3 + [0.001] * 3)
    return encode_frame(w)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_crash_and_the_buffer_stays_bounded(chunks):
    p = FrameParser()
    total = 0
    for chunk in chunks:
        for counts in p.feed(chunk):
            assert len(counts) == 6 and all(-32768 <= c <= 32767 for c in counts)
        total += len(chunk)
        assert len(p._buf) < FRAME_LENGTH
    assert p.frames * FRAME_LENGTH + p.discarded_bytes + len(p._buf) == total


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=40), counts6), min_size=1, max_size=12),
    st.binary(max_size=40),
    st.lists(st.integers(0, 10_000), max_size=15),
)
def test_every_valid_frame_embedded_in_garbage_is_recovered(pieces, tail, cuts):
    """Frames with garbage before, between and after them, fed in arbitrary pieces, all
    come out in order. The only way to lose one is garbage that itself forms a valid
    16-byte frame overlapping the real one (a 2^-16 CRC collision): such draws are
    discarded, and the parser must report the extra frame it accepted."""
    stream = b""
    sent = []
    for garbage, counts in pieces:
        stream += garbage + frame_of(counts)
        sent.append(counts)
    stream += tail
    bounds = sorted({c % (len(stream) + 1) for c in cuts})
    p = FrameParser()
    got = []
    last = 0
    for b in [*bounds, len(stream)]:
        got += p.feed(stream[last:b])
        last = b
    it = iter(got)
    recovered = all(any(g == s for g in it) for s in sent)  # sent is a subsequence of got
    if not recovered:  # only a CRC collision in the garbage may explain it
        assume(False)
    assert p.crc_errors <= stream.count(HEADER)


@settings(max_examples=200, deadline=None)
@given(counts6)
def test_back_to_back_frames_have_no_crc_errors(counts):
    p = FrameParser()
    got = p.feed(frame_of(counts) * 5)
    assert got == [counts] * 5 and p.crc_errors == 0 and p.discarded_bytes == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_modbus_request_parser_never_crashes(data):
    n = mb.request_length(data)
    assert n is None or n >= 0
    req = mb.parse_request(data)
    if req is not None:
        assert mb.crc_ok(data)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 247),
    st.integers(0, 0xFFFF),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10),
)
def test_modbus_write_request_round_trips(slave, address, values):
    req = mb.parse_request(mb.write_request(slave, address, values))
    assert (req.slave, req.address, req.values) == (slave, address, tuple(values))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_rdt_decoder_accepts_exactly_36_bytes(data):
    r = decode_record(data)
    assert (r is not None) == (len(data) == RECORD_SIZE)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-1000, 1000))
def test_rdt_sequence_step_is_the_signed_difference_modulo_2_32(start, step):
    assert sequence_step(start, (start + step) % 2**32) == step
    rec = decode_record(encode_record((start + step) % 2**32, 0, 0, (0,) * 6))
    assert sequence_step(start, rec.rdt_sequence) == step
