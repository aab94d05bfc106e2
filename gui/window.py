"""The console's main window: it composes the views and panels, sends what the operator
asks for through the link, and refreshes everything from the newest state and frame at
``REFRESH_HZ`` (never per message: the streams may be far faster than a screen).

Rules the window enforces: every command but the E-stop needs a live link and control
(the controls are disabled otherwise, and a lost link shows a banner at the next
refresh); the E-stop button and key are never disabled; what the server refuses is shown
in the status bar as one line.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.camera_view import FREEHAND, POLYLINE, CameraView
from gui.jog import Jog
from gui.keyboard import KeyboardControls
from gui.link import SNAPSHOT_TIMEOUT, ConsoleLink
from gui.live_view import ForcePlot, UltrasoundView
from gui.path_overlay import ProgressTrack
from gui.profile_view import ProfileView
from gui.scan_panel import PLANES, ScanPanel, ScanView, no_focus
from gui.status_bar import StatusBar
from gui.teleop_panel import TeleopPanel
from robot_us.protocol import messages as m
from robot_us.protocol.client import Client

#: Screen refresh rate of the views (Hz).
REFRESH_HZ = 30.0
#: Scan states in which quality results are recorded along the path.
SWEEPING = frozenset({"sweep", "paused"})
#: Event kinds shown as errors, and those not shown (counted per client in the state).
ALARM_EVENTS = frozenset({"fault", "estop", "deadman"})
QUIET_EVENTS = frozenset({"stale"})
#: An E-stop's cause (its event) is forgotten once a state without the E-stop comes this
#: long (s) after the event: states published before the press may still arrive first.
ESTOP_CAUSE_HOLD_S = 1.0
#: Width of the controls column (px).
CONTROLS_WIDTH = 440


def _group(title: str, *widgets: QWidget, stretch: tuple[int, ...] = ()) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for i, w in enumerate(widgets):
        layout.addWidget(w, stretch[i] if i < len(stretch) else 0)
    return box


class ConsoleWindow(QMainWindow):
    """The operator console (see the module docstring)."""

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__()
        self.link = link
        self.setWindowTitle(f"robot-us console — {link.client.endpoints.commands}")
        self.snapshot_id: int | None = None
        self.preview: m.PathPreview | None = None
        self.plan: m.PlanResult | None = None
        self.scan_preview: m.PathPreview | None = None  # the preview of the running scan
        self._estop_cause: tuple[str, float] | None = None  # (cause, monotonic s seen)
        self.track = ProgressTrack()
        self._map_generation = 0
        self._frame_seq_tracked: int | None = None
        self._progress_drawn = -1
        self._control_text = "connecting"

        self.jog = Jog(link)
        self.keys = KeyboardControls(self.jog, self.estop)
        self.camera = CameraView()
        self.profile = ProfileView()
        self.ultrasound = UltrasoundView()
        self.force_plot = ForcePlot(link.force)
        self.scan_panel = ScanPanel()
        self.teleop_panel = TeleopPanel(self.jog)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self._build()
        self._wire()
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000.0 / REFRESH_HZ))
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    # --- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(10, 8, 10, 4)
        root.setSpacing(6)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        self.observer = QLabel("")
        self.observer.setObjectName("observer")
        self.observer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.observer.hide()
        root.addWidget(self.banner)
        root.addWidget(self.observer)
        body = QHBoxLayout()
        body.setSpacing(10)
        root.addLayout(body, 1)

        # camera and side view
        tools = QHBoxLayout()
        self.freehand = no_focus(QPushButton("Freehand"))
        self.polyline = no_focus(QPushButton("Polyline"))
        modes = QButtonGroup(self)
        for b in (self.freehand, self.polyline):
            b.setCheckable(True)
            modes.addButton(b)
        self.freehand.setChecked(True)
        self.undo = no_focus(QPushButton("Undo"))
        self.clear = no_focus(QPushButton("Clear"))
        self.snapshot_button = no_focus(QPushButton("New image"))
        self.fit_button = no_focus(QPushButton("Fit"))
        self.fit_button.setToolTip("show the whole image (the mouse wheel zooms)")
        buttons = (self.freehand, self.polyline, self.undo, self.clear)
        for b in (*buttons, self.fit_button, self.snapshot_button):
            b.setObjectName("compact")
        for b in buttons:
            tools.addWidget(b)
        tools.addStretch(1)
        tools.addWidget(self.fit_button)
        tools.addWidget(self.snapshot_button)
        self.preview_label = QLabel("Draw the scan path on the image")
        self.preview_label.setObjectName("big")
        self.preview_label.setWordWrap(True)
        camera_box = QGroupBox("Camera — draw the scan path")
        cam = QVBoxLayout(camera_box)
        cam.addLayout(tools)
        cam.addWidget(self.camera, 3)
        legend = QLabel(theme.CAMERA_LEGEND)
        legend.setObjectName("muted")
        legend.setWordWrap(True)
        cam.addWidget(legend)
        cam.addWidget(self.preview_label)
        cam.addWidget(self.profile, 1)
        body.addWidget(camera_box, 5)

        # live
        live = QVBoxLayout()
        live.addWidget(_group("Ultrasound", self.ultrasound), 3)
        live.addWidget(_group("Force along the probe axis", self.force_plot), 2)
        body.addLayout(live, 4)

        # controls
        controls = QVBoxLayout()
        self.estop_button = no_focus(QPushButton("E-STOP   (Esc)"))
        self.estop_button.setObjectName("estop")
        self.estop_button.setToolTip("Emergency stop: always available, also on the Esc key")
        controls.addWidget(self.estop_button)
        ctl = QHBoxLayout()
        self.take_button = no_focus(QPushButton("Take control"))
        self.release_button = no_focus(QPushButton("Release control"))
        ctl.addWidget(self.take_button)
        ctl.addWidget(self.release_button)
        controls.addLayout(ctl)
        controls.addWidget(self.scan_panel)
        controls.addWidget(self.teleop_panel)
        controls.addStretch(1)
        holder = QWidget()
        holder.setLayout(controls)
        holder.setFixedWidth(CONTROLS_WIDTH)
        body.addWidget(holder)
        self.setCentralWidget(central)

    def _wire(self) -> None:
        link = self.link
        link.link_changed.connect(self._link_changed)
        link.welcome_changed.connect(self._welcome)
        link.event_received.connect(self._event)
        link.message.connect(self.status.say)
        self.estop_button.clicked.connect(self.estop)
        self.take_button.clicked.connect(lambda: link.take_control())
        self.release_button.clicked.connect(self._release)
        self.freehand.clicked.connect(lambda: self._set_mode(FREEHAND))
        self.polyline.clicked.connect(lambda: self._set_mode(POLYLINE))
        self.undo.clicked.connect(self.camera.undo)
        self.clear.clicked.connect(self.camera.clear)
        self.snapshot_button.clicked.connect(self.request_snapshot)
        self.fit_button.clicked.connect(self.camera.fit)
        self.camera.stroke_changed.connect(lambda _: self.map_stroke())
        sp = self.scan_panel
        sp.plane_changed.connect(lambda _: self.map_stroke())
        sp.speed_changed.connect(self._speed)
        sp.force.chosen.connect(self.set_force)
        self.teleop_panel.force.chosen.connect(self.set_force)
        sp.start_requested.connect(self.start_scan)
        sp.pause_requested.connect(
            lambda: link.run("pause", lambda c: c.pause_scan("operator (console)"))
        )
        sp.resume_requested.connect(lambda: link.run("resume", lambda c: c.resume_scan()))
        sp.abort_requested.connect(
            lambda: link.run("abort", lambda c: c.abort_scan("operator (console)"))
        )
        sp.reset_requested.connect(lambda: link.run("reset faults", lambda c: c.reset_faults()))
        self.teleop_panel.teleop_requested.connect(self._teleop)

    def start(self) -> None:
        """Connect, install the keys and start refreshing."""
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.keys.install(app)
        self.link.start()
        self._timer.start()

    def closeEvent(self, event) -> None:
        self._timer.stop()
        self.jog.release_deadman()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.keys)
        self.link.close()
        super().closeEvent(event)

    # --- operator actions ------------------------------------------------------------

    def estop(self) -> None:
        """E-stop: sent now, or as soon as the link is back."""
        self.jog.release_deadman()
        self.link.estop()
        if self.link.up:
            self.status.say("E-STOP sent", True)
        else:
            self.status.say("E-STOP: will be sent as soon as the link returns", True)

    def _release(self) -> None:
        self.jog.release_deadman()
        self.link.release_control()

    def _set_mode(self, mode: str) -> None:
        self.camera.mode = mode

    def request_snapshot(self) -> None:
        """Fetch a new camera image (the stroke is kept and mapped again)."""

        def shown(snap) -> None:
            b = snap.body
            self.snapshot_id = b.snapshot_id
            self.camera.set_snapshot(snap.rgb, np.asarray(b.K), np.asarray(b.T_base_camera))
            self.map_stroke()

        self.link.run("camera image", lambda c: c.snapshot(timeout=SNAPSHOT_TIMEOUT), shown)

    def map_stroke(self) -> None:
        """Send the stroke for mapping; the newest answer is drawn (older ones dropped)."""
        self._map_generation += 1
        generation = self._map_generation
        stroke = self.camera.stroke()
        if len(stroke) < 2 or self.snapshot_id is None:
            self._show_preview(None)
            return
        welcome = self.link.welcome
        most = welcome.limits.max_stroke_points if welcome else m.MAX_STROKE_POINTS
        if len(stroke) > most:
            stroke = stroke[np.linspace(0, len(stroke) - 1, most).astype(int)]
        stroke = np.clip(stroke, 0.0, None)
        plane = PLANES[self.scan_panel.plane.currentText()]
        snapshot_id = self.snapshot_id

        def done(preview: m.PathPreview) -> None:
            if generation == self._map_generation:
                self._show_preview(preview)

        def failed(exc: BaseException) -> None:
            from gui.link import describe

            if generation == self._map_generation:
                self._show_preview(None)
                self.preview_label.setText(f"Path not mapped: {describe(exc)}")

        self.link.run(
            "map stroke", lambda c: c.map_stroke(stroke, snapshot_id, plane), done, failed
        )

    def _show_preview(self, preview: m.PathPreview | None) -> None:
        self.preview = preview
        self.camera.set_preview(preview)
        self.profile.set_preview(preview)
        self.preview_label.setText(self.preview_text())

    def preview_text(self) -> str:
        """The preview's summary: length, duration at the set speed, reachability."""
        p = self.preview
        if p is None:
            return "Draw the scan path on the image"
        speed = self.scan_panel.speed.value() / 1e3
        text = f"Path {p.length * 1e3:.0f} mm · {p.length / speed:.0f} s at {speed * 1e3:.0f} mm/s"
        bad = [s for s in p.spans if s.status != "ok"]
        if p.feasible and not bad:
            text += " · reachable"
        else:
            mm = sum(s.s1 - s.s0 for s in bad) * 1e3
            text += f" · {mm:.0f} mm unreachable ({p.reason or bad[0].status})"
        off = self.camera.off_body_fraction()
        if off > 0:
            text += f" · {100 * off:.0f} % of the stroke off the body"
        return text

    def _speed(self, speed: float) -> None:
        self.preview_label.setText(self.preview_text())
        st = self.link.state
        if self.plan is not None and st is not None and st.scan.state in SWEEPING:
            limits = self.link.welcome.limits if self.link.welcome else None
            top = limits.speed_override_max if limits else 1.0
            override = min(max(speed / self.plan.speed, 0.0), top)
            self.link.run("speed", lambda c: c.set_speed(override))

    def set_force(self, force: float) -> None:
        """Send a new force set-point (N)."""
        if self.link.in_control:
            self.link.run("force", lambda c: c.set_force(force))

    def start_scan(self) -> None:
        """Plan the previewed path at the set speed and start it."""
        preview = self.preview
        if preview is None:
            return
        speed = self.scan_panel.speed.value() / 1e3

        def call(c: Client) -> m.PlanResult:
            plan = c.plan(preview.preview_id, speed)
            if plan.feasible:
                c.start_scan(plan.plan_id)
            return plan

        def done(plan: m.PlanResult) -> None:
            self.plan = plan
            if not plan.feasible:
                self.status.say(f"start: the plan is not feasible ({plan.reason})", True)
                return
            self.scan_preview = preview
            self.track.reset(plan.plan_id)
            self._progress_drawn = -1
            self.status.say(
                f"scan started: {plan.length * 1e3:.0f} mm, {plan.duration:.0f} s", False
            )

        self.link.run("start", call, done)

    def _teleop(self, on: bool) -> None:
        if on:
            self.link.run("teleoperation", lambda c: c.teleop_start())
        else:
            self.jog.release_deadman()
            self.link.run("teleoperation", lambda c: c.teleop_stop())

    # --- what the server says --------------------------------------------------------

    def _link_changed(self, up: bool) -> None:
        if not up:
            self.jog.release_deadman()
            return
        self.status.say("connected", False)
        if self.snapshot_id is None:
            self.request_snapshot()

    def _welcome(self, welcome: m.Welcome) -> None:
        self.scan_panel.set_limits(welcome.limits)
        self.teleop_panel.force.set_limits(welcome.limits)
        self.force_plot.set_limits(welcome.limits)
        self.setWindowTitle(
            f"robot-us console — {welcome.server_name} {welcome.server_version} at "
            f"{self.link.client.endpoints.commands} — {welcome.client_id}"
        )
        self.request_snapshot()  # a new server session: snapshot and preview ids are new

    def _event(self, event: m.Event) -> None:
        if event.kind in QUIET_EVENTS:
            return
        text = f"{event.kind}: {event.cause}" if event.cause else event.kind
        self.status.say(text, event.kind in ALARM_EVENTS)
        if event.kind == "estop":
            by = f" by {event.client}" if event.client else ""
            self._estop_cause = (f"{event.cause or 'E-stop'}{by}", time.monotonic())

    # --- refresh ---------------------------------------------------------------------

    def control_text(self) -> str:
        """Who holds control, as the status bar says it."""
        st = self.link.state
        if not self.link.up:
            return "no link"
        if self.link.in_control:
            return "this console has control"
        holder = st.controller if st is not None else None
        return f"observing: {holder} has control" if holder else "observing: nobody has control"

    def refresh(self) -> None:
        """Poll the link and update every view from the newest state and frame."""
        link = self.link
        link.poll()
        up = link.up
        st = link.state
        may = link.in_control
        faults = bool(st is not None and (st.faults or st.estop))
        teleop = bool(st is not None and st.teleop)
        self._control_text = self.control_text()
        if up:
            self.banner.hide()
        else:
            pending = " · E-STOP will be sent when it returns" if link.estop_pending else ""
            self.banner.setText(f"CONNECTION LOST — reconnecting…{pending}")
            self.banner.show()
        self.observer.setVisible(up and not may)
        self.observer.setText(self._control_text.replace("observing:", "OBSERVING —"))
        for w in (self.freehand, self.polyline, self.undo, self.clear, self.snapshot_button):
            w.setEnabled(up)
        self.camera.drawing_enabled = up
        self.take_button.setEnabled(up and not may)
        self.release_button.setEnabled(may)
        self.estop_button.setEnabled(True)
        self.scan_panel.set_view(ScanView(st if up else None, may, self.preview))
        setpoint = st.force_setpoint if st is not None and up else None
        self.teleop_panel.set_enabled_for(may, teleop, faults, setpoint)
        if st is not None and up:
            self._refresh_scan(st)
        frame = link.frame
        if frame is not None and up:
            self.ultrasound.show_frame(frame)
        self.force_plot.refresh()
        self.status.update_from(
            st, up, link.client.link.summary(), self._control_text, self.estop_cause(st)
        )

    def estop_cause(self, st: m.State | None) -> str | None:
        """Who pressed the engaged E-stop and why, from its event (None when unknown)."""
        if self._estop_cause is None:
            return None
        cause, seen = self._estop_cause
        if st is not None and not st.estop and time.monotonic() - seen > ESTOP_CAUSE_HOLD_S:
            self._estop_cause = None  # released since
            return None
        return cause

    def _refresh_scan(self, st: m.State) -> None:
        self.camera.set_probe(st.T_base_probe)
        scan = st.scan
        sweeping = scan.state in SWEEPING
        self.profile.set_probe_s(scan.s if sweeping else None)
        preview = self.scan_preview
        if preview is None or self.plan is None or scan.plan_id != self.plan.plan_id:
            return
        frame = self.link.frame
        q = frame.frame.quality if frame is not None else None
        if (
            sweeping
            and q is not None
            and frame is not None
            and frame.seq != self._frame_seq_tracked
        ):
            self._frame_seq_tracked = frame.seq
            self.track.add(scan.s, q.label)
        n = len(self.track.s or [])
        if n != self._progress_drawn:
            self._progress_drawn = n
            self.camera.set_progress(self.track, np.asarray(preview.points), np.asarray(preview.s))
