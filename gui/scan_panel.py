"""Scan controls: scan plane, sweep speed and force set-point (within the server's limits
from its welcome), Start / Pause / Resume / Abort, the sweep's progress and the path
preview's summary. The panel only emits what the operator asked for; the window sends it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
)

from gui import theme
from robot_us.protocol import messages as m

#: Scan planes the server knows (``trajectory.plane``), as offered to the operator.
PLANES: dict[str, str] = {"longitudinal": "longitudinal", "transverse": "transverse"}
#: Scan states from which a new scan may start (no scan yet, or the last one ended: done,
#: aborted or faulted; after a fault once the faults are reset), and those a scan can be
#: aborted in.
STARTABLE = frozenset({"idle", "done", "aborted", "faulted"})
ABORTABLE = frozenset({"planning", "transfer", "approach", "settle", "sweep", "paused", "retract"})
#: Default sweep speed (mm/s) and force (N) before the server's limits are known.
DEFAULT_SPEED_MM_S = 10.0
DEFAULT_FORCE_N = 5.0


def no_focus(button: QPushButton) -> QPushButton:
    """A button the keyboard never focuses (Space is the deadman, never a click)."""
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class ForceSetpoint(QDoubleSpinBox):
    """A force set-point (N) within the server's limits; ``chosen`` when the operator
    commits a value (Enter or leaving the field). Follows the server's set-point while the
    operator is not editing it."""

    chosen = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.setSuffix(" N")
        self.setDecimals(1)
        self.setSingleStep(0.5)
        self.setRange(0.0, 100.0)
        self.setValue(DEFAULT_FORCE_N)
        self.setKeyboardTracking(False)
        self.editingFinished.connect(lambda: self.chosen.emit(self.value()))

    def set_limits(self, limits: m.Limits) -> None:
        """Restrict to ``force_min..force_max``."""
        self.setRange(limits.force_min, limits.force_max)

    def follow(self, setpoint: float) -> None:
        """Show the server's set-point unless the operator is editing."""
        if not self.hasFocus() and abs(self.value() - setpoint) > 1e-6:
            self.blockSignals(True)
            self.setValue(setpoint)
            self.blockSignals(False)


@dataclass
class ScanView:
    """What the scan panel shows and enables: the newest state, whether this console may
    command (link up and in control), and the preview it would scan."""

    state: m.State | None
    may_command: bool
    preview: m.PathPreview | None


class ScanPanel(QGroupBox):
    """The scan controls (see the module docstring)."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    abort_requested = Signal()
    reset_requested = Signal()
    plane_changed = Signal(str)
    speed_changed = Signal(float)  # m/s

    def __init__(self) -> None:
        super().__init__("Scan")
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        self.plane = QComboBox()
        self.plane.addItems(list(PLANES))
        self.plane.currentTextChanged.connect(self.plane_changed)
        self.speed = QDoubleSpinBox()
        self.speed.setSuffix(" mm/s")
        self.speed.setDecimals(1)
        self.speed.setRange(1.0, 50.0)
        self.speed.setValue(DEFAULT_SPEED_MM_S)
        self.speed.setKeyboardTracking(False)
        self.speed.valueChanged.connect(lambda v: self.speed_changed.emit(v / 1e3))
        self.force = ForceSetpoint()
        for row, (label, widget) in enumerate(
            (("Plane", self.plane), ("Speed", self.speed), ("Force", self.force))
        ):
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(widget, row, 1)
        self.start = no_focus(QPushButton("▶  Start"))
        self.start.setObjectName("primary")
        self.pause = no_focus(QPushButton("❚❚  Pause"))
        self.resume = no_focus(QPushButton("▶  Resume"))
        self.abort = no_focus(QPushButton("■  Abort"))
        self.reset = no_focus(QPushButton("Reset faults"))
        for button, signal in (
            (self.start, self.start_requested),
            (self.pause, self.pause_requested),
            (self.resume, self.resume_requested),
            (self.abort, self.abort_requested),
            (self.reset, self.reset_requested),
        ):
            button.clicked.connect(signal)
        buttons = QGridLayout()
        buttons.addWidget(self.start, 0, 0)
        buttons.addWidget(self.pause, 0, 1)
        buttons.addWidget(self.resume, 1, 0)
        buttons.addWidget(self.abort, 1, 1)
        grid.addLayout(buttons, 3, 0, 1, 2)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("no scan")
        grid.addWidget(self.progress, 4, 0, 1, 2)
        grid.addWidget(self.reset, 5, 0, 1, 2)
        self.set_view(ScanView(None, False, None))

    def set_limits(self, limits: m.Limits) -> None:
        """The server's speed and force ranges."""
        self.speed.setRange(limits.speed_min * 1e3, limits.speed_max * 1e3)
        self.force.set_limits(limits)

    def set_view(self, view: ScanView) -> None:
        """Enable what may be done now; show the progress."""
        st = view.state
        scan = st.scan.state if st is not None else "idle"
        faults = bool(st is not None and (st.faults or st.estop))
        teleop = bool(st is not None and st.teleop)
        ok = view.may_command
        feasible = view.preview is not None and view.preview.feasible
        self.start.setEnabled(ok and feasible and scan in STARTABLE and not faults and not teleop)
        self.pause.setEnabled(ok and scan == "sweep")
        self.resume.setEnabled(ok and scan == "paused" and not faults)
        self.abort.setEnabled(ok and scan in ABORTABLE)
        self.reset.setEnabled(ok and faults)
        self.plane.setEnabled(scan in STARTABLE)
        self.speed.setEnabled(ok)
        self.force.setEnabled(ok)
        if st is None:
            return
        self.force.follow(st.force_setpoint)
        if st.scan.plan_id is None and scan == "idle":
            self.progress.setValue(0)
            self.progress.setFormat("no scan")
            return
        self.progress.setValue(round(1000 * min(max(st.scan.progress, 0.0), 1.0)))
        self.progress.setFormat(
            f"{scan.replace('_', ' ')}  {100 * st.scan.progress:.0f} %  "
            f"({st.scan.s * 1e3:.0f} / {st.scan.length * 1e3:.0f} mm)"
        )
        colour = theme.colour(scan, theme.SCAN_STATE_COLOURS)
        self.progress.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
