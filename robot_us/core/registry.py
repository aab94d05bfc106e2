"""Name -> factory registries for backends, controllers and models (choose by name, never
by if/elif chains). Entries may be lazy ("module:attribute") so that heavy or optional
dependencies (pybullet, vendor SDKs) are imported only when that entry is chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(LookupError):
    """An unknown name was asked of a registry, or a lazy entry failed to import."""


class Registry(Generic[T]):
    """A named set of factories producing ``T``."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, Callable[..., T] | str] = {}

    def register(self, name: str, factory: Callable[..., T] | str | None = None):
        """Register ``factory`` (a callable or a lazy "module:attr" string) under ``name``;
        usable as a decorator when ``factory`` is omitted."""
        if factory is not None:
            self._entries[name] = factory
            return factory

        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            self._entries[name] = fn
            return fn

        return deco

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name`` (importing it if lazy)."""
        if name not in self._entries:
            raise RegistryError(
                f"unknown {self.what} '{name}'; available: {', '.join(self.names()) or 'none'}"
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attr = entry.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise RegistryError(
                    f"{self.what} '{name}' needs a module that failed to import "
                    f"({module_name}): {exc}"
                ) from exc
            entry = getattr(module, attr)
            self._entries[name] = entry
        return entry

    def create(self, name: str, *args, **kwargs) -> T:
        """Instantiate the entry ``name``."""
        return self.get(name)(*args, **kwargs)

    def __contains__(self, name: str) -> bool:
        return name in self._entries
