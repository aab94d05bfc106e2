"""Where the server listens: four TCP ports from one base port (``robot-us serve --port``),
and the rule that keeps an unauthenticated server off the network."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Default base port (``--port``).
DEFAULT_PORT = 5560
#: Port offsets from the base port.
COMMANDS_OFFSET = 0  # ROUTER: commands and replies
STATE_OFFSET = 1  # PUB: state stream
FRAMES_OFFSET = 2  # PUB: ultrasound frames
EVENTS_OFFSET = 3  # PUB: events
PORT_SPAN = 4
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


@dataclass(frozen=True)
class Endpoints:
    """The four ZeroMQ endpoints (``tcp://host:port``) of one server."""

    commands: str
    state: str
    frames: str
    events: str

    @classmethod
    def at(cls, host: str, port: int = DEFAULT_PORT) -> Endpoints:
        """The endpoints of a server at ``host`` with base ``port``."""
        if not 1 <= port <= 65535 - PORT_SPAN + 1:
            raise ValueError(f"port {port} outside 1..{65535 - PORT_SPAN + 1} (it uses 4 ports)")
        h = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return cls(
            commands=f"tcp://{h}:{port + COMMANDS_OFFSET}",
            state=f"tcp://{h}:{port + STATE_OFFSET}",
            frames=f"tcp://{h}:{port + FRAMES_OFFSET}",
            events=f"tcp://{h}:{port + EVENTS_OFFSET}",
        )

    @classmethod
    def parse(cls, url: str) -> Endpoints:
        """The endpoints of ``tcp://HOST:PORT`` (the command port)."""
        parts = urlsplit(url)
        if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
            raise ValueError(f"'{url}' is not tcp://HOST:PORT")
        return cls.at(parts.hostname, parts.port)


def is_loopback(host: str) -> bool:
    """True for a loopback address or name (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, have_keys: bool) -> str | None:
    """The one line ``robot-us serve`` prints (exit status 2) when it must not bind
    ``host``: without CurveZMQ keys the server binds loopback only. None when allowed."""
    if have_keys or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without CurveZMQ keys: anyone on the network could "
        "drive the robot. Give --keys DIR (make them with `robot-us keys generate`) or "
        "use --host 127.0.0.1"
    )
