"""A robot-side server in its own process for the console's tests and screenshot: started
from a command line for a base port, on a free block of ports, ready once a client's
``hello`` is answered, killed (SIGKILL, like a crash or a pulled cable) and started again
on the same ports. Which server is the caller's choice: ``robot-us serve`` running the
simulator (``serve_command``) or the console stub (``stub_command``). The server runs in its
own process group (``stop`` and ``kill`` end the whole of it: ``robot-us serve`` has child
processes) and gets SIGTERM when the test process dies, so no server outlives its test
(the same handling as tests/server_harness.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from robot_us.protocol.client import Client, NotConnectedError, RequestTimeoutError
from robot_us.protocol.endpoints import PORT_SPAN
from robot_us.protocol.impairment import free_port_block
from tests.server_harness import GROUP_EXIT_S, _killpg, _terminate_with_parent, wait_group_gone

ROOT = Path(__file__).resolve().parents[1]
#: How long a server may take to answer its first hello (s): ``robot-us serve`` starts
#: three processes that import numpy, pybullet, ...
READY_TIMEOUT = 180.0
#: How long ``stop`` waits for the server to exit after SIGTERM before killing its group (s).
STOP_TIMEOUT = 30.0


def serve_command(config: Path) -> Callable[[int], list[str]]:
    """``robot-us serve`` (this interpreter's) with ``config``, recording nothing."""
    return lambda port: [
        *(sys.executable, "-m", "robot_us", "serve", "--port", str(port)),
        *("--config", str(config), "--no-record"),
    ]


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
        self._err: Path | None = None

    def start(self, timeout: float = READY_TIMEOUT) -> ServerProcess:
        """Start the server and wait until it answers ``hello``."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # its output to a file, not a pipe nobody reads while it runs (a full pipe blocks it)
        fd, name = tempfile.mkstemp(prefix="console-server-", suffix=".log")
        self._err = Path(name)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(self.port),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_terminate_with_parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self._end_group()
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
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

    def output(self) -> str:
        """The last of what the server printed (its log)."""
        if self._err is None or not self._err.exists():
            return ""
        return self._err.read_text(errors="replace")[-2000:]

    def kill(self) -> None:
        """SIGKILL to the server and every process of its group, as a crash would."""
        if self.proc is not None:
            _killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self._end_group()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to its whole group if it does not end; no process of the
        group is left after this."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._end_group()
        if self._err is not None:
            with contextlib.suppress(OSError):
                self._err.unlink()

    def _end_group(self) -> None:
        """Kill what is left of the server's process group (children outliving it)."""
        assert self.proc is not None
        if not wait_group_gone(self.proc.pid, GROUP_EXIT_S):
            _killpg(self.proc.pid, signal.SIGKILL)
            wait_group_gone(self.proc.pid, GROUP_EXIT_S)
