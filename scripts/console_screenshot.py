"""Screenshot of the operator console mid-sweep, for the README: starts the robot-side
server (``robot-us serve`` running the simulator, its default configuration) and the
console under a real X server (Xvfb, started here unless ``DISPLAY`` is set), draws the
demo's stroke, starts the scan and saves the window when the sweep is about half way
(``--at``).

    python scripts/console_screenshot.py [--out docs/img/console.png] [--no-realtime]

Where this user may (root, CAP_SYS_NICE or an rtprio limit), the server's control loop
runs at ``SCHED_FIFO`` priority ``--loop-priority`` (10) and its event loop at
``--server-priority`` (5), as docs/protocol.md recommends; otherwise (or with
``--no-realtime``) both run at normal priority. If a safety fault latches (a loaded
machine can miss ``safety.max_missed_deadlines`` loop deadlines in a row), the faults
are reset with the console's **Reset faults** button and the scan is started again, at
most ``--attempts`` times; a scan left paused (this console lost control for a moment) is
resumed with **Resume**. The console's messages are printed as they come, state, force
and loop timing every second.

Needs the gui extra and Debian's xvfb (plus the xcb libraries Qt needs: libxcb-icccm4,
libxcb-keysyms1, libxcb-cursor0, libxkbcommon-x11-0). ``--server stub`` photographs the
console stub (tests/console_stub.py: simulated camera and B-mode, a toy scan) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Screen of the virtual X server and the console window's size (px).
SCREEN = "1920x1080x24"
WINDOW = (1680, 1000)
#: Scan settings of the picture.
SPEED_MM_S = 8.0
FORCE_N = 6.0
#: The camera image region shown (u0, v0, u1, v1 px): the body on the bed.
ZOOM = (150.0, 110.0, 500.0, 420.0)
#: SCHED_FIFO priorities of the server's control loop and event loop (where allowed).
LOOP_PRIORITY = 10
SERVER_PRIORITY = 5
#: Scan starts tried before giving up (each after a fault reset).
ATTEMPTS = 5
#: Longest waits (s): control and the camera image, the preview, a scan reaching the
#: picture's progress.
CONNECT_TIMEOUT_S = 60.0
SWEEP_TIMEOUT_S = 180.0
#: A scan paused this long (s) is resumed (longer than the quality policy's own pause,
#: ``scan.pause_timeout`` = 2 s by default).
RESUME_AFTER_S = 4.0
#: How often the progress line is printed (s).
PRINT_EVERY_S = 1.0


def start_xvfb() -> subprocess.Popen:
    """Start Xvfb on a free display and point DISPLAY at it."""
    try:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"],
            stdout=subprocess.PIPE,
            text=True,
        )
    except FileNotFoundError as exc:
        raise SystemExit("Xvfb not found: apt-get install -y xvfb") from exc
    assert proc.stdout is not None
    display = proc.stdout.readline().strip()
    if not display:
        raise RuntimeError("Xvfb did not start (apt-get install -y xvfb)")
    os.environ["DISPLAY"] = f":{display}"
    return proc


def server_config(path: Path, loop_priority: int, server_priority: int) -> Path:
    """The server's configuration over the defaults: real-time priorities (0 = none)."""
    lines = []
    if loop_priority > 0:
        lines += ["[loop]", f"realtime_priority = {loop_priority}", ""]
        lines += ["[server]", f"realtime_priority = {server_priority}", ""]
    path.write_text("\n".join(lines))
    return path


def server_command(kind: str, config: Path) -> Callable[[int], list[str]]:
    """The command line of the server to photograph, for a base port."""
    from tests.console_server import serve_command, stub_command

    if kind == "serve":
        return serve_command(config)
    return lambda port: stub_command(port, "--view", "pybullet", "--frames", "bmode")


def load() -> str:
    """The load averages (1, 5, 15 min) of this machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def status_line(st) -> str:
    """Scan state and progress, force against its set-point, loop timing and faults."""
    lo = st.loop
    loop = (
        "loop -"
        if lo is None
        else (
            f"loop {lo.rate_hz:.0f} Hz compute p99 {lo.compute_us_p99:.0f} us "
            f"late p99 {lo.late_us_p99:.0f} us overruns {lo.overruns} skipped {lo.skipped}"
        )
    )
    faults = "; ".join(f"{f.name}: {f.cause}" for f in st.faults) or "none"
    return (
        f"scan {st.scan.state} {100 * st.scan.progress:3.0f} %  mode {st.mode}  "
        f"force {st.force:5.2f} N (set {st.force_setpoint:.1f})  {loop}  faults {faults}"
    )


class Shooter:
    """Drives the console through a scan (see the module docstring)."""

    def __init__(self, url: str, attempts: int) -> None:
        from PySide6.QtWidgets import QApplication

        from gui.app import make_window

        self.app = QApplication(sys.argv[:1])
        self.window = make_window(url, name="console")
        self.attempts = attempts
        self._printed = 0.0
        self._note = ""

    def state(self):
        return self.window.link.state

    def pump(self) -> None:
        """Let Qt run a moment; print the console's messages (events, refusals) as they
        come and the state once a second."""
        self.app.processEvents()
        time.sleep(0.01)
        note = self.window.status.note.text()
        if note != self._note:
            self._note = note
            print(f"console: {note}", flush=True)
        st = self.state()
        now = time.monotonic()
        if st is not None and now - self._printed >= PRINT_EVERY_S:
            self._printed = now
            print(status_line(st), flush=True)

    def wait_until(self, pred: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}")
            self.pump()

    def latched(self) -> tuple[str, ...]:
        """The latched faults (and an engaged E-stop) of the newest state."""
        st = self.state()
        if st is None:
            return ()
        return tuple(f.cause for f in st.faults) + (("E-stop engaged",) if st.estop else ())

    def faulted(self) -> bool:
        """A fault is latched or the scan ended faulted."""
        st = self.state()
        return bool(self.latched()) or (st is not None and st.scan.state == "faulted")

    def reset_faults(self) -> None:
        """Reset the latched faults with the console's button; returns once the state shows
        them gone or replaced (a condition still present latches again at once)."""
        panel = self.window.scan_panel
        before = self.latched()
        if not before:
            return
        self.wait_until(panel.reset.isEnabled, "Reset faults enabled", CONNECT_TIMEOUT_S)
        print("resetting faults (console button)", flush=True)
        panel.reset.click()
        self.wait_until(lambda: self.latched() != before, "the faults reset", CONNECT_TIMEOUT_S)

    def prepare(self) -> None:
        """Show the window, take control, draw the stroke and wait for its preview."""
        w = self.window
        w.resize(*WINDOW)
        w.show()
        w.start()
        self.wait_until(
            lambda: w.link.in_control and w.camera.has_snapshot(), "control", CONNECT_TIMEOUT_S
        )
        stroke = json.loads((ROOT / "robot_us/scan/default_stroke.json").read_text())["pixels"]
        w.scan_panel.speed.setValue(SPEED_MM_S)
        w.set_force(FORCE_N)
        w.camera.add_piece(stroke)
        w.camera.zoom_to(*ZOOM)
        self.wait_until(lambda: w.preview is not None, "the path preview", CONNECT_TIMEOUT_S)

    def sweep_to(self, at: float) -> int:
        """Start the scan (again after a fault) until it reaches ``at`` of its sweep;
        returns the attempts it took."""
        from gui.scan_panel import STARTABLE  # states of no scan or an ended one

        panel = self.window.scan_panel
        for attempt in range(1, self.attempts + 1):
            try:
                self.reset_faults()
                self.wait_until(
                    lambda: panel.start.isEnabled() or bool(self.latched()),
                    "Start enabled",
                    CONNECT_TIMEOUT_S,
                )
                if self.latched():
                    print(f"attempt {attempt}: fault again: {status_line(self.state())}")
                    continue
                print(f"attempt {attempt}: Start", flush=True)
                panel.start.click()
                self.wait_until(
                    lambda: self.state().scan.state not in STARTABLE or bool(self.latched()),
                    "the scan to start",
                    CONNECT_TIMEOUT_S,
                )
                self.wait_for_progress(at)
            except TimeoutError as exc:
                print(f"attempt {attempt}: {exc}", flush=True)
                continue
            if not self.faulted():
                return attempt
            print(f"attempt {attempt}: fault: {status_line(self.state())}", flush=True)
        raise RuntimeError(f"no sweep reached {100 * at:.0f} % in {self.attempts} attempts")

    def wait_for_progress(self, at: float) -> None:
        """Wait until the sweep reaches ``at`` or a fault latches; a scan paused for longer
        than a quality pause lasts (the server pauses it when this console lost control,
        e.g. its heartbeats late on a loaded machine) is resumed with the Resume button."""
        panel = self.window.scan_panel
        deadline = time.monotonic() + SWEEP_TIMEOUT_S
        paused_since: float | None = None
        while not self.faulted():
            st = self.state()
            if st.scan.state == "sweep" and st.scan.progress >= at:
                return
            now = time.monotonic()
            if st.scan.state != "paused":
                paused_since = None
            elif paused_since is None:
                paused_since = now
            elif now - paused_since > RESUME_AFTER_S and panel.resume.isEnabled():
                print("resuming the paused scan (console button)", flush=True)
                panel.resume.click()
                paused_since = None
            if now > deadline:
                raise TimeoutError(f"waited {SWEEP_TIMEOUT_S:.0f} s for mid-sweep")
            self.pump()

    def save(self, out: Path) -> None:
        """A few refreshes with the confidence overlay on, then the window to ``out``."""
        w = self.window
        w.ultrasound.overlay.setChecked(True)
        for _ in range(10):
            self.app.processEvents()
            time.sleep(0.04)
        st = self.state()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not w.grab().save(str(out)):
            raise OSError(f"could not write {out}")
        print(f"saved {out}: {status_line(st)}; load average {load()}", flush=True)

    def close(self) -> None:
        self.window.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs/img/console.png")
    p.add_argument("--at", type=float, default=0.55, help="sweep progress of the picture")
    p.add_argument("--server", choices=("serve", "stub"), default="serve")
    p.add_argument("--no-realtime", action="store_true", help="no SCHED_FIFO for the server")
    p.add_argument("--loop-priority", type=int, default=LOOP_PRIORITY)
    p.add_argument("--server-priority", type=int, default=SERVER_PRIORITY)
    p.add_argument("--attempts", type=int, default=ATTEMPTS, help="scan starts at most")
    args = p.parse_args()
    if not 0.0 < args.at < 1.0:
        p.error(f"--at must be in (0, 1), got {args.at}")
    if not 0 < args.server_priority < args.loop_priority <= 99:
        p.error("priorities: 0 < --server-priority < --loop-priority <= 99")
    if args.attempts < 1:
        p.error("--attempts must be >= 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up Xvfb and the server
    from tests.console_server import ServerProcess
    from tests.server_harness import fifo_allowed

    realtime = not args.no_realtime and fifo_allowed()
    if not args.no_realtime and not realtime:
        print("SCHED_FIFO not allowed for this user: the server runs at normal priority")
    prio = (args.loop_priority, args.server_priority) if realtime else (0, 0)
    print(f"loop / server SCHED_FIFO priority: {prio[0]} / {prio[1]} (0 = normal)")
    xvfb = start_xvfb() if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    with tempfile.TemporaryDirectory(prefix="console-shot-") as tmp:
        config = server_config(Path(tmp) / "server.toml", *prio)
        server = ServerProcess(server_command(args.server, config))
        shooter = None
        try:
            print(f"starting the server ({args.server}); load average {load()}", flush=True)
            server.start(timeout=300)
            print(f"server ready at {server.url}", flush=True)
            shooter = Shooter(server.url, args.attempts)
            shooter.prepare()
            n = shooter.sweep_to(args.at)
            print(f"mid-sweep after {n} attempt(s)", flush=True)
            shooter.save(args.out)
        except (RuntimeError, TimeoutError) as exc:
            print(f"no screenshot: {exc}; load average {load()}", file=sys.stderr)
            return 1
        finally:
            if shooter is not None:
                shooter.close()
            server.stop()
            if xvfb is not None:
                xvfb.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
