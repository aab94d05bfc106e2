"""Shared fixtures: the short recorded sweep (made once per test session, on demand), and
the hypothesis profiles: the test command runs ``gate`` (derandomized: the same examples
every run, so CI never fails on an example nobody saw locally); run
``pytest --hypothesis-profile=explore`` to search with fresh random examples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.sweep_fixture import make_sweep_recording

settings.register_profile("gate", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.fixture(scope="session")
def sweep_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short sweep over both vessels with a 40 ms image latency (``sweep_fixture``)."""
    return make_sweep_recording(tmp_path_factory.mktemp("sweep"))
