"""A robot-side server in its own process for the console's tests and screenshot: started
from a command line for a base port, on a free block of ports, ready once a client's
``hello`` is answered, killed (SIGKILL, like a crash or a pulled cable) and started again
on the same ports. Which server is the caller's choice: the console stub
(``stub_command``) until ``robot-us serve`` lands (docs/console.md, "Testing")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from robot_us.protocol.client import Client, NotConnectedError, RequestTimeoutError
from robot_us.protocol.endpoints import PORT_SPAN
from robot_us.protocol.impairment import free_port_block

ROOT = Path(__file__).resolve().parents[1]
#: How long a server may take to answer its first hello (s).
READY_TIMEOUT = 60.0


def stub_command(port: int, *extra: str) -> list[str]:
    """The console stub on base port ``port``."""
    return [sys.executable, "-m", "tests.console_stub", "--port", str(port), *extra]


class ServerProcess:
    """One server process on fixed ports (see the module docstring)."""

    def __init__(self, command: Callable[[int], list[str]], port: int | None = None) -> None:
        self.command = command
        self.port = port if port is not None else free_port_block(PORT_SPAN)
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = READY_TIMEOUT) -> ServerProcess:
        """Start the server and wait until it answers ``hello``."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            self.command(self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err[-2000:]}")
            if self._answers():
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"server at {self.url} not ready within {timeout:.0f} s")
            time.sleep(0.2)

    def _answers(self) -> bool:
        client = Client(self.url, name="readiness", streams=(), timeout=0.5)
        try:
            client.connect()
            return True
        except (NotConnectedError, RequestTimeoutError):
            return False
        finally:
            client.close()

    @property
    def alive(self) -> bool:
        """The process runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
