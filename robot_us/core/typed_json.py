"""Typed JSON at the boundary: a document is decoded straight into the types of its
schema (``msgspec`` Structs or TypedDicts), so a wrong type, a missing key, NaN or an
out-of-range number is one ``SchemaError`` line naming the file (or topic) and the field:
``hand_eye.json: poses[0].image: expected str, got int``.

msgspec is used because it decodes JSON and MessagePack (the server's wire protocol)
into the same typed schemas with the field path in every error, rejects ``NaN`` /
``Infinity`` literals that Python's ``json`` accepts, and is one small C extension
without dependencies. Deep nesting is refused (a ``RecursionError`` becomes a
``SchemaError``) and files are size-checked before they are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

#: Largest JSON file read by ``read_json_file`` unless told otherwise (bytes).
MAX_JSON_BYTES = 64 * 1024 * 1024


class SchemaError(ValueError):
    """A document is not valid JSON or does not match its schema (names file and field)."""


def _describe(exc: msgspec.ValidationError) -> str:
    """``field: what is wrong`` of a msgspec validation error."""
    text = str(exc).replace("`", "")
    what, sep, where = text.rpartition(" - at $")
    if not sep:
        return text[:1].lower() + text[1:]
    field = where.lstrip(".") or "(top level)"
    return f"{field}: {what[:1].lower() + what[1:]}"


def decode_json(data: bytes | str, schema: Any, origin: str) -> Any:
    """``data`` decoded into ``schema``; ``SchemaError`` names ``origin`` and the field."""
    try:
        return msgspec.json.decode(data, type=schema)
    except msgspec.ValidationError as exc:
        raise SchemaError(f"{origin}: {_describe(exc)}") from exc
    except msgspec.DecodeError as exc:
        raise SchemaError(f"{origin}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise SchemaError(f"{origin}: nested too deeply") from exc


def read_json_file(path: str | Path, schema: Any, what: str, max_bytes: int = MAX_JSON_BYTES):
    """The JSON file ``path`` decoded into ``schema``; a missing, oversized or malformed
    file is a ``SchemaError`` naming the ``what`` file and the field."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{what} file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SchemaError(f"{path}: {size} bytes is more than the {max_bytes} allowed for {what}")
    return decode_json(path.read_bytes(), schema, str(path))


def to_plain(obj: Any) -> Any:
    """A decoded document as plain dicts, lists and scalars."""
    return msgspec.to_builtins(obj)
