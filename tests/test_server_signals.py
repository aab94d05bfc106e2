"""Stopping ``robot-us serve`` by a signal: SIGTERM to the whole process group of a
running server (as ``systemctl stop`` or ``kill -- -PGID`` send it) while a client holds
control and teleoperates, and SIGTERM to the server while it is still starting. Each time
the server exits 143 within ``EXIT_S``, no process of its group is left, and a session
that had started recording has a complete, readable recording. And a recording process
that dies (SIGKILL) is reported on the events stream and does not hold up the stop."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from robot_us.recording.reader import read_recording
from tests.server_harness import ServerProcess, connect, group_alive, wait_group_gone

pytestmark = pytest.mark.slow

#: How long the server and its children may take to be gone after the signal (s): a
#: clean stop takes about a second on an idle machine; this leaves room for a busy one.
EXIT_S = 10.0


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


def recording_child(srv: ServerProcess) -> int:
    """The child process that holds the session's recording file open."""
    (path,) = srv.recordings()
    for pid in srv.children():
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):
                if Path(os.readlink(fd)) == path:
                    return pid
    pytest.fail(f"no child holds {path} open")


def test_a_lost_recording_process_is_reported_and_stop_still_works(tmp_path):
    srv = ServerProcess(tmp_path, {})
    try:
        srv.wait_ready()
        watcher = connect(srv.url, "watcher")
        try:
            os.kill(recording_child(srv), signal.SIGKILL)
            deadline = time.monotonic() + 10.0
            seen = []
            while not any(e.kind == "recording" for e in seen):
                assert time.monotonic() < deadline, [(e.kind, e.cause) for e in seen]
                seen += watcher.events()
                time.sleep(0.05)
            assert watcher.wait_state(2.0) is not None  # still serving
        finally:
            watcher.close()
        srv.proc.send_signal(signal.SIGTERM)
        assert wait_exit(srv.proc, EXIT_S) == 143, srv.output()
        assert wait_group_gone(srv.pgid, EXIT_S)
    finally:
        srv.stop()
