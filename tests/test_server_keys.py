"""CurveZMQ on the real server: ``robot-us serve --keys`` accepts the allowed client (its
key name is its identity) and refuses an unknown key and a plaintext client; without keys
it refuses to listen beyond loopback (exit 2, one line) and ``robot-us teleop`` finds its
keys in a folder."""

import shutil
import subprocess
import sys

import pytest
import zmq.auth

from robot_us.cli import main
from robot_us.commands.teleop import client_keys
from robot_us.protocol.client import AuthenticationRefusedError, Client, NotConnectedError
from robot_us.protocol.security import ClientKeys
from tests.server_harness import ROOT, ServerProcess, connect


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


@pytest.mark.slow
def test_allowed_key_works_unknown_key_and_plaintext_are_refused(keys, tmp_path):
    allowed = client_keys(keys / "console")
    srv = ServerProcess(tmp_path / "serve", keys=keys / "server", host="127.0.0.1")
    try:
        srv.wait_ready(keys=allowed)
        good = connect(srv.url, "console-app", keys=allowed)
        assert good.welcome.curve
        assert good.welcome.client_id.startswith("console#")  # named by its key
        assert good.take_control().you
        assert good.wait_state(2.0).state.controller == good.welcome.client_id
        good.release_control()
        good.close()
        intruder = Client(srv.url, name="m", keys=client_keys(keys / "mallory"), timeout=1.0)
        with pytest.raises(AuthenticationRefusedError):
            intruder.connect()
        assert intruder.wait_state(0.5) is None  # no stream data either
        intruder.close()
        plain = Client(srv.url, name="p", timeout=1.0)
        with pytest.raises(NotConnectedError):
            plain.connect()
        plain.close()
    finally:
        srv.stop()
