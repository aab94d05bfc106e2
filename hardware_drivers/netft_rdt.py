"""ATI Net F/T (and Axia / Schunk FTN) over UDP with the Raw Data Transfer protocol (RDT).

Requests are 8 bytes, big-endian: ``0x1234``, command (0 stop, 2 start real-time streaming,
0x42 set software bias), sample count (0 = until stopped). Each streamed datagram is one
36-byte record: rdt_sequence, ft_sequence, status (uint32), then Fx Fy Fz Tx Ty Tz as int32
counts. Forces are counts / counts-per-force and torques counts / counts-per-torque; both
come from the sensor's calibration (``http://<sensor>/netftapi2.xml``: ``cfgcpf``,
``cfgcpt``), so they are configuration (``hardware.ft.counts_per_force`` ...), never
constants here.

The reader thread checks every record: a wrong size is a bad packet; a non-zero status
word is a sensor error (counted, the sample is not used, so its age grows and the
staleness layer stops the arm if the error lasts); a jump in ``rdt_sequence`` is lost
packets (differences are taken modulo 2^32, so the counter's rollover is not a gap); a
small step back is a late or duplicated packet (dropped); a large step back is the
sensor restarting (counted, accepted). UDP may lose the start request, so it is sent up to
10 times, 100 ms apart, and again whenever the stream stalls (the sensor forgets its
client when it restarts; only the newest client is served).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hardware_drivers.config import HardwareConfig
from hardware_drivers.wrench_stream import ThreadedWrenchSensor
from robot_us.core.backends import BackendError

#: UDP port of RDT on the sensor.
RDT_PORT = 49152
#: Request header and commands.
HEADER = 0x1234
CMD_STOP = 0x0000
CMD_START_REALTIME = 0x0002
CMD_SET_BIAS = 0x0042
REQUEST = struct.Struct(">HHI")
#: One streamed record.
RECORD = struct.Struct(">IIIiiiiii")
RECORD_SIZE = RECORD.size  # 36
#: Start request retries (UDP may drop it) and the wait for a record after each (s).
START_TRIES = 10
START_WAIT_S = 0.1
#: A step back in rdt_sequence larger than this is a sensor restart, smaller a late packet.
REORDER_WINDOW = 64
#: The reader thread waits at most this long for a datagram (s).
POLL_S = 0.005
#: Stream health: silent after this many sample periods (at least ``MIN_SILENT_S``).
SILENT_PERIODS = 20
MIN_SILENT_S = 0.05


def request(command: int, sample_count: int = 0) -> bytes:
    """An 8-byte RDT request."""
    return REQUEST.pack(HEADER, command, sample_count)


@dataclass(frozen=True)
class RdtRecord:
    """One decoded record (raw counts)."""

    rdt_sequence: int
    ft_sequence: int
    status: int
    counts: tuple[int, int, int, int, int, int]


def decode_record(data: bytes | bytearray | memoryview) -> RdtRecord | None:
    """The record in a datagram, or None when it is not exactly 36 bytes."""
    if len(data) != RECORD_SIZE:
        return None
    v = RECORD.unpack(data)
    return RdtRecord(v[0], v[1], v[2], v[3:])


def encode_record(rdt_sequence: int, ft_sequence: int, status: int, counts) -> bytes:
    """A 36-byte record (the emulator's side)."""
    return RECORD.pack(
        rdt_sequence & 0xFFFFFFFF, ft_sequence & 0xFFFFFFFF, status & 0xFFFFFFFF, *counts
    )


def sequence_step(previous: int, current: int) -> int:
    """``current - previous`` modulo 2^32 as a signed 32-bit number (1 = the next record)."""
    d = (current - previous) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


class AtiNetFt(ThreadedWrenchSensor):
    """A Net F/T at ``host`` as a ``WrenchSensor`` (call ``start()`` first). ``rate_hz`` is
    the RDT rate set on the sensor (``comrdtrate``); counts per N and per N·m from its
    calibration."""

    def __init__(
        self,
        host: str,
        *,
        port: int = RDT_PORT,
        counts_per_force: float = 1e6,
        counts_per_torque: float = 1e6,
        rate_hz: float = 1000.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        silent = max(MIN_SILENT_S, SILENT_PERIODS / rate_hz)
        super().__init__(clock, silent, 2 * silent)
        if counts_per_force <= 0 or counts_per_torque <= 0:
            raise ValueError("counts per force and per torque must be > 0")
        self.host = host
        self.port = port
        self.rate_hz = rate_hz
        self.device = f"ATI Net F/T at {host}:{port}"
        self.scale = np.array([1.0 / counts_per_force] * 3 + [1.0 / counts_per_torque] * 3)
        self._sock: socket.socket | None = None
        self._buf = bytearray(RECORD_SIZE + 1)
        self._w = np.zeros(6)
        self._last_seq: int | None = None

    # -- requests -------------------------------------------------------------------------
    def _send(self, command: int, sample_count: int = 0) -> None:
        self._sock.send(request(command, sample_count))

    def bias(self) -> None:
        """Ask the sensor to take the current reading as its zero (software bias)."""
        self._send(CMD_SET_BIAS)

    def _restart_stream(self) -> None:
        self._send(CMD_START_REALTIME)

    # -- set-up ---------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect((self.host, self.port))
        except (OSError, UnicodeError) as exc:
            raise BackendError(f"{self.device}: cannot reach the sensor ({exc})") from exc
        self._sock = sock
        try:
            for _ in range(START_TRIES):
                self._send(CMD_START_REALTIME)
                sock.settimeout(START_WAIT_S)
                if self._receive_one():
                    break
            else:
                raise BackendError(
                    f"{self.device}: no RDT record after {START_TRIES} start requests "
                    f"({START_TRIES * START_WAIT_S:.0f} s; check the address, that RDT is "
                    "enabled on the sensor's web page, and the firewall for UDP 49152)"
                )
        except BaseException:
            sock.close()
            raise
        sock.settimeout(POLL_S)

    # -- reader thread --------------------------------------------------------------------
    def _receive_one(self) -> bool:
        """Receive and handle one datagram; False on timeout."""
        try:
            n = self._sock.recv_into(self._buf)
        except TimeoutError:
            return False
        except ConnectionRefusedError:  # ICMP port unreachable: nothing listens there yet
            time.sleep(POLL_S)
            return False
        now = self.now()
        self._bytes_arrived(now)
        if n != RECORD_SIZE:
            self.stats.bad_packets += 1
            return True
        v = RECORD.unpack_from(self._buf)
        seq, status = v[0], v[2]
        st = self.stats
        if self._last_seq is not None:
            step = sequence_step(self._last_seq, seq)
            if step < 1:
                if step > -REORDER_WINDOW:
                    st.out_of_order += 1
                    return True
                st.device_resets += 1
            else:
                st.sequence_gaps += step - 1
        self._last_seq = seq
        if status != 0:
            st.status_errors += 1
            st.last_status_word = status
            return True
        w = self._w
        w[:] = v[3:]
        w *= self.scale
        st.arrivals += 1
        self._publish(w, now - self.wire_time_s)
        return True

    def _poll(self) -> None:
        self._receive_one()

    def _close(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            self._send(CMD_STOP)
        except OSError as exc:  # the network is gone: nothing left to stop
            self.close_error = exc
        finally:
            sock.close()

    @property
    def last_sequence(self) -> int | None:
        """The last accepted rdt_sequence."""
        return self._last_seq


def counts_for(wrench: np.ndarray, counts_per_force: float, counts_per_torque: float):
    """Raw int32 counts of ``wrench`` (N, N·m) for a sensor with these calibration factors."""
    scale = np.array([counts_per_force] * 3 + [counts_per_torque] * 3)
    c = np.clip(np.rint(np.asarray(wrench, dtype=float) * scale), -(2**31), 2**31 - 1)
    return tuple(int(x) for x in c)


def make_netft(hw: HardwareConfig, clock: Callable[[], float] = time.monotonic) -> AtiNetFt:
    """The Net F/T at ``hardware.ft.host`` (``FT_DRIVERS["ati-netft"]``)."""
    ft = hw.ft
    return AtiNetFt(
        ft.host,
        port=ft.udp_port,
        counts_per_force=ft.counts_per_force,
        counts_per_torque=ft.counts_per_torque,
        rate_hz=ft.rdt_rate_hz,
        clock=clock,
    )
