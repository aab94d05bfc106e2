"""Recovering damaged recordings: a file missing only its last bytes is truncated (at
the exact byte), a file damaged in the middle loses only the damaged chunk, and random
bit flips and cuts never raise anything but the project's error while every chunk the
damage did not touch is recovered."""

from __future__ import annotations

import struct
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcap.data_stream import ReadDataStream
from mcap.reader import make_reader
from mcap.records import Chunk, Message
from mcap.stream_reader import breakup_chunk

from robot_us.core.types import UltrasoundFrame
from robot_us.recording import Recorder
from robot_us.recording.config import RecordingConfig
from robot_us.recording.reader import RecordingFormatError, read_recording
from robot_us.state_log import StateLog

N_FRAMES = 120


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """A recording of many small chunks: (path, bytes, chunks), each chunk as
    (start, end, log times (ns) of the frame images it holds)."""
    path = tmp_path_factory.mktemp("rec") / "chunked.mcap"
    rng = np.random.default_rng(1)
    log = StateLog(4096)
    cfg = RecordingConfig(chunk_size=64 * 1024)
    with Recorder(path, cfg, log, threaded=False) as rec:
        rec.write_config({"test": True})
        for i in range(N_FRAMES):
            img = rng.integers(0, 255, (40, 64), dtype=np.uint8)  # incompressible
            rec.add_frame(UltrasoundFrame(t=i * 0.01, image=img, spacing_m=(1e-4, 1e-4), seq=i))
            rec.pump()
    data = path.read_bytes()
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    channels = {c.id: c.topic for c in summary.channels.values()}
    chunks = []
    for ci in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
        start, end = ci.chunk_start_offset, ci.chunk_start_offset + ci.chunk_length
        chunk = Chunk.read(ReadDataStream(BytesIO(data[start + 9 : end])))
        seqs = []
        for r in breakup_chunk(chunk):
            if isinstance(r, Message) and channels[r.channel_id] == "/us/image":
                seqs.append(r.log_time)
        chunks.append((start, end, seqs))
    assert len(chunks) >= 8 and sum(len(s) for *_, s in chunks) == N_FRAMES
    return path, data, chunks


def _frames(r) -> list[int]:
    """Log times (ns) of the frames read back."""
    origin = int(r.metadata["origin_ns"])
    return [round(f.t * 1e9) + origin for f in r.frames]


def _all(chunks, skip=()) -> list[int]:
    return [t for i, (*_, ts) in enumerate(chunks) if i not in skip for t in ts]


def _write(tmp_path: Path, data: bytes, name: str = "bad.mcap") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_complete_file_reports_complete(chunked):
    path, _, _ = chunked
    r = read_recording(path)
    assert r.status == "complete" and not r.truncated and not r.damaged
    assert len(r.frames) == N_FRAMES and r.messages_recovered == r.messages_expected


@pytest.mark.parametrize("cut", [1, 3, 8])
def test_a_file_missing_only_its_last_bytes_is_truncated_exactly(chunked, tmp_path, cut):
    _, data, _ = chunked
    r = read_recording(_write(tmp_path, data[:-cut]))
    assert r.truncated and r.status == "truncated"
    footer_end = len(data) - 8  # the closing magic starts here
    assert f"truncated at byte {footer_end} of {len(data) - cut}" in r.truncation
    assert "closing magic" in r.truncation
    assert len(r.frames) == N_FRAMES  # every message is still there


def test_a_file_cut_inside_a_chunk_is_truncated_at_that_chunk(chunked, tmp_path):
    _, data, chunks = chunked
    start, end, _ = chunks[4]
    r = read_recording(_write(tmp_path, data[: (start + end) // 2]))
    assert r.truncated and f"truncated at byte {start} " in r.truncation
    assert _frames(r) == _all(chunks[:4])


@pytest.mark.parametrize("footer", [True, False], ids=["with-summary", "cut-summary"])
def test_damage_in_the_middle_loses_only_the_damaged_chunk(chunked, tmp_path, footer):
    _, data, chunks = chunked
    bad = bytearray(data)
    start, end, _ = chunks[3]
    mid = (start + end) // 2
    bad[mid : mid + 64] = bytes(64)
    if not footer:  # and the writer died: no summary to help
        bad = bad[: chunks[-1][1]]
    r = read_recording(_write(tmp_path, bytes(bad)))
    assert "damaged" in r.status and r.damaged == [(start, end)], r.recovery
    assert _frames(r) == _all(chunks, skip=(3,))
    assert "CRC" in r.recovery or "decompress" in r.recovery
    if footer:
        assert not r.truncated and r.messages_expected > r.messages_recovered
        assert f"of {r.messages_expected} messages recovered" in r.recovery
    else:
        assert r.truncated


def test_a_damaged_first_chunk_still_recovers_the_rest(chunked, tmp_path):
    """The first chunk holds the schema and channel records: the writer's channel table
    stands in for them, also in a file without its summary."""
    _, data, chunks = chunked
    bad = bytearray(data[: chunks[-1][1]])
    start, end, _ = chunks[0]
    bad[start + 100] ^= 0xFF
    r = read_recording(_write(tmp_path, bytes(bad)))
    assert r.damaged == [(start, end)]
    assert _frames(r) == _all(chunks, skip=(0,))


def test_a_corrupt_length_field_is_skipped(chunked, tmp_path):
    _, data, chunks = chunked
    bad = bytearray(data)
    start = chunks[2][0]
    bad[start + 1 : start + 9] = struct.pack("<Q", 2**60)  # a chunk "longer than the file"
    r = read_recording(_write(tmp_path, bytes(bad)))
    assert r.damaged == [(start, chunks[3][0])] and not r.truncated  # up to the next chunk
    assert _frames(r) == _all(chunks, skip=(2,))


def _check_recovery(chunks, r, touched) -> None:
    """Every chunk that ``touched(start, end)`` says is untouched is fully recovered."""
    got = set(_frames(r))
    for start, end, seqs in chunks:
        if not touched(start, end):
            assert set(seqs) <= got, (start, end, r.recovery)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_bit_flips_recover_every_untouched_chunk(chunked, tmp_path, data):
    _, raw, chunks = chunked
    n = data.draw(st.integers(1, 4), label="flips")
    offsets = data.draw(st.lists(st.integers(8, len(raw) - 1), min_size=n, max_size=n))
    bad = bytearray(raw)
    for o in offsets:
        bad[o] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    try:
        r = read_recording(_write(tmp_path, bytes(bad)))
    except RecordingFormatError:
        return  # e.g. the metadata record was hit: a clear error, nothing else
    # a chunk is touched by a flip inside it, or in the record header just before it
    _check_recovery(chunks, r, lambda a, b: any(a <= o < b for o in offsets))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 10**9))
def test_random_cuts_recover_every_complete_chunk(chunked, tmp_path, cut):
    _, raw, chunks = chunked
    cut = cut % len(raw)
    try:
        r = read_recording(_write(tmp_path, raw[:cut]))
    except RecordingFormatError:
        assert cut < chunks[0][0]  # only a cut header or metadata makes it unreadable
        return
    assert r.truncated and r.status == "truncated"
    _check_recovery(chunks, r, lambda a, b: b > cut)


def test_damaged_metadata_is_refused_naming_it(chunked, tmp_path):
    """MCAP keeps no checksum of records outside chunks: the recording's metadata carries
    its own CRC, so a changed time origin is refused instead of silently shifting every
    timestamp (hypothesis found a flipped digit of origin_ns read as 'complete')."""
    _, raw, _ = chunked
    i = raw.index(b"origin_ns") + len(b"origin_ns") + 4  # the value's first digit
    bad = bytearray(raw)
    bad[i] = ord("2") if bad[i] != ord("2") else ord("3")
    with pytest.raises(RecordingFormatError, match="metadata record is damaged"):
        read_recording(_write(tmp_path, bytes(bad)))
