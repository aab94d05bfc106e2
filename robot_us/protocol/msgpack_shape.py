"""Bounds on a msgpack document checked before it is decoded: nesting depth and the total
number of items, read from the container headers only (strings and binaries are skipped by
their length). msgspec recurses when it skips or decodes an untyped value, so a document
nested thousands deep must never reach it.

Cost: one pass over the item headers, ~0.1 us per item in CPython (a teleop twist: ~15
items); a message at the inbound size limit made of one-byte items costs a few ms, once."""

from __future__ import annotations

from robot_us.protocol.errors import ErrorCode, ProtocolError


def _size_table() -> tuple[int, ...]:
    """Header byte -> total size of a fixed-size item (header included); 0 for containers
    and variable-length items (handled in the loop); -1 for the never-used byte 0xC1."""
    size = [0] * 256
    for b in range(0x00, 0x80):  # positive fixint
        size[b] = 1
    for b in range(0xE0, 0x100):  # negative fixint
        size[b] = 1
    for b in range(0xA0, 0xC0):  # fixstr
        size[b] = 1 + (b & 0x1F)
    fixed = {0xC0: 1, 0xC2: 1, 0xC3: 1, 0xCA: 5, 0xCB: 9, 0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9}
    fixed |= {0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}  # int8..int64
    fixed |= {0xD4: 3, 0xD5: 4, 0xD6: 6, 0xD7: 10, 0xD8: 18}  # fixext: type byte + data
    for b, n in fixed.items():
        size[b] = n
    size[0xC1] = -1
    return tuple(size)


_SIZE = _size_table()
# Variable-length scalars: header byte -> (width of the length field, type bytes after it).
_VARLEN: dict[int, tuple[int, int]] = {
    0xC4: (1, 0),  # bin8, bin16, bin32
    0xC5: (2, 0),
    0xC6: (4, 0),
    0xC7: (1, 1),  # ext8, ext16, ext32: length, then a type byte
    0xC8: (2, 1),
    0xC9: (4, 1),
    0xD9: (1, 0),  # str8, str16, str32
    0xDA: (2, 0),
    0xDB: (4, 0),
}
# Containers with a count field: header byte -> (width of the count, items per entry).
_CONTAINER: dict[int, tuple[int, int]] = {
    0xDC: (2, 1),  # array16, array32
    0xDD: (4, 1),
    0xDE: (2, 2),  # map16, map32: key and value per entry
    0xDF: (4, 2),
}


def check_shape(data: bytes | memoryview, max_depth: int, max_items: int) -> None:
    """Raise ``ProtocolError`` unless ``data`` is exactly one msgpack object nested at most
    ``max_depth`` containers deep with at most ``max_items`` container entries in all."""
    buf = bytes(data) if not isinstance(data, bytes) else data
    n = len(buf)
    size = _SIZE
    pos = 0
    items = 0
    outer: list[int] = []  # items left at each enclosing level
    left = 1  # items left at this level: the document is one object
    try:
        while True:
            if left == 0:
                if not outer:
                    break
                left = outer.pop()
                continue
            left -= 1
            b = buf[pos]
            s = size[b]
            if s > 0:
                pos += s
                continue
            if 0x80 <= b <= 0x8F:  # fixmap
                count, pos = 2 * (b & 0x0F), pos + 1
            elif 0x90 <= b <= 0x9F:  # fixarray
                count, pos = b & 0x0F, pos + 1
            elif b in _VARLEN:
                width, extra = _VARLEN[b]
                pos += 1 + width + extra + int.from_bytes(buf[pos + 1 : pos + 1 + width], "big")
                continue
            elif b in _CONTAINER:
                width, per = _CONTAINER[b]
                count = per * int.from_bytes(buf[pos + 1 : pos + 1 + width], "big")
                pos += 1 + width
            else:
                raise ProtocolError(ErrorCode.BAD_ENVELOPE, f"invalid msgpack byte 0x{b:02x}")
            items += count
            if items > max_items:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, f"more than {max_items} msgpack items in one part"
                )
            if count:
                if len(outer) >= max_depth:
                    raise ProtocolError(
                        ErrorCode.TOO_LARGE, f"msgpack nested deeper than {max_depth} levels"
                    )
                outer.append(left)
                left = count
    except IndexError:
        raise ProtocolError(ErrorCode.BAD_ENVELOPE, "msgpack document is truncated") from None
    if pos != n:
        what = "truncated" if pos > n else f"followed by {n - pos} extra bytes"
        raise ProtocolError(ErrorCode.BAD_ENVELOPE, f"msgpack document is {what}")
