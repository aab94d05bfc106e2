"""An MCAP file writer whose data reaches the disk at least every flush period: the open
chunk is closed, the stream flushed and the file fsync'ed. A crash or ``kill -9`` leaves
a file without its summary and footer, readable (``mcap_scan.scan_mcap``) up to the last
complete chunk, so at most one flush period (plus the hand-over queue) is lost.

Not thread-safe: one thread (the recorder's writer thread) owns an instance.

The open chunk is closed with mcap's ``Writer.flush()`` (public since mcap 1.5).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mcap.writer import CompressionType, Writer

from robot_us.recording.channels import (
    CHANNELS,
    FORMAT_VERSION,
    MESSAGE_ENCODING,
    METADATA_CRC_KEY,
    METADATA_NAME,
    PROFILE,
    SCHEMA_ENCODING,
    metadata_crc,
    schema_bytes,
)

#: config value -> mcap compression
COMPRESSION: dict[str, CompressionType] = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}


class RecordingError(RuntimeError):
    """The recording could not be written (I/O error, closed writer, unknown topic)."""


class DurableMcapWriter:
    """Writes the robot-us channels to ``path``; ``sync()`` makes everything written so
    far durable; ``close()`` writes the summary and footer."""

    def __init__(
        self,
        path: str | Path,
        origin_ns: int,
        compression: str = "zstd",
        chunk_size: int = 4 * 1024 * 1024,
        metadata: dict[str, str] | None = None,
    ) -> None:
        if compression not in COMPRESSION:
            raise ValueError(f"unknown compression {compression!r}; use one of {list(COMPRESSION)}")
        self.path = Path(path)
        self.origin_ns = origin_ns
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        try:
            self._writer = Writer(
                self._file, chunk_size=chunk_size, compression=COMPRESSION[compression]
            )
            self._writer.start(profile=PROFILE, library="robot-us")
            meta = {"format_version": FORMAT_VERSION, "origin_ns": str(origin_ns)}
            meta.update(metadata or {})
            meta[METADATA_CRC_KEY] = metadata_crc(meta)
            self._writer.add_metadata(METADATA_NAME, meta)
            self._channel_ids: dict[str, int] = {}
            schema_ids: dict[str, int] = {}
            for ch in CHANNELS:
                if ch.schema not in schema_ids:
                    schema_ids[ch.schema] = self._writer.register_schema(
                        ch.schema, SCHEMA_ENCODING, schema_bytes(ch.schema)
                    )
                self._channel_ids[ch.topic] = self._writer.register_channel(
                    ch.topic, MESSAGE_ENCODING, schema_ids[ch.schema]
                )
        except BaseException:
            self._file.close()
            raise
        self._seq: dict[str, int] = dict.fromkeys(self._channel_ids, 0)
        self.messages: dict[str, int] = dict.fromkeys(self._channel_ids, 0)
        self.bytes_in = 0  # uncompressed message payload bytes
        self.syncs = 0
        self.sync_s_max = 0.0
        self.closed = False
        self.sync()  # header, metadata, schemas and channels on disk from the start

    def write(self, topic: str, log_time_ns: int, data: bytes) -> None:
        """Append one message (``data``: JSON bytes) on ``topic`` at ``log_time_ns``."""
        if self.closed:
            raise RecordingError(f"write to {self.path} after close")
        cid = self._channel_ids.get(topic)
        if cid is None:
            raise RecordingError(f"unknown recording topic {topic!r}")
        self._seq[topic] += 1
        self._writer.add_message(
            channel_id=cid,
            log_time=log_time_ns,
            data=data,
            publish_time=log_time_ns,
            sequence=self._seq[topic],
        )
        self.messages[topic] += 1
        self.bytes_in += len(data)

    def sync(self) -> None:
        """Close the open chunk (if any), flush and fsync: all written messages are durable."""
        if self.closed:
            return
        t0 = time.perf_counter()
        self._writer.flush()  # closes the open chunk, flushes the stream
        os.fsync(self._file.fileno())
        self.syncs += 1
        self.sync_s_max = max(self.sync_s_max, time.perf_counter() - t0)

    def close(self) -> None:
        """Write the summary section and footer, fsync and close the file (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def bytes_on_disk(self) -> int:
        """Current file size (bytes)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def stats(self) -> dict[str, object]:
        """Messages per topic, payload bytes, syncs (JSON-ready)."""
        return {
            "messages": {k: v for k, v in self.messages.items() if v},
            "bytes_in": self.bytes_in,
            "syncs": self.syncs,
            "sync_ms_max": round(self.sync_s_max * 1e3, 3),
        }


def metadata_json(obj: object) -> str:
    """A metadata value (MCAP metadata is str -> str) as compact JSON."""
    return json.dumps(obj, separators=(",", ":"))
