"""Keys at the command line: ``robot-us serve`` without keys refuses to listen beyond
loopback (exit 2, one line); ``robot-us teleop`` finds its keys in a folder. (The real
server with keys: tests/test_server_remote.py.)"""

import shutil
import subprocess
import sys

import pytest
import zmq.auth

from robot_us.cli import main
from robot_us.commands.teleop import client_keys
from robot_us.protocol.security import ClientKeys
from tests.server_harness import ROOT


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A server key folder allowing 'console'; 'mallory' has a key it never saw. Each
    client's folder also holds the server's public key, as ``robot-us teleop`` wants."""
    root = tmp_path_factory.mktemp("keys")
    server = root / "server"
    assert main(["keys", "generate", "--out", str(server)]) == 0
    for name in ("console", "mallory"):
        assert main(["keys", "generate", "--out", str(root / name), "--name", name]) == 0
        shutil.copy(server / "server.key", root / name)
    (server / "clients").mkdir()
    shutil.copy(root / "console" / "console.key", server / "clients")
    return root


def test_serve_without_keys_refuses_a_public_address():
    out = subprocess.run(
        [sys.executable, "-m", "robot_us", "serve", "--host", "0.0.0.0", "--no-record"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "refusing to listen on 0.0.0.0 without CurveZMQ keys" in lines[0]


def test_teleop_key_folder(keys, tmp_path):
    k = client_keys(keys / "console")
    assert isinstance(k, ClientKeys)
    assert k.server_public == zmq.auth.load_certificate(str(keys / "server" / "server.key"))[0]
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(keys / "mallory" / "mallory.key_secret", lone)
    with pytest.raises(FileNotFoundError, match=r"server\.key"):
        client_keys(lone)
    (lone / "mallory.key_secret").unlink()
    with pytest.raises(ValueError, match="exactly one"):
        client_keys(lone)
