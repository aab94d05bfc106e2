"""A crash- and damage-tolerant scan of an MCAP file: every message of every intact chunk,
in file order, and an exact account of what was not readable.

The file is walked record by record (opcode, length, body) from the magic to the footer.
Where a record is damaged (an impossible opcode or length, a chunk whose CRC or
decompression fails), the walk resynchronises on the next intact chunk: one listed in the
summary's chunk index when the file still has its footer and summary, else the next
offset that starts a plausible chunk record (opcode 0x06, a length inside the file,
known compression, consistent sizes) whose CRC checks. The bytes skipped are reported as
damaged ranges. A file that ends early is truncated at the exact byte where the first
incomplete record starts (also when only the closing magic is missing). No chunk is ever
decompressed beyond ``MAX_CHUNK_BYTES`` and no record longer than the file is read, so
memory stays bounded whatever the bytes say. The file's summary is not needed (a killed
writer never wrote it) but is used when intact: its channels stand in for ones lost in a
damaged first chunk and its statistics give the number of messages written.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from mcap.data_stream import ReadDataStream
from mcap.opcode import Opcode
from mcap.records import (
    Channel,
    ChunkIndex,
    Footer,
    Message,
    Metadata,
    Schema,
    Statistics,
)

#: The 8-byte MCAP magic.
MCAP_MAGIC = b"\x89MCAP0\r\n"
MAGIC_SIZE = len(MCAP_MAGIC)
#: Largest decompressed chunk accepted (bytes); the recorder's chunks are 4 MiB.
MAX_CHUNK_BYTES = 512 * 1024 * 1024
#: Record header: opcode (1 byte) + length (uint64).
_HEADER = 9
#: Fixed part of a chunk body: start, end, uncompressed size, crc, compression length.
_CHUNK_FIXED = struct.Struct("<QQQII")
#: The footer record (opcode, length 20, summary start, summary offset start, crc).
_FOOTER = struct.Struct("<BQQQI")
_FOOTER_SIZE = _FOOTER.size
_U64 = struct.Struct("<Q")
_COMPRESSIONS = ("", "zstd", "lz4")
_KNOWN_OPCODES = frozenset(int(op) for op in Opcode)

try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover - zstandard ships with mcap's recommended extras
    _zstd = None
try:
    import lz4.frame as _lz4
except ImportError:  # pragma: no cover
    _lz4 = None


class NotMcapError(ValueError):
    """The file is not an MCAP file (missing magic) or unreadable from the start."""


class _DamagedError(Exception):
    """A record that cannot be read (internal)."""


@dataclass
class ScanState:
    """What a scan has seen; final once the message iterator is exhausted. ``status`` is
    ``complete``, ``truncated``, ``damaged`` or ``damaged, truncated``."""

    path: str
    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    size: int = 0  # file size (bytes)
    footer: bool = False
    truncated: bool = False
    truncation: str = ""  # where and why the file ends early ("" if it does not)
    truncated_at: int | None = None  # byte where the first incomplete record starts
    bytes_read: int = 0  # end of the last intact record (bytes)
    damaged: list[tuple[int, int]] = field(default_factory=list)  # skipped [start, end)
    damage: list[str] = field(default_factory=list)  # why each range was skipped
    chunks: int = 0  # intact chunks read
    messages: int = 0  # messages recovered (yielded)
    messages_unknown_channel: int = 0  # messages skipped: channel record lost
    expected_messages: int | None = None  # messages written, from an intact summary

    @property
    def status(self) -> str:
        """``complete``, ``truncated``, ``damaged`` or ``damaged, truncated``."""
        parts = (["damaged"] if self.damaged else []) + (["truncated"] if self.truncated else [])
        return ", ".join(parts) or "complete"

    def describe(self) -> str:
        """One paragraph: status, truncation, damaged ranges, messages recovered."""
        if self.status == "complete":
            return f"complete ({self.messages} messages)"
        text = [self.status]
        if self.truncated:
            text.append(self.truncation)
        for (a, b), why in zip(self.damaged, self.damage, strict=True):
            text.append(f"bytes {a}..{b} damaged ({why})")
        of = f" of {self.expected_messages}" if self.expected_messages is not None else ""
        text.append(f"{self.messages}{of} messages recovered from {self.chunks} intact chunks")
        return "; ".join(text)


def _decompress(compression: str, data: bytes | memoryview, size: int) -> bytes:
    """The chunk's records, decompressed to exactly ``size`` bytes (bounded)."""
    if compression == "":
        out = bytes(data)
    elif compression == "zstd":
        if _zstd is None:  # pragma: no cover
            raise _DamagedError("zstd compression but zstandard is not installed")
        with _zstd.ZstdDecompressor().stream_reader(bytes(data)) as reader:
            out = reader.read(size + 1)
    elif compression == "lz4":
        if _lz4 is None:  # pragma: no cover
            raise _DamagedError("lz4 compression but lz4 is not installed")
        out = _lz4.LZ4FrameDecompressor().decompress(bytes(data), max_length=size + 1)
    else:
        raise _DamagedError(f"unknown compression {compression!r}")
    if len(out) != size:
        raise _DamagedError(f"chunk decompresses to {len(out)} bytes, its header says {size}")
    return out


def _chunk_header(mm: mmap.mmap, pos: int, size: int) -> tuple[int, int, int, str, int] | None:
    """(end, uncompressed size, crc, compression, data start) of a plausible chunk record
    at ``pos``, or None if the bytes there cannot start one."""
    if pos + _HEADER + _CHUNK_FIXED.size > size or mm[pos] != Opcode.CHUNK:
        return None
    (length,) = _U64.unpack_from(mm, pos + 1)
    end = pos + _HEADER + length
    if end > size or length < _CHUNK_FIXED.size + 8:
        return None
    t0, t1, usize, crc, clen = _CHUNK_FIXED.unpack_from(mm, pos + _HEADER)
    if t0 > t1 or usize > MAX_CHUNK_BYTES or clen > 8:
        return None
    c0 = pos + _HEADER + _CHUNK_FIXED.size
    try:
        compression = bytes(mm[c0 : c0 + clen]).decode("ascii")
    except UnicodeDecodeError:
        return None
    if compression not in _COMPRESSIONS:
        return None
    (dlen,) = _U64.unpack_from(mm, c0 + clen)
    start = c0 + clen + 8
    if start + dlen != end:
        return None
    return end, usize, crc, compression, start


def _chunk_records(mm: mmap.mmap, pos: int, size: int) -> tuple[int, list]:
    """(end, records) of an intact chunk at ``pos``; ``_DamagedError`` if it is not one."""
    head = _chunk_header(mm, pos, size)
    if head is None:
        raise _DamagedError("malformed chunk header")
    end, usize, crc, compression, start = head
    try:
        data = _decompress(compression, memoryview(mm)[start:end], usize)
    except _DamagedError:
        raise
    except Exception as exc:  # zstd / lz4 errors on damaged data
        raise _DamagedError(f"chunk does not decompress: {exc}") from exc
    if crc != 0 and zlib.crc32(data) != crc:
        raise _DamagedError("chunk CRC mismatch")
    stream = ReadDataStream(BytesIO(data))
    records: list = []
    try:
        while stream.count < len(data):
            op = stream.read1()
            length = stream.read8()
            if stream.count + length > len(data):
                raise _DamagedError("a record inside the chunk runs past its end")
            if op == Opcode.MESSAGE:
                records.append(Message.read(stream, length))
            elif op == Opcode.CHANNEL:
                records.append(Channel.read(stream))
            elif op == Opcode.SCHEMA:
                records.append(Schema.read(stream))
            else:
                stream.read(length)
    except _DamagedError:
        raise
    except Exception as exc:  # struct / unicode errors in a chunk without a CRC
        raise _DamagedError(f"malformed record inside the chunk: {exc}") from exc
    return end, records


#: Record opcode -> how its body is read (body stream, body length); others are skipped.
_READERS: dict[int, Callable[[ReadDataStream, int], object]] = {
    Opcode.SCHEMA: lambda body, n: Schema.read(body),
    Opcode.CHANNEL: lambda body, n: Channel.read(body),
    Opcode.METADATA: lambda body, n: Metadata.read(body),
    Opcode.FOOTER: lambda body, n: Footer.read(body),
    Opcode.STATISTICS: lambda body, n: Statistics.read(body),
    Opcode.CHUNK_INDEX: lambda body, n: ChunkIndex.read(body),
    Opcode.MESSAGE: Message.read,
}


def _read_record(mm: mmap.mmap, pos: int, op: int, end: int):
    """The record (Schema, Channel, Metadata, Footer, Statistics, ChunkIndex, Message)
    whose body is ``mm[pos + 9 : end]``; other record types are skipped (None)."""
    read = _READERS.get(op)
    if read is None:
        return None
    try:
        return read(ReadDataStream(BytesIO(mm[pos + _HEADER : end])), end - pos - _HEADER)
    except Exception as exc:  # short or malformed body
        raise _DamagedError(f"malformed {Opcode(op).name.lower()} record: {exc}") from exc


@dataclass
class _Summary:
    """What an intact footer and summary section give."""

    start: int  # summary start = end of the data section (bytes)
    footer_pos: int
    chunk_offsets: list[int]
    schemas: dict[int, Schema]
    channels: dict[int, Channel]
    message_count: int | None


def _read_summary(mm: mmap.mmap, size: int) -> _Summary | None:
    """The summary of a file that ends with an intact footer and magic, else None."""
    footer_pos = size - MAGIC_SIZE - _FOOTER_SIZE
    if footer_pos < MAGIC_SIZE or mm[size - MAGIC_SIZE : size] != MCAP_MAGIC:
        return None
    op, length, start, _offsets, crc = _FOOTER.unpack_from(mm, footer_pos)
    if op != Opcode.FOOTER or length != 20 or not MAGIC_SIZE <= start <= footer_pos:
        return None  # not a footer, or one without a summary section (start 0)
    if crc != 0 and zlib.crc32(mm[start : footer_pos + _FOOTER_SIZE - 4]) != crc:
        return None
    summary = _Summary(start, footer_pos, [], {}, {}, None)
    pos = start
    try:
        while pos < footer_pos:
            if pos + _HEADER > footer_pos:
                return None
            op = mm[pos]
            (length,) = _U64.unpack_from(mm, pos + 1)
            end = pos + _HEADER + length
            if end > footer_pos:
                return None
            rec = _read_record(mm, pos, op, end)
            if isinstance(rec, Schema):
                summary.schemas[rec.id] = rec
            elif isinstance(rec, Channel):
                summary.channels[rec.id] = rec
            elif isinstance(rec, ChunkIndex):
                summary.chunk_offsets.append(rec.chunk_start_offset)
            elif isinstance(rec, Statistics):
                summary.message_count = rec.message_count
            pos = end
    except _DamagedError:
        return None
    summary.chunk_offsets.sort()
    return summary


class _Walker:
    """The record walk of one file (see the module doc)."""

    def __init__(self, mm: mmap.mmap, st: ScanState, known: dict[int, Channel]) -> None:
        self.mm = mm
        self.st = st
        self.size = st.size
        self.known = known
        self.summary = _read_summary(mm, self.size)
        if self.summary is not None:
            st.expected_messages = self.summary.message_count
        self.data_end = False  # the walk is past the data section (in the summary)

    def channel(self, cid: int) -> Channel | None:
        """The channel of id ``cid``: from the file, its summary or the caller's table."""
        ch = self.st.channels.get(cid)
        if ch is None and self.summary is not None:
            ch = self.summary.channels.get(cid)
            if ch is not None:
                self.st.channels[cid] = ch
                sid = ch.schema_id
                if sid in self.summary.schemas:
                    self.st.schemas.setdefault(sid, self.summary.schemas[sid])
        return ch if ch is not None else self.known.get(cid)

    def resync(self, pos: int) -> int | None:
        """The offset of the next intact chunk after ``pos``, or None."""
        if self.summary is not None:
            for off in self.summary.chunk_offsets:
                if off > pos and _chunk_header(self.mm, off, self.size) is not None:
                    return off
            return None
        find = self.mm.find
        cand = find(bytes([Opcode.CHUNK]), pos + 1)
        while cand != -1:
            if _chunk_header(self.mm, cand, self.size) is not None:
                try:
                    _chunk_records(self.mm, cand, self.size)
                    return cand
                except _DamagedError:
                    pass
            cand = find(bytes([Opcode.CHUNK]), cand + 1)
        return None

    def damaged(self, pos: int, why: str, nxt: int | None = -1) -> int | None:
        """Record damage from ``pos`` (``nxt``: the next intact chunk if already looked
        up); where to continue (None: nothing more to read)."""
        st = self.st
        if nxt == -1:
            nxt = self.resync(pos)
        if nxt is not None:
            st.damaged.append((pos, nxt))
            st.damage.append(why)
            return nxt
        if self.summary is not None:  # the data section ends where the summary starts
            if pos < self.summary.start:
                st.damaged.append((pos, self.summary.start))
                st.damage.append(why)
            st.footer = True
            return None
        if self.data_end:  # every chunk was read: the summary section is damaged
            st.damaged.append((pos, self.size))
            st.damage.append(f"summary section: {why}")
            return None
        st.truncated = True
        st.truncated_at = pos
        st.truncation = (
            f"truncated at byte {pos} of {self.size}: no intact record from there to the end "
            f"({why})"
        )
        return None

    def end_early(self, pos: int, what: str) -> None:
        st = self.st
        st.truncated = True
        st.truncated_at = pos
        st.truncation = f"truncated at byte {pos} of {self.size}: {what}"

    def messages(self) -> Iterator[tuple[Channel, Message]]:
        mm, st, size = self.mm, self.st, self.size
        pos: int | None = MAGIC_SIZE
        st.bytes_read = MAGIC_SIZE
        while pos is not None:
            if pos == size:
                self.end_early(pos, "the file ends there without a footer")
                return
            if pos + _HEADER > size:
                self.end_early(pos, "the file ends inside a record header")
                return
            op = mm[pos]
            (length,) = _U64.unpack_from(mm, pos + 1)
            end = pos + _HEADER + length
            if op not in _KNOWN_OPCODES:
                pos = self.damaged(pos, f"byte {op:#04x} is not a record opcode")
                continue
            if end > size:
                nxt = self.resync(pos)
                if nxt is None and self.summary is None:
                    name = Opcode(op).name.lower()
                    self.end_early(pos, f"the {name} record there ({length} bytes) is incomplete")
                    return
                pos = self.damaged(pos, f"record length {length} runs past the end", nxt)
                continue
            try:
                if op == Opcode.CHUNK:
                    _, records = _chunk_records(mm, pos, size)
                    st.chunks += 1
                else:
                    records = [_read_record(mm, pos, op, end)]
            except _DamagedError as exc:
                if op == Opcode.CHUNK and _chunk_header(mm, pos, size) is not None:
                    st.damaged.append((pos, end))  # its frame is sound: only it is lost
                    st.damage.append(str(exc))
                    pos = end
                else:
                    pos = self.damaged(pos, str(exc))
                continue
            st.bytes_read = end
            for rec in records:
                if isinstance(rec, Schema):
                    st.schemas[rec.id] = rec
                elif isinstance(rec, Channel):
                    st.channels[rec.id] = rec
                elif isinstance(rec, Metadata):
                    st.metadata[rec.name] = dict(rec.metadata)
                elif isinstance(rec, Message):
                    ch = self.channel(rec.channel_id)
                    if ch is None:
                        st.messages_unknown_channel += 1
                        continue
                    st.messages += 1
                    yield ch, rec
                elif isinstance(rec, Footer):
                    st.footer = True
                    tail = mm[end:size]
                    if tail != MCAP_MAGIC:
                        if MCAP_MAGIC.startswith(tail):
                            self.end_early(end, "the closing magic is incomplete (data intact)")
                        else:
                            st.damaged.append((end, size))
                            st.damage.append("bytes after the footer are not the closing magic")
                    return
            if op == Opcode.DATA_END:
                self.data_end = True
                if self.summary is not None:
                    pos = self.summary.footer_pos  # the summary was read already
                    continue
            pos = end


def scan_mcap(
    path: str | Path,
    state: ScanState | None = None,
    known_channels: dict[int, Channel] | None = None,
) -> Iterator[tuple[Channel, Message]]:
    """Yield (channel, message) for every message of every intact chunk in file order.
    Fills ``state`` (schemas, channels, metadata, truncation, damaged ranges, counts).
    ``known_channels`` stand in for channel records lost to damage. Raises
    ``NotMcapError`` if the file is not MCAP, ``FileNotFoundError`` if it is missing."""
    path = Path(path)
    st = state if state is not None else ScanState(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"recording not found: {path}")
    with open(path, "rb") as f:
        st.size = size = path.stat().st_size
        if size < MAGIC_SIZE or f.read(MAGIC_SIZE) != MCAP_MAGIC:
            raise NotMcapError(
                f"{path} is not an MCAP file (it does not start with the MCAP magic)"
            )
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            yield from _Walker(mm, st, known_channels or {}).messages()
