"""The code base stays ruff clean (lint and format) and keeps its layers: the import-linter
contracts in pyproject.toml encode the layer table of docs/architecture.md."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert exe is not None, f"{name} is not installed (pip install -e '.[dev]')"
    return exe


def test_ruff_check():
    r = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format():
    r = subprocess.run(
        [_tool("ruff"), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_layer_contracts():
    """A wrong import between layers (e.g. an algorithm package importing the
    composition root, or the console importing the simulator) fails here."""
    r = subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
