"""CurveZMQ: keys made by ``robot-us keys``, an allowlisted client connects, an unknown key
or a plaintext client gets nothing (no replies, no state), and the bind rule."""

import shutil
import stat

import msgspec
import pytest

from robot_us.cli import main
from robot_us.protocol.client import AuthenticationRefusedError, Client, NotConnectedError
from robot_us.protocol.endpoints import bind_refusal
from robot_us.protocol.security import ClientKeys, ServerKeys, list_keys
from tests.protocol_stub import STUB_LIMITS, StubServer


@pytest.fixture
def keys(tmp_path, capsys):
    """A server key folder allowing 'console'; 'mallory' has a key the server never saw."""
    server = tmp_path / "server"
    assert main(["keys", "generate", "--out", str(server)]) == 0
    for name in ("console", "mallory"):
        assert main(["keys", "generate", "--out", str(tmp_path / name), "--name", name]) == 0
    (server / "clients").mkdir()
    shutil.copy(tmp_path / "console" / "console.key", server / "clients")
    capsys.readouterr()
    return tmp_path


def client_keys(root, name):
    return ClientKeys.load(root / name / f"{name}.key_secret", root / "server" / "server.key")


def test_keys_cli_generates_lists_and_never_overwrites(keys, capsys):
    secret = keys / "server" / "server.key_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert main(["keys", "list", str(keys / "server")]) == 0
    out = capsys.readouterr().out
    assert "server" in out and "console" in out and "allowed" in out
    [srv, allowed] = list_keys(keys / "server")
    assert (srv.role, srv.has_secret, allowed.role, allowed.has_secret) == (
        "server",
        True,
        "allowed",
        False,
    )
    # an existing key is never replaced; a missing folder is bad input (exit 2)
    assert main(["keys", "generate", "--out", str(keys / "server")]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["keys", "list", str(keys / "nowhere")]) == 2


def test_server_without_allowed_clients_is_refused(tmp_path):
    main(["keys", "generate", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="no client keys"):
        ServerKeys.load(tmp_path)


def test_allowed_key_connects_unknown_key_and_plaintext_do_not(keys):
    server_keys = ServerKeys.load(keys / "server")
    console = client_keys(keys, "console")
    with (
        # a deadman of 1 s: this test is about keys, and a loaded machine can delay a
        # heartbeat past the stub's default 0.1 s
        StubServer(
            keys=server_keys,
            state_rate_hz=100,
            limits=msgspec.structs.replace(STUB_LIMITS, deadman=1.0),
        ) as srv,
        Client(srv.url, name="c", keys=console) as good,
    ):
        assert good.welcome.curve
        assert good.welcome.client_id.startswith("console#")  # named for its key
        assert good.take_control().you
        assert good.wait_state(2.0) is not None
        intruder = Client(srv.url, name="m", keys=client_keys(keys, "mallory"), timeout=0.5)
        with pytest.raises(AuthenticationRefusedError, match="allowlist"):
            intruder.connect()
        assert intruder.wait_state(0.3) is None  # the streams refuse it too
        intruder.close()
        plain = Client(srv.url, name="p", timeout=0.3)
        with pytest.raises(NotConnectedError):
            plain.connect()
        assert plain.wait_state(0.3) is None
        plain.close()
        assert server_keys.refused >= 1
        assert srv.sessions.controller_name == good.welcome.client_id
        assert [s.name.split("#")[0] for s in srv.sessions.sessions.values()] == ["console"]


def test_bind_rule_for_the_server_cli():
    assert bind_refusal("127.0.0.1", have_keys=False) is None
    line = bind_refusal("0.0.0.0", have_keys=False)
    assert line.startswith("refusing to listen on 0.0.0.0 without CurveZMQ keys")
    assert bind_refusal("0.0.0.0", have_keys=True) is None
