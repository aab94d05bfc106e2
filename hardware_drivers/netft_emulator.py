"""An emulated ATI Net F/T speaking RDT on a loopback UDP port.

The device side: 8-byte requests (header 0x1234) start real-time streaming to the sender
(a newer client takes over, as on the sensor), stop it, or set the software bias (the
current reading becomes zero). While streaming it sends one 36-byte record per sample
at ``rate_hz`` (internal clock) or per ``emit`` call (``paced``, the lockstep simulation;
a start request is then answered with one record of ``wrench()`` at once),
``rdt_sequence`` counting every record sent (from ``first_sequence``, wrapping at 2^32),
forces and torques as int32 counts with the configured counts per unit.

Faults (thread-safe): ``drop(n)`` loses the next n records on the network (their sequence
numbers are used, so the driver sees a gap), ``status_error(word, n)`` sends n records with
a non-zero status word, ``truncate(n)`` sends n short datagrams, ``duplicate(n)`` sends the
previous record again n times (late packets), ``stall(s)`` sends nothing for s seconds
(sequence numbers still advance), ``reset(s)`` restarts the sensor: silent for s, then it
has forgotten its client, its bias and its sequence (back to ``first_sequence``) and
waits for a new start request.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hardware_drivers.device_emulator import DeviceEmulator
from hardware_drivers.netft_rdt import (
    CMD_SET_BIAS,
    CMD_START_REALTIME,
    CMD_STOP,
    HEADER,
    REQUEST,
    counts_for,
    encode_record,
)

#: Longest the device thread sleeps waiting for a request (s).
IDLE_WAIT_S = 0.01
#: Internal F/T samples per RDT record (the sensor samples at 7 kHz).
FT_SAMPLES_PER_RECORD = 7


@dataclass
class NetFtEmulatorStats:
    """What the emulated sensor did."""

    records_sent: int = 0
    records_dropped: int = 0
    status_errors_sent: int = 0
    truncated_sent: int = 0
    duplicates_sent: int = 0
    requests: int = 0
    bad_requests: int = 0
    biases: int = 0
    resets: int = 0
    clients: int = 0  # start requests from a new address (take-overs)


class NetFtEmulator(DeviceEmulator):
    """A Net F/T on ``host``:``port`` (0 = any free port; see ``address`` after
    ``start``). ``wrench()`` gives the wrench the sensor measures [N, N·m]."""

    def __init__(
        self,
        wrench: Callable[[], np.ndarray] | None = None,
        *,
        rate_hz: float = 1000.0,
        host: str = "127.0.0.1",
        port: int = 0,
        counts_per_force: float = 1e6,
        counts_per_torque: float = 1e6,
        paced: bool = False,
        first_sequence: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self._wrench = wrench or (lambda: np.zeros(6))
        self.period = 1.0 / rate_hz
        self.cpf = counts_per_force
        self.cpt = counts_per_torque
        self.paced = paced
        self.first_sequence = first_sequence
        self._bind = (host, port)
        self._rng = np.random.default_rng(seed)
        self.stats = NetFtEmulatorStats()
        self.address: tuple[str, int] = (host, port)
        self._sock: socket.socket | None = None
        self._client: tuple[str, int] | None = None
        self._remaining = 0  # records left to send (-1 = until stopped)
        self._rdt_seq = first_sequence
        self._ft_seq = 0
        self._bias = np.zeros(6)
        self._last_record = b""
        self._drop = 0
        self._status = (0, 0)  # (word, records left)
        self._truncate = 0
        self._duplicate = 0
        self._next_due = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> NetFtEmulator:
        """Bind the UDP port and run the device thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(self._bind)
        sock.setblocking(False)
        self._sock = sock
        self.address = sock.getsockname()
        self._start_thread("netft-emulator")
        return self

    def close(self) -> None:
        """Stop the device thread and close the port."""
        self._stop_thread()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def streaming(self) -> bool:
        """True while a client is being streamed to."""
        return self._client is not None and self._remaining != 0

    # -- faults ---------------------------------------------------------------------------
    def drop(self, n: int = 1) -> None:
        """Lose the next ``n`` records on the network."""
        with self._lock:
            self._drop += n

    def status_error(self, word: int = 0x80000000, n: int = 1) -> None:
        """Send the next ``n`` records with status ``word``."""
        with self._lock:
            self._status = (word, n)

    def truncate(self, n: int = 1) -> None:
        """Send the next ``n`` records as short datagrams."""
        with self._lock:
            self._truncate += n

    def duplicate(self, n: int = 1) -> None:
        """Send the previous record again ``n`` times (late packets)."""
        with self._lock:
            self._duplicate += n

    def reset(self, boot_s: float = 0.3) -> None:
        """Restart the sensor: silent for ``boot_s``, then idle with its sequence, bias and
        client forgotten."""
        with self._lock:
            self.stats.resets += 1
            self._client = None
            self._remaining = 0
            self._rdt_seq = self.first_sequence
            self._bias[:] = 0.0
            self._booting_until = time.monotonic() + boot_s

    # -- paced streaming ------------------------------------------------------------------
    def emit(self, wrench: np.ndarray) -> bool:
        """Send one record of ``wrench`` now (``paced`` mode); False when not streaming."""
        with self._lock:
            if not self._can_stream(time.monotonic()):
                return False
            self._send_record(wrench)
            return True

    # -- device thread --------------------------------------------------------------------
    def _run(self) -> None:
        sock = self._sock
        while not self._stop.is_set():
            wait = IDLE_WAIT_S
            if not self.paced and self.streaming:
                wait = min(wait, self._next_due - time.monotonic())
            ready, _, _ = select.select([sock], [], [], max(0.0, wait))
            with self._lock:
                if ready:
                    self._receive()
                now = time.monotonic()
                if self._booting_until and now >= self._booting_until:
                    self._booting_until = 0.0
                if not self.paced and self.streaming and now >= self._next_due:
                    while self._next_due <= now and self.streaming:
                        if self._can_stream(self._next_due):
                            self._send_record(self._wrench())
                        else:  # stalled: the record is produced but never arrives
                            self._rdt_seq += 1
                        self._next_due += self.period

    def _receive(self) -> None:
        try:
            data, addr = self._sock.recvfrom(64)
        except (BlockingIOError, OSError):
            return
        if time.monotonic() < self._booting_until:
            return  # restarting: deaf
        if len(data) != REQUEST.size:
            self.stats.bad_requests += 1
            return
        header, command, count = REQUEST.unpack(data)
        if header != HEADER:
            self.stats.bad_requests += 1
            return
        self.stats.requests += 1
        if command == CMD_START_REALTIME:
            if addr != self._client:
                self.stats.clients += 1
            self._client = addr
            self._remaining = count if count > 0 else -1
            self._next_due = time.monotonic() + self.period
            if self.paced:  # the sensor answers a start at once; later records come by emit
                self._send_record(self._wrench())
        elif command == CMD_STOP:
            self._remaining = 0
        elif command == CMD_SET_BIAS:
            self.stats.biases += 1
            self._bias[:] = np.asarray(self._wrench(), dtype=float)
        else:
            self.stats.bad_requests += 1

    def _can_stream(self, now: float) -> bool:
        return self.streaming and now >= self._silent_until and now >= self._booting_until

    def _send_record(self, wrench: np.ndarray) -> None:
        seq = self._rdt_seq
        self._rdt_seq = (self._rdt_seq + 1) & 0xFFFFFFFF
        self._ft_seq += FT_SAMPLES_PER_RECORD
        if self._remaining > 0:
            self._remaining -= 1
        if self._drop:
            self._drop -= 1
            self.stats.records_dropped += 1
            return
        word, left = self._status
        if left:
            self._status = (word, left - 1)
            self.stats.status_errors_sent += 1
        else:
            word = 0
        counts = counts_for(np.asarray(wrench, dtype=float) - self._bias, self.cpf, self.cpt)
        record = encode_record(seq, self._ft_seq, word, counts)
        if self._truncate:
            self._truncate -= 1
            self.stats.truncated_sent += 1
            record = record[: int(self._rng.integers(1, len(record)))]
        self._sendto(record)
        self.stats.records_sent += 1
        while self._duplicate and self._last_record:
            self._duplicate -= 1
            self.stats.duplicates_sent += 1
            self._sendto(self._last_record)
        self._last_record = record

    def _sendto(self, data: bytes) -> None:
        try:
            self._sock.sendto(data, self._client)
        except (BlockingIOError, OSError):  # the client's buffer is full or it is gone
            self.stats.records_dropped += 1
