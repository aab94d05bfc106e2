"""Start the operator console: ``robot-us gui --connect tcp://HOST:PORT [--keys DIR]``."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui import theme
from gui.link import ConsoleLink
from gui.window import ConsoleWindow
from robot_us.protocol.security import ClientKeys

#: Initial window size (px).
WINDOW_SIZE = (1680, 1000)


def make_window(
    url: str, *, keys: ClientKeys | None = None, name: str = "console", observe: bool = False
) -> ConsoleWindow:
    """The console window for the server at ``url`` (not started; a QApplication must
    exist). ``observe``: do not take control by itself."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    theme.apply(app)
    link = ConsoleLink(url, name=name, keys=keys, take_control=not observe)
    window = ConsoleWindow(link)
    window.resize(*WINDOW_SIZE)
    return window


def run(
    url: str, *, keys: ClientKeys | None = None, name: str = "console", observe: bool = False
) -> int:
    """Open the console and run until its window closes; the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("robot-us console")
    window = make_window(url, keys=keys, name=name, observe=observe)
    window.show()
    window.start()
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()  # lets Python see Ctrl-C while Qt's loop runs
    wake.start(200)
    wake.timeout.connect(lambda: None)
    return int(app.exec())
