"""The operator console against the real robot-side server (``robot-us serve`` running the
simulator in its own processes, one server per module): drawing and the path preview, a
scan's state and progress, the E-stop (button and key) with its fault and cause, jogging
with the deadman, a second console observing, and a killed and restarted server (banner,
E-stop sent on return, reconnection)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads: no display needed

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from gui.app import make_window
from gui.scan_panel import STARTABLE
from gui.window import ConsoleWindow
from robot_us.config import load_config
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.protocol.client import Client
from tests.console_server import ROOT, ServerProcess, serve_command
from tests.server_harness import home_above_skin, write_config

#: Generous waits (ms): the machine running the tests may be loaded.
WAIT = 15000
#: Probe-tip speed across its axis (m/s) above which the probe slides (a jog at the
#: console's default speed: 10 mm/s), and below which it stands (force control keeps
#: adjusting the contact along the axis).
SLIDING = 3e-3
STILL = 1e-3
#: The demo's stroke, drawn on the simulated camera's image (along the top of the body).
STROKE = np.array(json.loads((ROOT / "robot_us/scan/default_stroke.json").read_text())["pixels"])
#: The server's test configuration (over tests/server_harness.py's: looser missed-deadline limit,
#: real-time priorities where allowed): home with the probe a few mm above the body 0.12 m
#: along its axis from the centre, beyond the stroke's end (there teleoperation's approach
#: to the skin takes a second, and the arm hides none of the stroke from the camera; the
#: arm's usual home is not above the body at all); a deadman of 0.5 s (the console's
#: heartbeats share a loaded machine's CPU with Qt); short stand-off and retract and a
#: quicker transfer (the scan reaches its sweep in seconds); the state at 250 Hz (the
#: console draws at most 30 times a second).
HOME_OFFSET = (0.0, 0.12)
SETTINGS = {
    "server.deadman_ms": 500.0,
    "server.state_decimation": 4,
    "trajectory.standoff": 0.02,
    "trajectory.transfer_velocity_scale": 0.6,
    "force_control.contact.retract_distance": 0.02,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``robot-us serve`` with the simulator for this module's tests, started once."""
    settings = dict(SETTINGS, **{"robot.q_home": list(home_above_skin(offset=HOME_OFFSET))})
    config = write_config(tmp_path_factory.mktemp("console") / "server.toml", settings)
    proc = ServerProcess(serve_command(config))
    try:
        yield proc.start()
    finally:
        proc.stop()


def open_console(qtbot, url: str, name: str = "test-console", observe: bool = False):
    window = make_window(url, name=name, observe=observe)
    qtbot.addWidget(window)
    window.show()
    window.start()
    return window


def settle(window: ConsoleWindow, qtbot) -> None:
    """Wait for control and the camera image; leave no fault or scan from a test before."""
    qtbot.waitUntil(lambda: window.link.in_control and window.camera.has_snapshot(), timeout=WAIT)
    c = window.link.client
    st = window.link.state
    if st.teleop:
        c.teleop_stop()
    if st.faults or st.estop:
        c.reset_faults()
    if st.scan.state not in STARTABLE:
        c.abort_scan("test set-up")
    qtbot.waitUntil(
        lambda: (
            (s := window.link.state) is not None
            and not s.faults
            and not s.teleop
            and s.scan.state in STARTABLE
        ),
        timeout=WAIT,
    )


@pytest.fixture
def console(qtbot, server):
    """A console connected to the module's server, holding control, nothing running."""
    window = open_console(qtbot, server.url)
    settle(window, qtbot)
    yield window
    window.close()


def drag(view, points: np.ndarray) -> None:
    """Draw ``points`` (image pixels) freehand with the mouse."""
    vp = view.viewport()
    kinds = (
        [QMouseEvent.Type.MouseButtonPress]
        + [QMouseEvent.Type.MouseMove] * (len(points) - 2)
        + [QMouseEvent.Type.MouseButtonRelease]
    )
    for kind, (u, v) in zip(kinds, points, strict=True):
        pos = QPointF(view.mapFromScene(QPointF(u, v)))
        button = Qt.MouseButton.LeftButton
        buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
        event = QMouseEvent(
            kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(vp, event)


@pytest.fixture(scope="module")
def kin():
    """The simulated arm's kinematics with the probe (tip speed from q and qd)."""
    cfg = load_config()
    return ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))


def sliding_speed(window: ConsoleWindow, kin: ArmKinematics) -> float:
    """Probe-tip speed across its axis (m/s) in the newest state."""
    st = window.link.state
    v = kin.jacobian(np.asarray(st.q))[:3] @ np.asarray(st.qd)
    z = np.asarray(st.T_base_probe).reshape(4, 4)[:3, 2]
    return float(np.linalg.norm(v - z * float(z @ v)))


def draw_and_preview(window: ConsoleWindow, qtbot) -> None:
    window.camera.clear()
    drag(window.camera, STROKE)
    qtbot.waitUntil(lambda: window.preview is not None, timeout=WAIT)


def test_a_drawn_stroke_comes_back_as_a_path_with_its_length(console, qtbot):
    drag(console.camera, STROKE)
    assert len(console.camera.pieces) == 1
    qtbot.waitUntil(lambda: console.preview is not None, timeout=WAIT)
    p = console.preview
    # the stroke spans about 95 px on a 600 px focal length camera 0.9 m away: ~130 mm
    assert 0.08 < p.length < 0.2
    assert f"Path {p.length * 1e3:.0f} mm" in console.preview_label.text()
    speed = console.scan_panel.speed.value()
    assert f"{p.length / (speed / 1e3):.0f} s at {speed:.0f} mm/s" in console.preview_label.text()
    assert "reachable" in console.preview_label.text()
    assert console.camera._path_items, "the mapped path is drawn over the image"
    assert console.profile._curves, "the side view shows the height profile"
    qtbot.waitUntil(console.scan_panel.start.isEnabled, timeout=WAIT)
    # polyline vertices, undo, clear
    console.camera.mode = "polyline"
    console.camera.add_piece([(340.0, 225.0)])
    assert len(console.camera.stroke()) == len(STROKE) + 1
    console.camera.undo()
    assert len(console.camera.stroke()) == len(STROKE)
    console.camera.clear()
    qtbot.waitUntil(lambda: console.preview is None, timeout=WAIT)
    qtbot.waitUntil(lambda: not console.scan_panel.start.isEnabled(), timeout=WAIT)
    assert "Draw the scan path" in console.preview_label.text()


def test_a_stroke_running_off_the_body_is_marked(console, qtbot):
    off = np.array([(u, 225.0) for u in np.linspace(230.0, 480.0, 40)])  # past the body's edge
    console.camera.add_piece(off)
    qtbot.waitUntil(
        lambda: console.preview is not None or "not mapped" in console.preview_label.text(),
        timeout=WAIT,
    )
    if console.preview is not None:
        assert "off the body" in console.preview_label.text()
        assert console.camera.off_body_fraction() > 0.1
    console.camera.clear()


def test_start_pause_resume_abort_show_in_state_and_progress(console, qtbot):
    draw_and_preview(console, qtbot)
    qtbot.waitUntil(console.scan_panel.start.isEnabled, timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.link.state.scan.state == "sweep", timeout=WAIT)
    qtbot.waitUntil(lambda: console.scan_panel.progress.value() > 20, timeout=WAIT)
    assert "scan sweep" in console.status.scan.text()
    assert "sweep" in console.scan_panel.progress.text()
    first = console.scan_panel.progress.value()
    qtbot.waitUntil(lambda: console.scan_panel.progress.value() > first, timeout=WAIT)
    qtbot.waitUntil(lambda: bool(console.camera._progress_items), timeout=WAIT)
    assert console.track.labels, "the quality along the swept path is recorded"
    assert console.status.mode.text() == "mode contact"
    qtbot.waitUntil(lambda: console.scan_panel.pause.isEnabled(), timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "scan paused" in console.status.scan.text(), timeout=WAIT)
    assert console.scan_panel.resume.isEnabled() and not console.scan_panel.pause.isEnabled()
    qtbot.mouseClick(console.scan_panel.resume, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "scan sweep" in console.status.scan.text(), timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.abort, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "scan aborted" in console.status.scan.text(), timeout=WAIT)
    qtbot.waitUntil(console.scan_panel.start.isEnabled, timeout=WAIT)


def test_estop_by_button_and_by_key_latches_a_fault_with_its_cause(console, qtbot):
    assert console.estop_button.isEnabled()
    qtbot.mouseClick(console.estop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "FAULT" in console.status.faults.text(), timeout=WAIT)
    assert "estop" in console.status.faults.text()
    # the cause: the server's estop event (who and why) with the latched fault
    cause = "operator E-stop (console)"
    qtbot.waitUntil(lambda: cause in console.status.faults.text(), timeout=WAIT)
    qtbot.waitUntil(console.scan_panel.reset.isEnabled, timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.reset, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.status.faults.text() == "", timeout=WAIT)
    sent = console.link.estops_sent
    qtbot.keyClick(console.camera, Qt.Key.Key_Escape)  # wherever the focus is
    qtbot.waitUntil(lambda: "FAULT" in console.status.faults.text(), timeout=WAIT)
    assert console.link.estops_sent == sent + 1
    qtbot.waitUntil(lambda: cause in console.status.faults.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: not console.teleop_panel.deadman.isEnabled(), timeout=WAIT)


def test_after_a_faulted_scan_start_is_offered_again_once_faults_are_reset(console, qtbot):
    draw_and_preview(console, qtbot)
    qtbot.waitUntil(console.scan_panel.start.isEnabled, timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.link.state.scan.state not in STARTABLE, timeout=WAIT)
    qtbot.mouseClick(console.estop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "scan faulted" in console.status.scan.text(), timeout=WAIT)
    assert not console.scan_panel.start.isEnabled()  # the fault is still latched (same refresh)
    qtbot.waitUntil(console.scan_panel.reset.isEnabled, timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.reset, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.status.faults.text() == "", timeout=WAIT)
    qtbot.waitUntil(console.scan_panel.start.isEnabled, timeout=WAIT)
    assert console.link.state.scan.state == "faulted"  # the last scan's end, until a new one
    faulted_plan = console.link.state.scan.plan_id
    qtbot.mouseClick(console.scan_panel.start, Qt.MouseButton.LeftButton)  # the server agrees
    qtbot.waitUntil(lambda: console.link.state.scan.state not in STARTABLE, timeout=WAIT)
    assert console.link.state.scan.plan_id != faulted_plan  # a new scan
    qtbot.waitUntil(console.scan_panel.abort.isEnabled, timeout=WAIT)
    qtbot.mouseClick(console.scan_panel.abort, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.link.state.scan.state == "aborted", timeout=WAIT)


def test_jog_streams_twists_only_while_the_deadman_is_held(console, qtbot, kin):
    def moving() -> bool:
        return sliding_speed(console, kin) > SLIDING

    def still() -> bool:
        return sliding_speed(console, kin) < STILL

    jog = console.jog
    qtbot.keyPress(console, Qt.Key.Key_Right)  # a jog key alone moves nothing
    qtbot.wait(200)
    assert jog.twists_sent == 0 and not jog.streaming
    qtbot.keyPress(console, Qt.Key.Key_Space)  # deadman held: teleoperation, then the stream
    qtbot.waitUntil(lambda: jog.streaming and jog.twists_sent > 5, timeout=WAIT)
    qtbot.waitUntil(lambda: console.link.state.mode == "teleop", timeout=WAIT)
    qtbot.waitUntil(moving, timeout=WAIT)
    qtbot.waitUntil(lambda: "mode teleop" in console.status.mode.text(), timeout=WAIT)
    qtbot.keyRelease(console, Qt.Key.Key_Space)
    assert not jog.streaming
    stopped_at = jog.twists_sent
    qtbot.waitUntil(still, timeout=WAIT)  # the probe stopped
    qtbot.wait(300)
    assert jog.twists_sent == stopped_at, "no twist without the deadman"
    qtbot.keyRelease(console, Qt.Key.Key_Right)
    # the on-screen deadman button and jog button do the same
    button = console.teleop_panel.jog_buttons[("y", +1)]
    qtbot.mousePress(console.teleop_panel.deadman, Qt.MouseButton.LeftButton)
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(moving, timeout=WAIT)
    qtbot.mouseRelease(console.teleop_panel.deadman, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert not jog.streaming
    qtbot.waitUntil(still, timeout=WAIT)


def test_a_second_console_observes_until_it_takes_control(console, qtbot, server):
    second = open_console(qtbot, server.url, name="second")
    try:
        qtbot.waitUntil(lambda: second.link.up and second.observer.isVisible(), timeout=WAIT)
        assert "test-console" in second.observer.text()
        assert not second.link.in_control
        assert not second.scan_panel.force.isEnabled()
        assert second.estop_button.isEnabled()
        qtbot.mouseClick(second.take_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "holds control" in second.status.note.text(), timeout=WAIT)
        qtbot.mouseClick(console.release_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: console.link.state.controller is None, timeout=WAIT)
        qtbot.mouseClick(second.take_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: second.link.in_control, timeout=WAIT)
        qtbot.waitUntil(lambda: console.observer.isVisible(), timeout=WAIT)
        assert "second" in console.observer.text()
    finally:
        second.close()


def test_a_killed_server_shows_the_banner_and_the_console_reconnects(console, qtbot, server):
    server.kill()
    qtbot.waitUntil(lambda: console.banner.isVisible(), timeout=WAIT)
    assert "CONNECTION LOST" in console.banner.text()
    assert not console.take_button.isEnabled()
    assert not console.scan_panel.force.isEnabled()
    assert not console.teleop_panel.deadman.isEnabled()
    assert not console.snapshot_button.isEnabled()
    assert console.estop_button.isEnabled()
    qtbot.mouseClick(console.estop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "E-STOP will be sent" in console.banner.text(), timeout=WAIT)
    server.start()
    qtbot.waitUntil(lambda: not console.banner.isVisible(), timeout=WAIT * 2)
    qtbot.waitUntil(lambda: console.link.in_control, timeout=WAIT)
    qtbot.waitUntil(lambda: console.link.state.estop, timeout=WAIT)  # sent on return
    assert console.link.estop_pending is None
    qtbot.waitUntil(lambda: "FAULT" in console.status.faults.text(), timeout=WAIT)
    with Client(server.url, name="check") as c:  # the restarted server has it too
        assert c.wait_state(2.0).state.estop
