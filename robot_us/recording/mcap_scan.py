"""A linear, crash-tolerant scan of an MCAP file: every record from the start up to the
footer, or up to the first incomplete or corrupt record of a file whose writer died.
mcap's ``StreamReader`` (chunk CRCs checked) parses the records; it takes a chunk whole
(a chunk whose bytes are short or whose CRC fails ends the scan), so a truncated file
yields exactly the messages of its complete chunks. The file's summary and index are not
needed (a killed writer never wrote them)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mcap.exceptions import EndOfFile, McapError, RecordLengthLimitExceeded
from mcap.records import Channel, Footer, Message, Metadata, Schema
from mcap.stream_reader import MAGIC_SIZE, CRCValidationError, StreamReader

try:  # decompression errors of a damaged chunk
    from zstandard import ZstdError as _ZstdError
except ImportError:  # pragma: no cover - zstandard ships with mcap's recommended extras
    _ZstdError = RuntimeError  # type: ignore[assignment,misc]

#: The 8-byte MCAP magic.
MCAP_MAGIC = b"\x89MCAP0\r\n"
#: Errors of a damaged or cut record (mcap raises ``EndOfFile`` at the end of the file).
_DAMAGE = (
    struct.error,
    McapError,
    CRCValidationError,
    UnicodeDecodeError,
    zlib.error,
    ValueError,
    RuntimeError,
    _ZstdError,
)


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
    bytes_read: int = 0  # end of the last complete record (bytes)


def _reason(exc: Exception, offset: int, size: int) -> str:
    """Why a scan stopped at ``offset`` (end of the last complete record) in a file of
    ``size`` bytes."""
    if isinstance(exc, EndOfFile):
        where = "at" if offset == size else "inside the record after"
        return f"file ends {where} byte {offset} without a footer"
    if isinstance(exc, RecordLengthLimitExceeded):
        return f"record after byte {offset} runs past the end of the file ({size} bytes): {exc}"
    return f"corrupt record after byte {offset}: {exc}"


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
        if f.read(MAGIC_SIZE) != MCAP_MAGIC:
            raise NotMcapError(
                f"{path} is not an MCAP file (it does not start with the MCAP magic)"
            )
        f.seek(0)
        # a record longer than the file is corruption: never allocate for it
        reader = StreamReader(f, validate_crcs=True, record_size_limit=size)
        st.bytes_read = MAGIC_SIZE  # end of the last complete record
        records = reader.records
        while True:
            try:
                rec = next(records)
            except StopIteration:
                return
            except _DAMAGE as exc:  # EndOfFile, RecordLengthLimitExceeded: McapErrors
                if not st.footer:  # after the footer only the closing magic can be cut
                    st.truncated = True
                    st.truncation = _reason(exc, st.bytes_read, size)
                return
            st.bytes_read = f.tell()
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
                        f"message before byte {st.bytes_read} refers to unknown channel "
                        f"{rec.channel_id}"
                    )
                    return
                yield ch, rec
            elif isinstance(rec, Footer):
                st.footer = True
