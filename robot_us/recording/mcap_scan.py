"""A linear, crash-tolerant scan of an MCAP file: every record from the start up to the
footer, or up to the first incomplete or corrupt record of a file whose writer died.
Chunks are taken whole (a chunk whose bytes are short or whose CRC fails ends the scan),
so a truncated file yields exactly the messages of its complete chunks.

Only the mcap package's record parsers are used; the file's summary and index are not
needed (a killed writer never wrote them)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mcap.data_stream import ReadDataStream
from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.records import Channel, Chunk, Footer, Message, Metadata, Schema
from mcap.stream_reader import MAGIC_SIZE, CRCValidationError, breakup_chunk

try:  # decompression errors of a damaged chunk
    from zstandard import ZstdError as _ZstdError
except ImportError:  # pragma: no cover - zstandard ships with mcap's recommended extras
    _ZstdError = RuntimeError  # type: ignore[assignment,misc]

#: The 8-byte MCAP magic.
MCAP_MAGIC = b"\x89MCAP0\r\n"
#: A record longer than this is treated as corruption (bytes).
MAX_RECORD_BYTES = 1 << 31


class NotMcapError(ValueError):
    """The file is not an MCAP file (missing magic) or unreadable from the start."""


@dataclass
class ScanState:
    """What a scan has seen so far; complete once the message iterator is exhausted."""

    path: str
    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    footer: bool = False
    truncated: bool = False
    truncation: str = ""
    chunks: int = 0
    bytes_read: int = 0


def _parse(opcode: int, body: bytes) -> object | None:
    stream = ReadDataStream(io.BytesIO(body))
    if opcode == Opcode.SCHEMA:
        return Schema.read(stream)
    if opcode == Opcode.CHANNEL:
        return Channel.read(stream)
    if opcode == Opcode.MESSAGE:
        return Message.read(stream, len(body))
    if opcode == Opcode.CHUNK:
        return Chunk.read(stream)
    if opcode == Opcode.METADATA:
        return Metadata.read(stream)
    if opcode == Opcode.FOOTER:
        return Footer.read(stream)
    return None  # header, indexes, statistics, attachments: not needed here


def scan_mcap(
    path: str | Path, state: ScanState | None = None
) -> Iterator[tuple[Channel, Message]]:
    """Yield (channel, message) for every message in file order. Fills ``state`` (schemas,
    channels, metadata, truncation). Raises ``NotMcapError`` if the file is not MCAP."""
    path = Path(path)
    st = state if state is not None else ScanState(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"recording not found: {path}")
    size = path.stat().st_size
    with open(path, "rb") as f:
        magic = f.read(MAGIC_SIZE)
        if magic != MCAP_MAGIC:
            raise NotMcapError(
                f"{path} is not an MCAP file (it does not start with the MCAP magic)"
            )
        offset = MAGIC_SIZE
        while True:
            head = f.read(9)
            if len(head) < 9:
                st.truncated = True
                st.truncation = (
                    f"file ends at byte {offset} without a footer"
                    if not head
                    else f"partial record header at byte {offset}"
                )
                break
            opcode, length = struct.unpack("<BQ", head)
            remaining = size - offset - 9
            if length > MAX_RECORD_BYTES or length > remaining:
                st.truncated = True
                st.truncation = (
                    f"record at byte {offset} (opcode 0x{opcode:02x}) declares {length} bytes, "
                    f"only {max(remaining, 0)} remain"
                )
                break
            body = f.read(length)
            try:
                record = _parse(opcode, body)
                records: list[object]
                if isinstance(record, Chunk):
                    records = list(breakup_chunk(record, validate_crc=True))
                    st.chunks += 1
                else:
                    records = [record]
            except (
                struct.error,
                McapError,
                CRCValidationError,
                UnicodeDecodeError,
                zlib.error,
                ValueError,
                RuntimeError,
                _ZstdError,
            ) as exc:
                st.truncated = True
                st.truncation = f"corrupt record at byte {offset} (opcode 0x{opcode:02x}): {exc}"
                break
            offset += 9 + length
            st.bytes_read = offset
            for rec in records:
                if isinstance(rec, Schema):
                    st.schemas[rec.id] = rec
                elif isinstance(rec, Channel):
                    st.channels[rec.id] = rec
                elif isinstance(rec, Metadata):
                    st.metadata[rec.name] = dict(rec.metadata)
                elif isinstance(rec, Message):
                    ch = st.channels.get(rec.channel_id)
                    if ch is None:
                        st.truncated = True
                        st.truncation = (
                            f"message at byte {offset} refers to unknown channel {rec.channel_id}"
                        )
                        return
                    yield ch, rec
                elif isinstance(rec, Footer):
                    st.footer = True
            if st.footer:
                break
