"""An emulated Robotiq FT 300 on a pseudo-terminal pair: the driver opens ``emulator.port``
(the pty's slave, e.g. ``/dev/pts/5``) exactly as it would open ``/dev/ttyUSB0``.

The device side follows the protocol notes (docs/hardware.md): Modbus RTU slave 9 answers
FC03 (firmware "FTS-3.0.4" in 500-502, serial number in 510-513, production year in 514)
and FC16 (0x0200 into 410 starts the stream; other registers are refused with an
exception reply); while streaming it ignores everything but a run of 0xFF bytes (the
jam sequence), which stops the stream. After a (simulated) power cycle it boots streaming,
as Robotiq's own driver expects (``boot_streaming``).

Frames leave at ``rate_hz`` (internal clock), or one per ``emit`` call when the caller
paces the device (the lockstep simulation: ``paced=True``). Each frame carries the wrench
sampled at its due time and is written when its last byte would have crossed the wire
(8.3 ms later at 19200 baud). ``latency_s`` > 0 emulates a USB-serial adapter's latency
timer (bytes held and delivered in bursts).

Faults (thread-safe, take effect on the next frames): ``corrupt(n)`` flips one byte in
each of the next n frames, ``drop_bytes(n)`` removes one byte from each of the next n,
``garbage(n)`` sends n random bytes, ``stall(s)`` sends nothing for s seconds, ``reset(s)``
power-cycles the device (silent for s, then boots).
"""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hardware_drivers import modbus_rtu as mb
from hardware_drivers.device_emulator import DeviceEmulator
from hardware_drivers.robotiq_frames import FRAME_WIRE_TIME_S, STREAM_RATE_HZ, encode_frame
from hardware_drivers.robotiq_ft300 import (
    JAM_BYTE,
    REG_FIRMWARE,
    REG_OUTPUT_MODE,
    REG_SERIAL,
    REG_YEAR,
    SLAVE_ID,
    STREAM_MODE,
)

#: Consecutive 0xFF bytes that stop the stream (the driver sends 50).
JAM_DETECT = 16
#: USB full-speed FTDI packet payload: a full packet is sent before the latency timer.
USB_PACKET_PAYLOAD = 62
#: Modbus exception code: illegal data address.
ILLEGAL_ADDRESS = 2
#: Longest the device thread sleeps waiting for input (s).
IDLE_WAIT_S = 0.01


@dataclass
class EmulatorStats:
    """What the emulated device did."""

    frames_sent: int = 0
    frames_corrupted: int = 0
    bytes_dropped: int = 0
    garbage_bytes: int = 0
    frames_skipped: int = 0  # due while stalled or booting
    requests: int = 0
    jams: int = 0
    resets: int = 0
    overflow_bytes: int = 0  # written while nobody read the port


class Ft300Emulator(DeviceEmulator):
    """The sensor's end of a pty pair. ``wrench()`` gives the wrench to report [N, N·m]
    (default: zero); call ``start()``, then open ``port`` with the driver."""

    def __init__(
        self,
        wrench: Callable[[], np.ndarray] | None = None,
        *,
        rate_hz: float = STREAM_RATE_HZ,
        paced: bool = False,
        boot_streaming: bool = True,
        latency_s: float = 0.0,
        seed: int = 0,
        serial_number: int = 1234,
        year: int = 2024,
    ) -> None:
        super().__init__()
        self._wrench = wrench or (lambda: np.zeros(6))
        self.period = 1.0 / rate_hz
        self.paced = paced
        self.boot_streaming = boot_streaming
        self.latency_s = latency_s
        self._rng = np.random.default_rng(seed)
        self.registers = {
            REG_FIRMWARE: ord("F") << 8 | ord("T"),
            REG_FIRMWARE + 1: ord("S") << 8 | 3,
            REG_FIRMWARE + 2: 0 << 8 | 4,
            REG_SERIAL: ord("R") << 8 | ord("O"),
            REG_SERIAL + 1: ord("B") << 8,
            REG_SERIAL + 2: serial_number & 0xFFFF,
            REG_SERIAL + 3: serial_number >> 16,
            REG_YEAR: year,
            REG_OUTPUT_MODE: 0,
        }
        self.stats = EmulatorStats()
        self.streaming = False
        self._corrupt = 0
        self._corrupt_at: int | None = None
        self._drop = 0
        self._drop_at: int | None = None
        self._garbage = 0
        self._ff_run = 0
        self._rx = bytearray()
        self._pending: list[tuple[float, bytes]] = []  # (write at, frame)
        self._out = bytearray()  # held by the emulated latency timer
        self._last_flush = 0.0
        self._next_due = 0.0
        self._master = -1
        self._slave = -1
        self.port = ""

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Ft300Emulator:
        """Open the pty pair and run the device thread."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line editing, like a serial port
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._boot(time.monotonic(), streaming=self.boot_streaming)
        self._start_thread("ft300-emulator")
        return self

    def close(self) -> None:
        """Stop the device thread and close the pty pair."""
        self._stop_thread()
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    # -- faults ---------------------------------------------------------------------------
    def corrupt(self, frames: int = 1, position: int | None = None) -> None:
        """Flip one byte (at ``position``, or a random one) in each of the next ``frames``
        frames."""
        with self._lock:
            self._corrupt += frames
            self._corrupt_at = position

    def drop_bytes(self, frames: int = 1, position: int | None = None) -> None:
        """Lose one byte (at ``position``, or a random one) of each of the next ``frames``
        frames."""
        with self._lock:
            self._drop += frames
            self._drop_at = position

    def garbage(self, n: int) -> None:
        """Send ``n`` random bytes before the next frame."""
        with self._lock:
            self._garbage += n

    def reset(self, boot_s: float = 0.3) -> None:
        """Power-cycle: silent for ``boot_s``, registers back to their defaults, then boot
        (streaming when ``boot_streaming``)."""
        with self._lock:
            self.stats.resets += 1
            self.streaming = False
            self.registers[REG_OUTPUT_MODE] = 0
            self._pending.clear()
            self._rx.clear()
            self._booting_until = time.monotonic() + boot_s

    # -- paced streaming ------------------------------------------------------------------
    def emit(self, wrench: np.ndarray) -> bool:
        """Send one frame of ``wrench`` now (``paced`` mode); False when the device is not
        streaming (stopped, stalled or booting)."""
        with self._lock:
            now = time.monotonic()
            if not self._can_stream(now):
                self.stats.frames_skipped += 1
                return False
            self._write(self._faulty(encode_frame(wrench)))
            return True

    # -- device thread --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            wait = IDLE_WAIT_S
            with self._lock:
                if self._pending:
                    wait = min(wait, self._pending[0][0] - now)
                if not self.paced and self.streaming:
                    wait = min(wait, self._next_due - now)
                if self._out:
                    wait = min(wait, self._last_flush + self.latency_s - now)
            ready, _, _ = select.select([self._master], [], [], max(0.0, wait))
            with self._lock:
                if ready:
                    self._receive()
                self._tick(time.monotonic())

    def _receive(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):  # EIO: the other end is closed right now
            return
        now = time.monotonic()
        if now < self._booting_until:
            return  # powered off
        for b in data:
            self._ff_run = self._ff_run + 1 if b == JAM_BYTE else 0
            if self.streaming:  # a streaming sensor listens for the jam sequence only
                if self._ff_run >= JAM_DETECT:
                    self.streaming = False
                    self.registers[REG_OUTPUT_MODE] = 0
                    self._pending.clear()
                    self.stats.jams += 1
            else:
                self._rx.append(b)
        if not self.streaming:
            self._serve_modbus()

    def _serve_modbus(self) -> None:
        rx = self._rx
        while rx:
            if rx[0] != SLAVE_ID:
                del rx[0]
                continue
            n = mb.request_length(rx)
            if n is None or len(rx) < max(n, 1):
                return
            if n == 0:
                del rx[0]
                continue
            req = mb.parse_request(bytes(rx[:n]))
            if req is None:
                del rx[0]
                continue
            del rx[:n]
            self.stats.requests += 1
            self._write(self._reply(req))

    def _reply(self, req: mb.Request) -> bytes:
        regs = self.registers
        if req.function == mb.READ_HOLDING_REGISTERS:
            addrs = range(req.address, req.address + req.count)
            if not all(a in regs for a in addrs):
                return mb.exception_reply(SLAVE_ID, req.function, ILLEGAL_ADDRESS)
            return mb.read_reply(SLAVE_ID, [regs[a] for a in addrs])
        if req.address == REG_OUTPUT_MODE and req.values == (STREAM_MODE,):
            regs[REG_OUTPUT_MODE] = STREAM_MODE
            reply = mb.write_reply(SLAVE_ID, req.address, req.count)
            self._write(reply)
            self._start_streaming(time.monotonic())
            return b""
        return mb.exception_reply(SLAVE_ID, req.function, ILLEGAL_ADDRESS)

    def _boot(self, now: float, streaming: bool) -> None:
        self.streaming = False
        if streaming:
            self._start_streaming(now)

    def _start_streaming(self, now: float) -> None:
        self.streaming = True
        self.registers[REG_OUTPUT_MODE] = STREAM_MODE
        self._next_due = now + self.period

    def _can_stream(self, now: float) -> bool:
        return self.streaming and now >= self._silent_until and now >= self._booting_until

    def _tick(self, now: float) -> None:
        if self._booting_until and now >= self._booting_until:
            self._booting_until = 0.0
            self._boot(now, self.boot_streaming)
        if not self.paced and self.streaming and now >= self._next_due:
            while self._next_due <= now:  # a real device keeps its clock: no bursts
                if self._can_stream(self._next_due):
                    frame = encode_frame(self._wrench())
                    self._pending.append((self._next_due + FRAME_WIRE_TIME_S, frame))
                else:
                    self.stats.frames_skipped += 1
                self._next_due += self.period
        while self._pending and self._pending[0][0] <= now:
            _, frame = self._pending.pop(0)
            self._write(self._faulty(frame))
        if self._out and now >= self._last_flush + self.latency_s:
            self._flush(now)

    def _faulty(self, frame: bytes) -> bytes:
        """Apply the queued faults to one frame (and prepend queued garbage)."""
        out = bytearray(frame)
        self.stats.frames_sent += 1
        if self._corrupt:
            self._corrupt -= 1
            self.stats.frames_corrupted += 1
            i = self._position(self._corrupt_at, len(out))
            out[i] ^= int(self._rng.integers(1, 256))
        if self._drop:
            self._drop -= 1
            self.stats.bytes_dropped += 1
            del out[self._position(self._drop_at, len(out))]
        if self._garbage:
            noise = self._rng.integers(0, 256, self._garbage, dtype=np.uint8).tobytes()
            self.stats.garbage_bytes += self._garbage
            self._garbage = 0
            out[:0] = noise
        return bytes(out)

    def _position(self, position: int | None, n: int) -> int:
        return int(self._rng.integers(0, n)) if position is None else position % n

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self.latency_s > 0.0:
            self._out += data
            if len(self._out) >= USB_PACKET_PAYLOAD:
                self._flush(time.monotonic())
            return
        self._send(data)

    def _flush(self, now: float) -> None:
        self._last_flush = now
        data, self._out = bytes(self._out), bytearray()
        self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            n = 0
        except OSError:  # the pty is closing
            n = 0
        self.stats.overflow_bytes += len(data) - n
