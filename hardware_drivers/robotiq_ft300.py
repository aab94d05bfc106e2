"""Robotiq FT 300 force/torque sensor on RS-485 through a USB-serial adapter (pyserial).

Set-up over Modbus RTU (19200 baud 8N1, slave 9): stop a stream left running (the jam
sequence, 50 x 0xFF, then 100 ms of quiet), read the firmware version (registers 500-502,
must start with 'F'), serial number (510-513) and production year (514), then start the
100 Hz stream (FC16: 0x0200 into register 410). From then on the reader thread parses
16-byte frames (``robotiq_frames``) and publishes each valid one; the loop reads the
newest with its age (``wrench_stream``). A stream that goes silent (no bytes for 80 ms)
or invalid (no valid frame for 160 ms) is counted as a stall and the start request is
re-sent every 0.4 s until frames come back (the sensor after a power cycle).

USB latency: FTDI adapters hold received bytes for their latency timer (16 ms by
default), which delivers the 100 Hz frames in bursts at about 62.5 Hz. Set it to 1-2 ms:
``echo 1 | sudo tee /sys/bus/usb-serial/devices/ttyUSB0/latency_timer`` (see
``latency_timer_ms``, printed by ``robot-us bringup ft``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import serial

from hardware_drivers import modbus_rtu as mb
from hardware_drivers.config import HardwareConfig
from hardware_drivers.robotiq_frames import (
    BAUD,
    FRAME_WIRE_TIME_S,
    STREAM_RATE_HZ,
    FrameParser,
    decode_counts,
)
from hardware_drivers.wrench_stream import ThreadedWrenchSensor
from robot_us.core.backends import BackendError

#: Modbus slave id of the sensor.
SLAVE_ID = 9
#: Registers.
REG_FIRMWARE = 500  # 3 registers: three characters then three version numbers
REG_SERIAL = 510  # 4 registers: three characters then a 32-bit number
REG_YEAR = 514
REG_OUTPUT_MODE = 410
STREAM_MODE = 0x0200
#: Stop sequence: this many 0xFF bytes, then this much quiet before Modbus.
JAM_BYTE = 0xFF
JAM_LENGTH = 50
JAM_QUIET_S = 0.1
#: How long to wait for a Modbus reply (s) and how often to try.
REPLY_TIMEOUT_S = 0.5
REPLY_TRIES = 3
#: The reader thread waits at most this long for bytes before checking the link (s).
POLL_S = 0.005
#: Most bytes taken from the port per read.
READ_CHUNK = 512
#: Stream health thresholds of Robotiq's own driver (s).
SILENT_AFTER_S = 0.08
INVALID_AFTER_S = 0.16


def latency_timer_ms(port: str) -> int | None:
    """The FTDI latency timer of a ``/dev/ttyUSBn`` port (ms), None where there is none."""
    name = Path(port).resolve().name
    path = Path("/sys/bus/usb-serial/devices") / name / "latency_timer"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class RobotiqFt300(ThreadedWrenchSensor):
    """The FT 300 on serial ``port`` as a ``WrenchSensor`` (call ``start()`` first).
    ``serial_factory`` opens the port (pyserial's ``serial.Serial`` signature)."""

    rate_hz = STREAM_RATE_HZ
    wire_time_s = FRAME_WIRE_TIME_S

    def __init__(
        self,
        port: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        serial_factory: Callable[..., serial.Serial] = serial.Serial,
    ) -> None:
        super().__init__(clock, SILENT_AFTER_S, INVALID_AFTER_S)
        self.port = port
        self.device = f"Robotiq FT 300 on {port}"
        self._serial_factory = serial_factory
        self._ser: serial.Serial | None = None
        self.parser = FrameParser()
        self.firmware = ""
        self.serial_number = ""
        self.production_year = 0
        self._w = np.zeros(6)

    # -- set-up ---------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._ser = self._serial_factory(
                self.port, BAUD, bytesize=8, parity="N", stopbits=1, timeout=REPLY_TIMEOUT_S
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BackendError(f"{self.device}: cannot open the port ({exc})") from exc
        try:
            self._stop_stream()
            self._identify()
            self._start_stream()
        except BaseException:
            self._ser.close()
            raise
        self._ser.timeout = POLL_S

    def _stop_stream(self) -> None:
        """Send the jam sequence until the line is quiet (a stream left running stops)."""
        ser = self._ser
        for _ in range(REPLY_TRIES):
            ser.write(bytes([JAM_BYTE]) * JAM_LENGTH)
            ser.flush()
            time.sleep(JAM_QUIET_S)
            ser.reset_input_buffer()
            time.sleep(2 * FRAME_WIRE_TIME_S + 1.0 / STREAM_RATE_HZ)
            if ser.in_waiting == 0:
                return
        raise BackendError(f"{self.device}: still streaming after {REPLY_TRIES} stop sequences")

    def _transact(self, request: bytes, normal_length: int, what: str) -> bytes:
        ser = self._ser
        for _ in range(REPLY_TRIES):
            ser.reset_input_buffer()
            ser.write(request)
            ser.flush()
            head = ser.read(2)
            if len(head) < 2:
                continue
            n = mb.EXCEPTION_REPLY_LENGTH if head[1] & mb.EXCEPTION_FLAG else normal_length
            reply = head + ser.read(n - 2)
            if len(reply) == n and mb.crc_ok(reply):
                return reply
        raise BackendError(
            f"{self.device}: no valid Modbus reply to {what} after {REPLY_TRIES} tries "
            "(check power, the RS-485 wiring, the port name, and that no other program "
            "holds the port)"
        )

    def _read_registers(self, address: int, count: int) -> tuple[int, ...]:
        reply = self._transact(
            mb.read_request(SLAVE_ID, address, count),
            mb.read_reply_length(count),
            f"reading register {address}",
        )
        try:
            return mb.parse_read_reply(reply, SLAVE_ID, count)
        except mb.ModbusError as exc:
            raise BackendError(f"{self.device}: register {address}: {exc}") from exc

    def _identify(self) -> None:
        fw = self._read_registers(REG_FIRMWARE, 3)
        chars = bytes([fw[0] >> 8, fw[0] & 0xFF, fw[1] >> 8])
        if chars[:1] != b"F":
            raise BackendError(
                f"{self.device}: the device on this port is not an FT sensor (firmware "
                f"{chars!r} does not start with 'F')"
            )
        self.firmware = (
            f"{chars.decode('ascii', 'replace')}-{fw[1] & 0xFF}.{fw[2] >> 8}.{fw[2] & 0xFF}"
        )
        sn = self._read_registers(REG_SERIAL, 4)
        number = (sn[3] << 16) | sn[2]
        prefix = bytes([sn[0] >> 8, sn[0] & 0xFF, sn[1] >> 8]).decode("ascii", "replace")
        self.serial_number = f"{prefix}-{number:04d}" if number else "UNKNOWN"
        self.production_year = self._read_registers(REG_YEAR, 1)[0]

    def _start_stream(self) -> None:
        reply = self._transact(
            mb.write_request(SLAVE_ID, REG_OUTPUT_MODE, [STREAM_MODE]),
            mb.WRITE_REPLY_LENGTH,
            "the stream start (register 410)",
        )
        try:
            mb.parse_write_reply(reply, SLAVE_ID, REG_OUTPUT_MODE, 1)
        except mb.ModbusError as exc:
            raise BackendError(f"{self.device}: stream start refused: {exc}") from exc

    # -- reader thread --------------------------------------------------------------------
    def _poll(self) -> None:
        ser = self._ser
        data = ser.read(max(1, min(ser.in_waiting, READ_CHUNK)))
        if not data:
            return
        now = self.now()
        self._bytes_arrived(now)
        frames = self.parser.feed(data)
        if not frames:
            return
        self.stats.arrivals += 1
        # the newest frame ended at most the bytes after it ago; older ones a frame each
        last = len(frames) - 1
        for k, counts in enumerate(frames):
            t = now - self.wire_time_s - (last - k) * FRAME_WIRE_TIME_S
            self._publish(decode_counts(counts, self._w), t)
        self.stats.crc_errors = self.parser.crc_errors
        self.stats.discarded_bytes = self.parser.discarded_bytes

    def _restart_stream(self) -> None:
        """Re-send the stream start without waiting for its echo (the parser discards it)."""
        self._ser.write(mb.write_request(SLAVE_ID, REG_OUTPUT_MODE, [STREAM_MODE]))

    def _close(self) -> None:
        ser = self._ser
        if ser is None:
            return
        try:
            ser.write(bytes([JAM_BYTE]) * JAM_LENGTH)
            ser.flush()
        except (serial.SerialException, OSError) as exc:  # unplugged: nothing left to stop
            self.close_error = exc
        finally:
            ser.close()
        self.stats.crc_errors = self.parser.crc_errors
        self.stats.discarded_bytes = self.parser.discarded_bytes


def make_ft300(hw: HardwareConfig, clock: Callable[[], float] = time.monotonic) -> RobotiqFt300:
    """The FT 300 on ``hardware.ft.port`` (``FT_DRIVERS["robotiq-ft300"]``)."""
    return RobotiqFt300(hw.ft.port, clock=clock)
