"""The console's keys, wherever the keyboard focus is: the E-stop key, the deadman key
(held) and the jog keys (held, acting only while the deadman is held). Installed as an
application-wide event filter; auto-repeat is ignored, and the application losing focus
releases the deadman (no key release would arrive)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from gui.jog import Jog

Key = Qt.Key
#: The E-stop key and the deadman key.
ESTOP_KEY = Key.Key_Escape
DEADMAN_KEY = Key.Key_Space
#: Jog key -> (axis, sign).
JOG_KEYS: dict[Key, tuple[str, int]] = {
    Key.Key_Right: ("x", +1),
    Key.Key_Left: ("x", -1),
    Key.Key_Up: ("y", +1),
    Key.Key_Down: ("y", -1),
    Key.Key_W: ("tilt_x", +1),
    Key.Key_S: ("tilt_x", -1),
    Key.Key_D: ("tilt_y", +1),
    Key.Key_A: ("tilt_y", -1),
    Key.Key_E: ("rotate", +1),
    Key.Key_Q: ("rotate", -1),
}
#: What the keys do, for the help line and the docs.
KEY_HELP = "Esc: E-stop · hold Space: deadman · arrows: slide · W/S, A/D: tilt · Q/E: rotate"


class KeyboardControls(QObject):
    """Application-wide key handling (see the module docstring)."""

    def __init__(self, jog: Jog, estop: Callable[[], None]) -> None:
        super().__init__()
        self.jog = jog
        self.estop = estop

    def install(self, app: QApplication) -> None:
        """Start filtering the application's key events."""
        app.installEventFilter(self)
        app.applicationStateChanged.connect(self._app_state)

    def _app_state(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.jog.release_deadman()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        pressed = kind == QEvent.Type.KeyPress
        if key == ESTOP_KEY:
            if pressed and not event.isAutoRepeat():
                self.estop()
            return True
        if key == DEADMAN_KEY:
            if not event.isAutoRepeat():
                if pressed:
                    self.jog.press_deadman()
                else:
                    self.jog.release_deadman()
            return True
        if key in JOG_KEYS:
            if not event.isAutoRepeat():
                axis, sign = JOG_KEYS[key]
                self.jog.set_direction(axis, sign if pressed else 0)
            return self.jog.deadman  # while jogging the arrows never reach a spin box
        return False
