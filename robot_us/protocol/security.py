"""CurveZMQ keys and authentication.

Files (ZeroMQ certificate format, written by ``zmq.auth.create_certificates``):
``NAME.key`` holds a public key, ``NAME.key_secret`` the pair (mode 0600). A server's key
directory holds ``server.key`` + ``server.key_secret`` and the allowlist ``clients/*.key``
(the public keys of the clients it accepts, named for who they are). A client needs its own
``NAME.key_secret`` and the server's ``server.key``. Every server endpoint (commands and
the three streams) is a CURVE server; the authenticator (a ZAP handler thread) refuses
any key not in the allowlist, before a single message is read.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

#: File name (without suffix) of the server's key pair, and the allowlist folder.
SERVER_KEY_NAME = "server"
CLIENTS_DIR = "clients"
#: ZAP domain of the server's sockets.
ZAP_DOMAIN = "robot-us"
PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"


@dataclass(frozen=True)
class KeyInfo:
    """One key file: name, role (server, client, allowed), Z85 public key, whether the secret
    is in the folder too, path of the public file."""

    name: str
    role: str
    public: str
    has_secret: bool
    path: Path


def generate_keys(out_dir: Path, name: str = SERVER_KEY_NAME) -> tuple[Path, Path]:
    """Write a new key pair ``out_dir/NAME.key`` + ``NAME.key_secret`` (secret mode 0600);
    raises FileExistsError rather than overwrite a key. Returns (public, secret) paths."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"key name '{name}' must be a plain file name")
    out_dir.mkdir(parents=True, exist_ok=True)
    public = out_dir / f"{name}{PUBLIC_SUFFIX}"
    secret = out_dir / f"{name}{SECRET_SUFFIX}"
    for path in (public, secret):
        if path.exists():
            raise FileExistsError(f"{path} exists: not overwriting a key")
    pub, sec = zmq.auth.create_certificates(str(out_dir), name)
    os.chmod(sec, 0o600)
    return Path(pub), Path(sec)


def list_keys(key_dir: Path) -> list[KeyInfo]:
    """The keys in ``key_dir`` (pairs and public keys) and in its ``clients/`` allowlist."""
    if not key_dir.is_dir():
        raise FileNotFoundError(f"{key_dir} is not a folder")
    found: list[KeyInfo] = []
    for folder, role in ((key_dir, None), (key_dir / CLIENTS_DIR, "allowed")):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{PUBLIC_SUFFIX}")):
            public = _public_key(path)
            name = path.name[: -len(PUBLIC_SUFFIX)]
            has_secret = path.with_name(name + SECRET_SUFFIX).exists()
            kind = role or (SERVER_KEY_NAME if name == SERVER_KEY_NAME else "client")
            found.append(KeyInfo(name, kind, public.decode("ascii"), has_secret, path))
    return found


def _public_key(path: Path) -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a ZeroMQ key file ({exc})") from None
    return public


def _secret_pair(path: Path) -> tuple[bytes, bytes]:
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a ZeroMQ key file ({exc})") from None
    if secret is None:
        raise ValueError(f"{path}: has no secret key")
    return public, secret


@dataclass
class ServerKeys:
    """The server's key pair and its allowlist (Z85 public key -> client name); ``refused``
    counts connection attempts with keys not on the list."""

    public: bytes
    secret: bytes
    allowed: dict[bytes, str]
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, key_dir: Path) -> ServerKeys:
        """``key_dir/server.key_secret`` and the allowlist ``key_dir/clients/*.key``."""
        public, secret = _secret_pair(key_dir / f"{SERVER_KEY_NAME}{SECRET_SUFFIX}")
        clients = key_dir / CLIENTS_DIR
        allowed = {
            _public_key(p): p.name[: -len(PUBLIC_SUFFIX)]
            for p in sorted(clients.glob(f"*{PUBLIC_SUFFIX}"))
        }
        if not allowed:
            raise ValueError(
                f"{clients}: no client keys allowed (copy each client's NAME.key there)"
            )
        return cls(public, secret, allowed)

    def name_of(self, user_id: str | None) -> str | None:
        """The client name of a connection's ZAP User-Id (its Z85 public key)."""
        return None if user_id is None else self.allowed.get(user_id.encode("ascii"))

    def callback(self, domain: str, key: bytes) -> bool:
        """ZAP decision for a Z85 client key (called by the authenticator thread)."""
        ok = key in self.allowed
        if not ok:
            with self._lock:
                self.refused += 1
        return ok

    def secure(self, sock: zmq.Socket) -> None:
        """Make ``sock`` a CURVE server authenticated by the allowlist (before bind)."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True
        sock.zap_domain = ZAP_DOMAIN.encode()

    def start_authenticator(self, ctx: zmq.Context) -> ThreadAuthenticator:
        """Start the ZAP handler of ``ctx`` that applies the allowlist; stop it on exit."""
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve_callback(domain=ZAP_DOMAIN, credentials_provider=self)
        return auth


@dataclass(frozen=True)
class ClientKeys:
    """A client's key pair and the server's public key."""

    public: bytes
    secret: bytes
    server_public: bytes

    @classmethod
    def load(cls, client_secret: Path, server_public: Path) -> ClientKeys:
        """The client's ``NAME.key_secret`` and the server's ``server.key``."""
        public, secret = _secret_pair(client_secret)
        return cls(public, secret, _public_key(server_public))

    @classmethod
    def from_folder(cls, folder: Path, name: str | None = None) -> tuple[ClientKeys, str]:
        """A client's key folder: its own ``NAME.key_secret`` (the only one, or ``name``)
        and a copy of the server's ``server.key``. Returns the keys and the key name."""
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a key folder")
        server = folder / f"{SERVER_KEY_NAME}{PUBLIC_SUFFIX}"
        if not server.is_file():
            raise FileNotFoundError(f"{server} missing: copy the server's public key there")
        secrets = sorted(
            p.name[: -len(SECRET_SUFFIX)]
            for p in folder.glob(f"*{SECRET_SUFFIX}")
            if p.name != f"{SERVER_KEY_NAME}{SECRET_SUFFIX}"
        )
        if name is None:
            if len(secrets) != 1:
                found = ", ".join(secrets) or "none"
                raise ValueError(
                    f"{folder}: expected one client NAME{SECRET_SUFFIX} (found: {found}); "
                    "make one with `robot-us keys generate --out DIR --name NAME`"
                )
            name = secrets[0]
        elif name not in secrets:
            raise FileNotFoundError(f"{folder / (name + SECRET_SUFFIX)} missing")
        return cls.load(folder / f"{name}{SECRET_SUFFIX}", server), name

    def secure(self, sock: zmq.Socket) -> None:
        """Make ``sock`` a CURVE client of the server (before connect)."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_serverkey = self.server_public
