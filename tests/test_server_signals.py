"""Stopping ``robot-us serve`` by a signal: SIGTERM to the whole process group of a
running server (as ``systemctl stop`` or ``kill -- -PGID`` send it) while a client holds
control and teleoperates, and SIGTERM to the server while it is still starting. Each time
the server exits 143 within ``SIGNAL_EXIT_S``, no process of its group is left, and a session
that had started recording has a complete, readable recording. (A recording process that
dies: tests/test_server_scan.py, last.)"""

import os
import signal
import subprocess
import time

import pytest

from robot_us.recording.reader import read_recording
from tests.server_harness import (
    SIGNAL_EXIT_S,
    ServerProcess,
    connect,
    group_alive,
    wait_group_gone,
)

pytestmark = pytest.mark.slow

EXIT_S = SIGNAL_EXIT_S  # (s)


def wait_exit(proc: subprocess.Popen, timeout: float) -> int | None:
    """The exit code, or None if still running after ``timeout`` s."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_sigterm_to_the_group_of_a_running_server(tmp_path):
    srv = ServerProcess(tmp_path, {}, teleop_home=True)
    try:
        srv.wait_ready()
        op = connect(srv.url, "operator")
        try:
            op.take_control()
            op.teleop_start()
            op.wait_state(2.0)
            children = srv.children()
            assert len(children) >= 4  # control, imaging, planning, recording (+ tracker)
            os.killpg(srv.pgid, signal.SIGTERM)  # the server and every child
            t0 = time.monotonic()
            code = wait_exit(srv.proc, EXIT_S)
            gone = wait_group_gone(srv.pgid, max(0.0, EXIT_S - (time.monotonic() - t0)))
        finally:
            op.close()
        assert code == 143, srv.output()
        assert gone, f"processes of the server's group left {EXIT_S} s after SIGTERM"
        assert "stopped by SIGTERM" in srv.output()
    finally:
        srv.stop()
    (path,) = srv.recordings()
    rec = read_recording(path)
    assert rec.status == "complete"
    assert rec.summary is not None and rec.summary["result"] == "ok"
    assert {"take_control", "teleop_start"} <= {c["type"] for c in rec.operator_commands}
    assert len(rec.state) > 100


def test_sigterm_while_starting(tmp_path):
    srv = ServerProcess(tmp_path, {})
    try:
        deadline = time.monotonic() + 120.0
        while len(srv.children()) < 2:  # the control and planning processes are starting
            assert srv.proc.poll() is None, srv.output()
            assert time.monotonic() < deadline, "the server started no child"
            time.sleep(0.05)
        srv.proc.send_signal(signal.SIGTERM)
        code = wait_exit(srv.proc, EXIT_S)
        assert code == 143, srv.output()
        assert wait_group_gone(srv.pgid, EXIT_S), "children outlived the server"
        assert "listening on" not in srv.output()
    finally:
        srv.stop()
    assert not group_alive(srv.pgid)
