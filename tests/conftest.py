"""Shared fixtures: the short recorded sweep (made once per test session, on demand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sweep_fixture import make_sweep_recording


@pytest.fixture(scope="session")
def sweep_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short sweep over both vessels with a 40 ms image latency (``sweep_fixture``)."""
    return make_sweep_recording(tmp_path_factory.mktemp("sweep"))
