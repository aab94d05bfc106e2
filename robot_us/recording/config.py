"""Configuration of the scan recorder (MCAP writer thread)."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param


@dataclass(frozen=True)
class RecordingConfig:
    """How a scan is recorded: durability window, chunking, queue sizes, decimation."""

    flush_period_s: float = param(
        0.5,
        lo=0.05,
        hi=1.0,
        unit="s",
        doc="close the open chunk, flush and fsync at least this often (max data lost on a crash)",
    )
    chunk_size: int = param(
        4 * 1024 * 1024,
        lo=64 * 1024,
        hi=256 * 1024 * 1024,
        unit="bytes",
        doc="close a chunk earlier when it holds this many uncompressed bytes",
    )
    compression: str = param("zstd", choices=("zstd", "lz4", "none"), doc="chunk compression")
    state_rate_hz: float = param(
        100.0, lo=1.0, hi=1000.0, unit="Hz", doc="rate of the decimated /state and /probe/pose"
    )
    raw_state: bool = param(True, doc="also record every state row, packed (/state/raw)")
    drain_period_s: float = param(
        0.02, lo=0.001, hi=0.5, unit="s", doc="how often the recorder drains the state log"
    )
    queue_capacity: int = param(
        512, lo=8, hi=100_000, unit="messages", doc="bounded hand-over queue to the writer"
    )
    put_timeout_s: float = param(
        0.5,
        lo=0.0,
        hi=10.0,
        unit="s",
        doc="a producer waits at most this long for queue space, then the item is dropped",
    )
    event_capacity: int = param(
        4096, lo=16, hi=1_000_000, unit="events", doc="bounded loop-safe event buffer"
    )
    state_events: bool = param(
        True, doc="derive transition/fault events from changes of state id and fault code"
    )
