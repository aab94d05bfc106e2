"""Screenshot of the operator console mid-sweep, for the README: starts a robot-side server
and the console under a real X server (Xvfb, started here unless ``DISPLAY`` is set),
draws the demo's stroke, starts the scan and saves the window when the sweep is about
half way (``--at``).

    python scripts/console_screenshot.py [--out docs/img/console.png]

Needs the gui extra and Debian's xvfb (plus the xcb libraries Qt needs: libxcb-icccm4,
libxcb-keysyms1, libxcb-cursor0, libxkbcommon-x11-0). The server is the console stub
(tests/console_stub.py) with the simulated camera (pybullet) and the B-mode simulator
scored by the shipped quality model; with ``robot-us serve`` available, pass
``--server serve`` to photograph the real server running the simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
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


def start_xvfb() -> subprocess.Popen:
    """Start Xvfb on a free display and point DISPLAY at it."""
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    display = proc.stdout.readline().strip()
    if not display:
        raise RuntimeError("Xvfb did not start (apt-get install xvfb)")
    os.environ["DISPLAY"] = f":{display}"
    return proc


def server_command(kind: str) -> Callable[[int], list[str]]:
    """The command line of the server to photograph, for a base port."""
    from tests.console_server import stub_command

    if kind == "serve":
        return lambda port: [
            *(sys.executable, "-m", "robot_us", "serve", "--port", str(port), "--no-record")
        ]
    return lambda port: stub_command(port, "--view", "pybullet", "--frames", "bmode")


def shoot(url: str, out: Path, at: float) -> None:
    """Run the console against ``url`` through a scan and save it at progress ``at``."""
    from PySide6.QtWidgets import QApplication

    from gui.app import make_window

    app = QApplication(sys.argv[:1])
    window = make_window(url, name="console")

    def wait_until(pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}")
            app.processEvents()
            time.sleep(0.01)

    try:
        window.resize(*WINDOW)
        window.show()
        window.start()
        wait_until(lambda: window.link.in_control and window.camera.has_snapshot(), "control")
        stroke = json.loads((ROOT / "robot_us/scan/default_stroke.json").read_text())["pixels"]
        window.scan_panel.speed.setValue(SPEED_MM_S)
        window.set_force(FORCE_N)
        window.camera.add_piece(stroke)
        window.camera.zoom_to(*ZOOM)
        wait_until(lambda: window.preview is not None, "the path preview")
        for _ in range(5):  # on a loaded machine control may be lost and taken back
            wait_until(window.scan_panel.start.isEnabled, "Start enabled")
            window.scan_panel.start.click()
            try:
                wait_until(lambda: window.link.state.scan.state != "idle", "the scan", 5.0)
                break
            except TimeoutError:
                continue
        wait_until(
            lambda: (
                (st := window.link.state) is not None
                and st.scan.state == "sweep"
                and st.scan.progress >= at
            ),
            "mid-sweep",
            timeout=120,
        )
        window.ultrasound.overlay.setChecked(True)
        for _ in range(10):  # a few refreshes with the overlay on
            app.processEvents()
            time.sleep(0.04)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            raise OSError(f"could not write {out}")
        print(f"saved {out}")
    finally:
        window.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs/img/console.png")
    p.add_argument("--at", type=float, default=0.55, help="sweep progress of the picture")
    p.add_argument("--server", choices=("stub", "serve"), default="stub")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up Xvfb and the server
    xvfb = start_xvfb() if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from tests.console_server import ServerProcess

    server = ServerProcess(server_command(args.server))
    try:
        print("starting the server", flush=True)
        server.start(timeout=300)
        print(f"server ready at {server.url}", flush=True)
        shoot(server.url, args.out, args.at)
    finally:
        server.stop()
        if xvfb is not None:
            xvfb.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
