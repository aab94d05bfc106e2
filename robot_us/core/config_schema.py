"""Declarative config parameters: a dataclass field with a default, an allowed range or
choice set, a unit and a one-line description. Validation lives here; loading in ``config``.

Every package declares its own section as a frozen dataclass of ``param(...)`` fields; the
root ``robot_us.config.Config`` assembles them.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from typing import Any


class ConfigError(ValueError):
    """A configuration key is unknown, mistyped or out of its allowed range."""


def param(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: Sequence[Any] | None = None,
    length: int | None = None,
    unit: str = "",
    doc: str = "",
) -> Any:
    """A config field with a default, an inclusive range [lo, hi] (per element for
    vectors), an optional choice set, an optional fixed length, a unit and a description."""
    meta = {"lo": lo, "hi": hi, "choices": tuple(choices) if choices else None}
    meta.update({"length": length, "unit": unit, "doc": doc})
    if isinstance(default, list | tuple):
        value = tuple(default)
        return dataclasses.field(default=value, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def section(cls: type) -> Any:
    """A nested config section field (default: the section's own defaults)."""
    return dataclasses.field(default_factory=cls, metadata={"section": True})


def _range_text(meta: dict) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    if lo is not None and hi is not None:
        return f"[{lo}, {hi}]{unit}"
    if lo is not None:
        return f">= {lo}{unit}"
    if hi is not None:
        return f"<= {hi}{unit}"
    return "any value"


def _check_scalar(key: str, value: Any, meta: dict, kind: type) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be an integer, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):  # nan passes every range check: refuse it here
            raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"config key '{key}' must be a string, got {value!r}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"config key '{key}' = {value!r} is not allowed; allowed: {_range_text(meta)}"
        )
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(
            f"config key '{key}' = {value!r} is out of range; allowed: {_range_text(meta)}"
        )
    return value


def _scalar_type(tp: Any) -> tuple[type, bool]:
    """(element type, is_vector) for a field annotation."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return args[0], True
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"unsupported config annotation {tp!r}")
    return tp, False


def build_section(cls: type, data: dict, prefix: str) -> Any:
    """Build a config dataclass ``cls`` from ``data``, validating every key and value.
    Unknown keys and values out of range raise ``ConfigError`` naming the full key; a key
    of an earlier version (the class's ``replaced_keys``: old name -> (new name, why))
    names its replacement."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{prefix}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    replaced: dict[str, tuple[str, str]] = getattr(cls, "replaced_keys", {})
    for key in data:
        if key not in fields:
            full = f"{prefix}.{key}" if prefix else key
            if key in replaced:
                new, why = replaced[key]
                new_full = f"{prefix}.{new}" if prefix else new
                raise ConfigError(f"config key '{full}' was replaced by '{new_full}': {why}")
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown config key '{full}'; known keys here: {known}")
    kwargs = {}
    for name, f in fields.items():
        full = f"{prefix}.{name}" if prefix else name
        if name not in data:
            continue
        value = data[name]
        if f.metadata.get("section"):
            kwargs[name] = build_section(hints[name], value, full)
            continue
        kind, is_vec = _scalar_type(hints[name])
        if is_vec:
            if not isinstance(value, list | tuple):
                raise ConfigError(f"config key '{full}' must be a list, got {value!r}")
            n = f.metadata.get("length")
            if n is not None and len(value) != n:
                raise ConfigError(f"config key '{full}' must have {n} elements, got {len(value)}")
            kwargs[name] = tuple(
                _check_scalar(f"{full}[{i}]", v, f.metadata, kind) for i, v in enumerate(value)
            )
        else:
            kwargs[name] = _check_scalar(full, value, f.metadata, kind)
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(prefix)
    return obj


def to_dict(obj: Any) -> dict:
    """A config dataclass as plain nested dicts/lists (TOML-ready)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def describe(cls: type, prefix: str = "") -> list[tuple[str, Any, str, str]]:
    """(key, default, allowed range, description) for every parameter of ``cls``."""
    rows: list[tuple[str, Any, str, str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        full = f"{prefix}.{f.name}" if prefix else f.name
        if f.metadata.get("section"):
            rows.extend(describe(hints[f.name], full))
        else:
            rows.append((full, f.default, _range_text(f.metadata), f.metadata.get("doc", "")))
    return rows
