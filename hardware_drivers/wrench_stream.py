"""What every threaded F/T driver shares: a reader thread at the device's rate publishes
each sample into a one-sample slot; the control loop's ``read`` copies the newest sample
and its age out of the slot without waiting for the device.

Real-time contract of ``read`` (called every control cycle): one lock acquisition that the
reader thread holds only for a 6-float copy (a few microseconds at worst), no allocation,
no I/O. The sample's time ``t`` is when it was measured on the driver's clock (arrival
minus its time on the wire); ``read`` fills ``WrenchSample.age`` = clock() - t, which is
what the wrench-staleness safety layer compares with ``safety.wrench_timeout``. Before the
first sample the age is infinite, so a loop started too early faults at once.

Link health (``status``): a driver notes when bytes and valid samples last arrived; no bytes
for ``silent_after`` s means the stream is lost, bytes without a valid sample for
``invalid_after`` s means a bad link (the Robotiq defaults: 80 ms and 160 ms).
"""

from __future__ import annotations

import math
import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from robot_us.core.backends import BackendError, WrenchSensor
from robot_us.core.types import WrenchSample

#: How long ``close`` waits for the reader thread (s).
JOIN_TIMEOUT_S = 2.0
#: While stalled, the stream start is re-sent every this many ``silent_after`` periods.
RESTART_INTERVAL_PERIODS = 5


class LinkStatus(StrEnum):
    """Health of a sensor's stream."""

    STARTING = "starting"  # no sample yet
    STREAMING = "streaming"
    SILENT = "silent"  # no bytes for longer than silent_after: stream lost
    INVALID = "invalid"  # bytes but no valid sample for longer than invalid_after: bad link
    FAILED = "failed"  # the reader thread stopped on an error (see ``error``)
    CLOSED = "closed"


@dataclass
class StreamStats:
    """Counters of a driver's stream since it was opened (a snapshot)."""

    samples: int = 0  # valid samples published
    arrivals: int = 0  # reads that delivered at least one sample (bursts count once)
    crc_errors: int = 0  # frames rejected by their checksum
    discarded_bytes: int = 0  # bytes that were not part of a valid frame
    sequence_gaps: int = 0  # lost samples detected from the device's sequence number
    out_of_order: int = 0  # samples older than the newest one (dropped)
    status_errors: int = 0  # samples whose device status word reported an error
    last_status_word: int = 0  # the last non-zero device status word
    bad_packets: int = 0  # datagrams of the wrong size
    stalls: int = 0  # times the stream went silent or invalid
    restarts: int = 0  # stream start requests re-sent after a stall or a device reset
    device_resets: int = 0  # device restarts detected (sequence number jumped back)


class ThreadedWrenchSensor(WrenchSensor):
    """Base of the F/T drivers: the sample slot, the reader thread and link health.
    Subclasses implement ``_open`` (connect and start streaming), ``_poll`` (wait up to
    ``poll_s`` for data and publish what arrived) and ``_close``."""

    #: nominal sample rate of the device (Hz); set by the subclass
    rate_hz: float = 0.0
    #: time a sample spends on the wire before it arrives (s)
    wire_time_s: float = 0.0
    #: what the driver talks to, for messages (e.g. "Robotiq FT 300 on /dev/ttyUSB0")
    device: str = "F/T sensor"

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        silent_after: float = 0.08,
        invalid_after: float = 0.16,
    ) -> None:
        self._clock = clock
        self.silent_after = silent_after
        self.invalid_after = invalid_after
        self._lock = threading.Lock()
        self._published = threading.Condition(self._lock)
        self._wrench = np.zeros(6)
        self._t = -math.inf
        self._seq = 0
        self._last_read_seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = StreamStats()
        self.error: BaseException | None = None  # why the reader thread stopped
        self.close_error: BaseException | None = None  # why stopping the device failed
        self.last_bytes_t = -math.inf
        self.last_sample_t = -math.inf
        self._stalled = False
        self._last_restart = -math.inf
        self._closed = False
        self._rec_t: np.ndarray | None = None  # bring-up recording of every sample
        self._rec_w: np.ndarray | None = None
        self._rec_n = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, first_sample_timeout: float | None = 1.0) -> ThreadedWrenchSensor:
        """Connect, start the device streaming and the reader thread; wait for the first
        sample (``BackendError`` naming the device when none arrives in time; None: do not
        wait, for a device paced by the caller)."""
        self._open()
        self._thread = threading.Thread(target=self._run, name=f"ft:{self.device}", daemon=True)
        self._thread.start()
        if first_sample_timeout is not None and not self.wait_for_sample(1, first_sample_timeout):
            self.close()
            raise BackendError(
                f"{self.device}: no valid sample within {first_sample_timeout:.1f} s of "
                "starting the stream"
            )
        return self

    def close(self) -> None:
        """Stop the reader thread, stop the device streaming and release the link."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_S)
        self._close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._poll()
                self._check_link()
        except Exception as exc:  # the loop sees the age grow; the cause is kept here
            if not self._stop.is_set():
                self.error = exc

    # -- subclass hooks -------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> None:
        """Connect and start the stream (raise ``BackendError`` naming the device)."""

    @abstractmethod
    def _poll(self) -> None:
        """Wait briefly for data, publish every valid sample (called in a loop)."""

    @abstractmethod
    def _close(self) -> None:
        """Stop the stream and release the link (best effort)."""

    def _restart_stream(self) -> None:
        """Ask the device to stream again after a stall (best effort, never blocks long)."""

    # -- reader-thread side ---------------------------------------------------------------
    def now(self) -> float:
        """The driver's clock (s)."""
        return self._clock()

    def _bytes_arrived(self, t: float) -> None:
        self.last_bytes_t = t

    def _publish(self, wrench: np.ndarray, t: float) -> None:
        """Hand one valid sample measured at ``t`` (driver clock) to the loop."""
        with self._published:
            self._wrench[:] = wrench
            self._t = t
            self._seq += 1
            self._published.notify_all()
        self.stats.samples += 1
        self.last_sample_t = max(self.last_sample_t, t + self.wire_time_s)
        if self._rec_t is not None and self._rec_n < len(self._rec_t):
            self._rec_t[self._rec_n] = t
            self._rec_w[self._rec_n] = wrench
            self._rec_n += 1

    def _check_link(self) -> None:
        now = self._clock()
        silent = now - self.last_bytes_t > self.silent_after
        invalid = now - self.last_sample_t > self.invalid_after
        if (silent or invalid) and self._seq > 0:
            if not self._stalled:
                self._stalled = True
                self.stats.stalls += 1
            if now - self._last_restart > RESTART_INTERVAL_PERIODS * self.silent_after:
                self._last_restart = now
                self.stats.restarts += 1
                self._restart_stream()
        elif not (silent or invalid):
            self._stalled = False

    # -- loop side ------------------------------------------------------------------------
    def read(self, out: WrenchSample) -> bool:
        """Copy the newest sample into ``out`` with its age (s); True when it is new since
        the last call. Never waits for the device."""
        with self._lock:
            out.wrench[:] = self._wrench
            out.t = self._t
            out.seq = self._seq
        out.age = self._clock() - out.t
        new = out.seq != self._last_read_seq
        self._last_read_seq = out.seq
        return new

    def wait_for_sample(self, seq: int, timeout: float) -> bool:
        """Block until sample number ``seq`` (1 = the first) has been published, at most
        ``timeout`` s of wall time. For set-up, bring-up and lockstep tests, never the loop."""
        deadline = time.monotonic() + timeout
        with self._published:
            while self._seq < seq:
                left = deadline - time.monotonic()
                if left <= 0.0 or not self._published.wait(left):
                    return self._seq >= seq
        return True

    def record(self, capacity: int) -> None:
        """Keep every sample published from now on, up to ``capacity`` (bring-up, tests)."""
        self._rec_n = 0
        self._rec_w = np.zeros((capacity, 6))
        self._rec_t = np.zeros(capacity)

    def recorded(self) -> tuple[np.ndarray, np.ndarray]:
        """(times (n,) s, wrenches (n, 6)) of the samples kept since ``record``."""
        if self._rec_t is None:
            return np.zeros(0), np.zeros((0, 6))
        n = self._rec_n
        return self._rec_t[:n].copy(), self._rec_w[:n].copy()

    @property
    def seq(self) -> int:
        """Number of samples published so far."""
        return self._seq

    def status(self) -> LinkStatus:
        """Health of the stream now."""
        if self._closed:
            return LinkStatus.CLOSED
        if self.error is not None:
            return LinkStatus.FAILED
        if self._seq == 0:
            return LinkStatus.STARTING
        now = self._clock()
        if now - self.last_bytes_t > self.silent_after:
            return LinkStatus.SILENT
        if now - self.last_sample_t > self.invalid_after:
            return LinkStatus.INVALID
        return LinkStatus.STREAMING
