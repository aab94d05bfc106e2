"""The Robotiq FT 300 data stream: 16-byte frames sent at 100 Hz once streaming is started
(``0x20 0x4E``, Fx Fy Fz Mx My Mz as little-endian int16 in 1/100 N and 1/1000 N·m, then
the CRC-16/Modbus of the first 14 bytes, low byte first), and a parser that finds them in
a byte stream that may carry garbage, lost bytes or corrupted bytes.

The parser scans forward for the header; a 16-byte candidate whose CRC fails counts as a
CRC error and the scan resumes one byte later (so a frame that lost a byte costs itself
and nothing after it). Its buffer is bounded: less than one frame is kept between feeds.
"""

from __future__ import annotations

import struct

import numpy as np

from hardware_drivers.modbus_rtu import crc16_modbus

#: Frame layout.
HEADER = b"\x20\x4e"
FRAME_LENGTH = 16
#: Counts per newton (forces) and per newton metre (moments).
FORCE_COUNTS_PER_N = 100.0
TORQUE_COUNTS_PER_NM = 1000.0
#: Counts -> SI per axis [Fx Fy Fz Mx My Mz].
SCALE = np.array([1 / FORCE_COUNTS_PER_N] * 3 + [1 / TORQUE_COUNTS_PER_NM] * 3)
#: Largest magnitude a frame can carry per axis (N, N·m).
RANGE = 32767 * SCALE
#: Line settings and stream rate of the sensor.
BAUD = 19200
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
STREAM_RATE_HZ = 100.0
#: Time one frame takes on the wire at 19200 baud (s): 8.3 ms.
FRAME_WIRE_TIME_S = FRAME_LENGTH * BITS_PER_BYTE / BAUD

_VALUES = struct.Struct("<6h")


def encode_frame(wrench: np.ndarray) -> bytes:
    """One stream frame for ``wrench`` [Fx Fy Fz (N), Mx My Mz (N·m)], rounded to the
    sensor's resolution and saturated at the int16 range."""
    counts = np.clip(np.rint(np.asarray(wrench, dtype=float) / SCALE), -32768, 32767)
    body = HEADER + _VALUES.pack(*(int(c) for c in counts))
    return body + struct.pack("<H", crc16_modbus(body))


def decode_counts(counts: tuple[int, ...], out: np.ndarray) -> np.ndarray:
    """The wrench (N, N·m) of a frame's six raw counts, written into ``out``."""
    out[:] = counts
    out *= SCALE
    return out


class FrameParser:
    """Finds valid frames in a byte stream. ``feed`` returns the raw counts (six int16 per
    frame) of every valid frame completed by the new bytes, oldest first.

    Counters: ``frames`` valid frames, ``crc_errors`` header-led 16-byte candidates whose
    CRC failed, ``discarded_bytes`` bytes that were not part of a valid frame."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames = 0
        self.crc_errors = 0
        self.discarded_bytes = 0

    def reset(self) -> None:
        """Forget buffered bytes (counters are kept)."""
        self.discarded_bytes += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, ...]]:
        """Add received bytes; return the counts of the frames they completed."""
        buf = self._buf
        buf.extend(data)
        out: list[tuple[int, ...]] = []
        i, n = 0, len(buf)
        while n - i >= FRAME_LENGTH:
            j = buf.find(HEADER, i)
            if j < 0:  # keep a trailing 0x20: it may start the next header
                keep = n - 1 if buf[n - 1] == HEADER[0] else n
                self.discarded_bytes += keep - i
                i = keep
                break
            self.discarded_bytes += j - i
            i = j
            if n - j < FRAME_LENGTH:
                break
            crc = buf[j + 14] | (buf[j + 15] << 8)
            if crc16_modbus(buf[j : j + 14]) == crc:
                out.append(_VALUES.unpack_from(buf, j + 2))
                self.frames += 1
                i = j + FRAME_LENGTH
            else:
                self.crc_errors += 1
                self.discarded_bytes += 1
                i = j + 1
        del buf[:i]
        return out
