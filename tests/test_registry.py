"""Registries: lookup by name, lazy entries, clear errors."""

import pytest

from robot_us.core.registry import Registry, RegistryError


def test_register_and_create():
    reg: Registry[list] = Registry("thing")

    @reg.register("a")
    def make_a(n):
        return [n]

    assert reg.create("a", 3) == [3]
    assert "a" in reg and reg.names() == ["a"]


def test_unknown_name_lists_available():
    reg: Registry[int] = Registry("arm backend")
    reg.register("sim", lambda: 1)
    with pytest.raises(RegistryError, match=r"unknown arm backend 'ur10'; available: sim"):
        reg.get("ur10")


def test_lazy_entry_imports_on_use_and_reports_failure():
    reg: Registry[object] = Registry("x")
    reg.register("json", "json:dumps")
    assert reg.create("json", {"a": 1}) == '{"a": 1}'
    reg.register("missing", "no_such_module_xyz:thing")
    with pytest.raises(RegistryError, match="no_such_module_xyz"):
        reg.get("missing")
