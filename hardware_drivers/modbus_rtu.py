"""Modbus RTU framing as the Robotiq FT 300 speaks it: CRC-16/Modbus and the two function
codes its set-up uses (FC03 read holding registers, FC16 write multiple registers), for
both sides of the line (the driver builds requests and parses replies; the emulator parses
requests and builds replies).

Why not pymodbus / minimalmodbus: the emulator needs the slave side (minimalmodbus is
master-only) and the driver must hand the same port to a binary stream right after the
set-up (pymodbus is an asyncio framework that owns its transport). The CRC below is the
same routine the stream frames use (``robotiq_frames``); it is checked against the
catalogue check value of CRC-16/MODBUS (0x4B37 for b"123456789") in the tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Function codes.
READ_HOLDING_REGISTERS = 0x03
WRITE_MULTIPLE_REGISTERS = 0x10
#: Bit set in the function code of an exception reply.
EXCEPTION_FLAG = 0x80


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16_modbus(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/Modbus (init 0xFFFF, reflected polynomial 0xA001, no final XOR) of ``data``;
    sent low byte first."""
    crc = 0xFFFF
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC (low byte first)."""
    return body + struct.pack("<H", crc16_modbus(body))


def crc_ok(frame: bytes | bytearray | memoryview) -> bool:
    """True when the last two bytes of ``frame`` are the CRC of the rest."""
    return len(frame) >= 3 and crc16_modbus(frame[:-2]) == frame[-2] | (frame[-1] << 8)


class ModbusError(RuntimeError):
    """A Modbus reply was malformed, had a bad CRC, or was an exception reply."""


# -- master side (the driver) ----------------------------------------------------------
def read_request(slave: int, address: int, count: int) -> bytes:
    """FC03 request: read ``count`` holding registers from ``address``."""
    return with_crc(struct.pack(">BBHH", slave, READ_HOLDING_REGISTERS, address, count))


def write_request(slave: int, address: int, values: list[int] | tuple[int, ...]) -> bytes:
    """FC16 request: write ``values`` (uint16 each) from register ``address``."""
    n = len(values)
    head = struct.pack(">BBHHB", slave, WRITE_MULTIPLE_REGISTERS, address, n, 2 * n)
    return with_crc(head + struct.pack(f">{n}H", *values))


def read_reply_length(count: int) -> int:
    """Bytes of a normal FC03 reply carrying ``count`` registers."""
    return 5 + 2 * count


#: Bytes of a normal FC16 reply (the echo) and of an exception reply.
WRITE_REPLY_LENGTH = 8
EXCEPTION_REPLY_LENGTH = 5


def parse_read_reply(reply: bytes, slave: int, count: int) -> tuple[int, ...]:
    """The ``count`` register values of an FC03 reply (``ModbusError`` on anything else)."""
    _check_reply(reply, slave, READ_HOLDING_REGISTERS)
    if len(reply) != read_reply_length(count) or reply[2] != 2 * count:
        raise ModbusError(f"FC03 reply of {len(reply)} bytes for {count} registers")
    return struct.unpack(f">{count}H", reply[3 : 3 + 2 * count])


def parse_write_reply(reply: bytes, slave: int, address: int, count: int) -> None:
    """Check an FC16 echo (``ModbusError`` when it does not echo the request)."""
    _check_reply(reply, slave, WRITE_MULTIPLE_REGISTERS)
    if len(reply) != WRITE_REPLY_LENGTH:
        raise ModbusError(f"FC16 reply of {len(reply)} bytes, expected {WRITE_REPLY_LENGTH}")
    got = struct.unpack(">HH", reply[2:6])
    if got != (address, count):
        raise ModbusError(f"FC16 echo {got} does not match the request ({address}, {count})")


def _check_reply(reply: bytes, slave: int, function: int) -> None:
    if len(reply) < EXCEPTION_REPLY_LENGTH:
        raise ModbusError(f"reply too short ({len(reply)} bytes)")
    if not crc_ok(reply):
        raise ModbusError("reply CRC mismatch")
    if reply[0] != slave:
        raise ModbusError(f"reply from slave {reply[0]}, expected {slave}")
    if reply[1] == function | EXCEPTION_FLAG:
        raise ModbusError(f"exception reply to function {function}: code {reply[2]}")
    if reply[1] != function:
        raise ModbusError(f"reply to function {reply[1]}, expected {function}")


# -- slave side (the emulator) ---------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A decoded request: function, first register, register count, values (FC16)."""

    slave: int
    function: int
    address: int
    count: int
    values: tuple[int, ...] = ()


def request_length(head: bytes | bytearray) -> int | None:
    """Total length of the request whose first bytes are ``head`` (None: need more bytes;
    0: not a request this slave understands)."""
    if len(head) < 2:
        return None
    if head[1] == READ_HOLDING_REGISTERS:
        return 8
    if head[1] == WRITE_MULTIPLE_REGISTERS:
        return None if len(head) < 7 else 9 + head[6]
    return 0


def parse_request(frame: bytes | bytearray) -> Request | None:
    """The request in ``frame`` (its exact length), or None when the CRC or layout is bad."""
    if not crc_ok(frame):
        return None
    slave, function, address, count = struct.unpack(">BBHH", frame[:6])
    if function == READ_HOLDING_REGISTERS and len(frame) == 8:
        return Request(slave, function, address, count)
    if (
        function == WRITE_MULTIPLE_REGISTERS
        and len(frame) == 9 + 2 * count
        and frame[6] == 2 * count
    ):
        values = struct.unpack(f">{count}H", frame[7 : 7 + 2 * count])
        return Request(slave, function, address, count, values)
    return None


def read_reply(slave: int, values: list[int] | tuple[int, ...]) -> bytes:
    """FC03 reply carrying ``values``."""
    n = len(values)
    return with_crc(struct.pack(f">BBB{n}H", slave, READ_HOLDING_REGISTERS, 2 * n, *values))


def write_reply(slave: int, address: int, count: int) -> bytes:
    """FC16 reply (the echo of address and count)."""
    return with_crc(struct.pack(">BBHH", slave, WRITE_MULTIPLE_REGISTERS, address, count))


def exception_reply(slave: int, function: int, code: int) -> bytes:
    """Exception reply (``code`` 2 = illegal data address)."""
    return with_crc(struct.pack(">BBB", slave, function | EXCEPTION_FLAG, code))
