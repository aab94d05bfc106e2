"""The teleoperation panel: enter / leave teleoperation, on-screen jog buttons that act
while the deadman button (or key) is held, the jog speed and the force set-point."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSlider,
)

from gui.jog import AXES, DEFAULT_SPEED, Jog
from gui.keyboard import KEY_HELP
from gui.scan_panel import ForceSetpoint, no_focus

#: On-screen jog buttons: (label, axis, sign, row, column): slide on the left (a cross),
#: tilt and rotation on the right.
JOG_BUTTONS = (
    ("↑", "y", +1, 0, 1),
    ("←", "x", -1, 1, 0),
    ("→", "x", +1, 1, 2),
    ("↓", "y", -1, 2, 1),
    ("tilt ↑", "tilt_x", +1, 0, 4),
    ("tilt ↓", "tilt_x", -1, 2, 4),
    ("tilt ←", "tilt_y", -1, 1, 4),
    ("tilt →", "tilt_y", +1, 1, 5),
    ("rot ⟲", "rotate", -1, 0, 5),
    ("rot ⟳", "rotate", +1, 2, 5),
)


class TeleopPanel(QGroupBox):
    """Teleoperation controls (see the module docstring)."""

    teleop_requested = Signal(bool)  # enter / leave

    def __init__(self, jog: Jog) -> None:
        super().__init__("Teleoperation")
        self.jog = jog
        grid = QGridLayout(self)
        grid.setSpacing(6)
        self.toggle = no_focus(QPushButton("Enter teleoperation"))
        self.toggle.setCheckable(True)
        self.toggle.clicked.connect(lambda on: self.teleop_requested.emit(on))
        grid.addWidget(self.toggle, 0, 0, 1, 2)
        self.deadman = no_focus(QPushButton("HOLD TO JOG  (Space)"))
        self.deadman.setObjectName("deadman")
        self.deadman.pressed.connect(jog.press_deadman)
        self.deadman.released.connect(jog.release_deadman)
        grid.addWidget(self.deadman, 1, 0, 1, 2)
        pad = QGridLayout()
        pad.setSpacing(4)
        pad.setColumnMinimumWidth(3, 12)
        self.jog_buttons: dict[tuple[str, int], QPushButton] = {}
        for label, axis, sign, row, col in JOG_BUTTONS:
            assert axis in AXES
            b = no_focus(QPushButton(label))
            b.setObjectName("compact")
            b.pressed.connect(lambda a=axis, s=sign: jog.set_direction(a, s))
            b.released.connect(lambda a=axis: jog.set_direction(a, 0))
            pad.addWidget(b, row, col)
            self.jog_buttons[(axis, sign)] = b
        grid.addLayout(pad, 2, 0, 1, 2)
        grid.addWidget(QLabel("Jog speed"), 3, 0)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(10, 100)
        self.speed.setValue(int(DEFAULT_SPEED * 100))
        self.speed.valueChanged.connect(lambda v: setattr(jog, "speed", v / 100.0))
        grid.addWidget(self.speed, 3, 1)
        grid.addWidget(QLabel("Force"), 4, 0)
        self.force = ForceSetpoint()
        grid.addWidget(self.force, 4, 1)
        keys = QLabel(KEY_HELP)
        keys.setObjectName("muted")
        keys.setWordWrap(True)
        grid.addWidget(keys, 5, 0, 1, 2)
        jog.streaming_changed.connect(self._streaming)

    def _streaming(self, on: bool) -> None:
        self.deadman.setText("JOGGING" if on else "HOLD TO JOG  (Space)")

    def set_enabled_for(
        self, may_command: bool, teleop: bool, faults: bool, setpoint: float | None
    ) -> None:
        """Enable the controls: commanding needs control and a live link; jogging also
        needs no latched fault. ``setpoint``: the server's force set-point (N)."""
        self.toggle.setEnabled(may_command and (teleop or not faults))
        self.toggle.setChecked(teleop)
        self.toggle.setText("Leave teleoperation" if teleop else "Enter teleoperation")
        self.deadman.setEnabled(may_command and not faults)
        for b in self.jog_buttons.values():
            b.setEnabled(may_command and not faults)
        self.force.setEnabled(may_command)
        if setpoint is not None:
            self.force.follow(setpoint)
