"""Running the real robot-side server (``robot-us serve``) for tests and the benchmark: in
its own process (so the test's clients never share an interpreter lock with it), on a free
block of loopback ports, recording into a temporary folder, with a test configuration.

The test configuration: the control loop and the server's event loop at ``SCHED_FIFO``
priority where this user may (``fifo_allowed``; otherwise at normal priority), a looser
missed-deadline limit (a shared machine descheduling the loop is not what these tests are about),
and, for teleoperation,
a home pose with the probe a few millimetres above the top of the simulated body
(``home_above_skin``), so that the approach to the skin takes about a second.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from robot_us.protocol.client import Client, NotConnectedError, RequestTimeoutError
from robot_us.protocol.endpoints import PORT_SPAN
from robot_us.protocol.impairment import free_port_block
from robot_us.server import links

ROOT = Path(__file__).resolve().parents[1]
#: How long a server may take to start (s): three processes import numpy, pybullet, ...
START_TIMEOUT_S = 180.0
#: How long ``ServerProcess.stop`` waits for the server to exit before it kills its
#: whole process group (s); a clean stop takes a few seconds (tests/test_server_signals.py).
STOP_TIMEOUT_S = 30.0
#: How long a server and its children may take to be gone after SIGTERM in the tests
#: that check it (s): a clean stop takes about a second on an idle machine; this leaves
#: room for a busy one.
SIGNAL_EXIT_S = 10.0
#: How long the children may outlive the server's exit before the group is killed (s).
GROUP_EXIT_S = 10.0
#: SCHED_FIFO priorities of the control loop and of the server's event loop, where allowed.
TEST_PRIORITY = 10
SERVER_PRIORITY = 5
#: SCHED_FIFO priority of the impairment proxy's process, where allowed.
PROXY_PRIORITY = 4
#: Interpreter switch interval of a process with test clients (s), as the server's.
CLIENT_SWITCH_INTERVAL_S = 5e-4
#: SCHED_FIFO priority of a test's client I/O thread (heartbeats), below the server's.
CLIENT_PRIORITY = 4
#: Loop deadlines missed in a row that stop the arm in tests (``safety.max_missed_deadlines``,
#: default 20): the shared VM's hypervisor takes the CPU away for tens of milliseconds at
#: times, even from a SCHED_FIFO loop.
MISSED_DEADLINE_LIMIT = 200
#: Height of the probe face above the top of the body at the teleop home pose (m).
HOME_CLEARANCE = 0.008


def _terminate_with_parent() -> None:
    """In a child between fork and exec: SIGTERM when the parent dies (Linux
    ``PR_SET_PDEATHSIG``; nothing elsewhere)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _load_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


#: ``prctl(2)``, looked up before any fork (None where there is none).
_PRCTL = _load_prctl() if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """True while a process (not a zombie) of group ``pgid`` is left (Linux ``/proc``)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no process of group ``pgid`` is left; False after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def child_pids(pid: int) -> list[int]:
    """Process ids of ``pid``'s children (Linux ``/proc``; [] when it is gone)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


@cache
def fifo_allowed() -> bool:
    """True if this user may give a process ``SCHED_FIFO`` priority."""
    code = (
        "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1)); "
        "os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))"
    )
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    except OSError:
        return False


@cache
def home_above_skin(
    model: str = "panda", offset: tuple[float, float] = (0.0, 0.0)
) -> tuple[float, ...]:
    """Joints (rad) with the probe pointing straight down ``HOME_CLEARANCE`` above the top
    of the default body, ``offset`` (m, base x and y) from its centre, its x axis along
    base x."""
    from robot_us.config import load_config
    from robot_us.core.arms import arm_model
    from robot_us.core.kinematics import ArmKinematics, probe_transform

    cfg = load_config(overrides={"robot.model": model})
    kin = ArmKinematics(model, probe_transform(cfg.probe.tip_offset))
    top = cfg.sim.bed.top_z + cfg.sim.phantom.height
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    x, y = (c + d for c, d in zip(cfg.sim.phantom.center_xy, offset, strict=True))
    T[:3, 3] = (x, y, top + HOME_CLEARANCE)
    q, ok, why = kin.ik(T, np.array(arm_model(model).q_home))
    if not ok:
        raise RuntimeError(f"no joints for the teleop home pose: {why}")
    return tuple(float(x) for x in q)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def write_config(path: Path, settings: dict[str, Any], teleop_home: bool = False) -> Path:
    """A TOML file of dotted ``settings`` over the test defaults (module doc)."""
    values: dict[str, Any] = {"safety.max_missed_deadlines": MISSED_DEADLINE_LIMIT}
    if fifo_allowed():
        values["loop.realtime_priority"] = TEST_PRIORITY
        values["server.realtime_priority"] = SERVER_PRIORITY
        values["server.imaging_nice"] = 0  # the loops have priority: imaging needs no less
    if teleop_home:
        values["robot.q_home"] = list(home_above_skin())
    values.update(settings)
    tables: dict[str, list[str]] = {}
    for key, value in values.items():
        table, _, name = key.rpartition(".")
        tables.setdefault(table, []).append(f"{name} = {_toml(value)}")
    text = "".join(f"[{t}]\n" + "\n".join(lines) + "\n\n" for t, lines in tables.items())
    path.write_text(text)
    return path


class ServerProcess:
    """``robot-us serve`` in a subprocess on a free port block (``url``), recording into
    ``record_dir``; ``stop()`` interrupts it like Ctrl-C and returns its exit code."""

    def __init__(
        self,
        workdir: Path,
        settings: dict[str, Any] | None = None,
        *,
        teleop_home: bool = False,
        keys: Path | None = None,
        host: str = "127.0.0.1",
        record: bool = True,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.config = write_config(workdir / "server.toml", settings or {}, teleop_home)
        self.port = free_port_block(PORT_SPAN)
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.record_dir = workdir / "sessions"
        cmd = [
            sys.executable,
            "-m",
            "robot_us",
            "serve",
            "--host",
            host,
            "--port",
            str(self.port),
            "--config",
            str(self.config),
        ]
        cmd += ["--record", str(self.record_dir)] if record else ["--no-record"]
        if keys is not None:
            cmd += ["--keys", str(keys)]
        self.log_path = workdir / "server.log"
        self._log = self.log_path.open("wb")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # its own process group (``stop`` can kill the whole of it), and SIGTERM when this
        # process dies without stopping it (a test run killed): no server outlives its test
        self.proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        self.pgid = self.proc.pid

    def wait_ready(self, keys: Any = None, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until the server answers a hello."""
        deadline = time.monotonic() + timeout
        c = Client(self.url, name="probe", keys=keys, timeout=1.0)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"robot-us serve exited {self.proc.returncode}: {self.output()}"
                    )
                try:
                    c.connect(timeout=1.0)
                    return
                except (NotConnectedError, RequestTimeoutError):
                    time.sleep(0.5)
        finally:
            c.close()
        raise RuntimeError(f"robot-us serve did not answer within {timeout:.0f} s: {self.output()}")

    def output(self) -> str:
        """What the server printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGINT (like Ctrl-C), then wait for the server and every process of its group;
        after ``timeout`` the whole group is killed. Returns the server's exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _killpg(self.pgid, signal.SIGKILL)
            self.proc.wait()
        if not wait_group_gone(self.pgid, GROUP_EXIT_S):  # a child outlived the server
            _killpg(self.pgid, signal.SIGKILL)
            wait_group_gone(self.pgid, GROUP_EXIT_S)
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def children(self) -> list[int]:
        """Process ids of the server's children now (Linux ``/proc``)."""
        return child_pids(self.proc.pid)

    def recording_pid(self) -> int | None:
        """The child process that holds the session's recording file open (or None)."""
        paths = set(self.recordings())
        for pid in self.children():
            for fd in Path(f"/proc/{pid}/fd").glob("*"):
                with contextlib.suppress(OSError):
                    if Path(os.readlink(fd)) in paths:
                        return pid
        return None

    def recordings(self) -> list[Path]:
        """The session recordings written."""
        return sorted(self.record_dir.glob("session-*.mcap"))


@cache
def client_context() -> Any:
    """One ZeroMQ context for the test clients, its I/O thread at ``CLIENT_PRIORITY``."""
    return links.context(CLIENT_PRIORITY if fifo_allowed() else 0)


def connect(url: str, name: str, **kw: Any) -> Client:
    """A connected client whose I/O thread (its heartbeats) runs at ``CLIENT_PRIORITY``
    where allowed, so a busy test machine does not trip the server's deadman."""
    prio = CLIENT_PRIORITY if fifo_allowed() else 0
    # the I/O threads (heartbeats) wait for the interpreter lock at most this long
    sys.setswitchinterval(min(sys.getswitchinterval(), CLIENT_SWITCH_INTERVAL_S))
    c = Client(url, name=name, context=client_context(), **kw)
    c.connect(timeout=5.0)
    tid = c.io_thread_id
    if prio and tid is not None:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(prio))
    return c


def _relay(target_port: int, impairment: Any, ports: Any, drop: Any, stop: Any) -> None:
    """The impairment proxy's process (``ProxyProcess``)."""
    from robot_us.protocol.impairment import ImpairmentProxy

    if fifo_allowed():
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(PROXY_PRIORITY))
    proxy = ImpairmentProxy(target_port, impairment, ports=PORT_SPAN).start()
    ports.put(proxy.listen_port)
    parent = os.getppid()
    try:
        while not drop.wait(0.5):
            if os.getppid() != parent:  # the test process is gone
                return
        if not stop.is_set():
            proxy.drop("blackhole")
        while not stop.wait(0.5) and os.getppid() == parent:
            pass
    finally:
        proxy.stop()


class ProxyProcess:
    """The impairment proxy for a server's four ports, in its own process (at
    ``PROXY_PRIORITY`` where allowed): in the test's process its thread would wait for the
    interpreter lock behind the clients' threads and add seconds to the link."""

    def __init__(self, target_port: int, impairment: Any) -> None:
        ctx = mp.get_context("spawn")
        ports = ctx.Queue()
        self._drop, self._stop = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(
            target=_relay,
            args=(target_port, impairment, ports, self._drop, self._stop),
            daemon=True,
        )
        self.proc.start()
        self.port = ports.get(timeout=60)

    def url(self, i: int = 0) -> str:
        """``tcp://127.0.0.1:port`` of the ``i``-th relayed port."""
        return f"tcp://127.0.0.1:{self.port + i}"

    def blackhole(self) -> None:
        """The link goes silent (nothing forwarded, sockets open)."""
        self._drop.set()

    def stop(self) -> None:
        """Close the proxy."""
        self._stop.set()
        self._drop.set()
        self.proc.join(timeout=10)


@contextlib.contextmanager
def running_server(workdir: Path, settings: dict[str, Any] | None = None, **kw: Any):
    """A started ``ServerProcess``; stopped at the end."""
    client_keys = kw.pop("client_keys", None)
    server = ServerProcess(workdir, settings, **kw)
    try:
        server.wait_ready(keys=client_keys)
        yield server
    finally:
        server.stop()
