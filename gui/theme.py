"""The console's look: a dark theme for a dimmed exam room, large type readable at arm's
length, and one colour per meaning (state, span status, image quality)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

#: Base font size (pt) and the larger sizes of headings and of the E-stop.
FONT_PT = 13
HEADING_PT = 15
ESTOP_PT = 24

BACKGROUND = "#16181d"
PANEL = "#1f232b"
PANEL_BORDER = "#2e3440"
TEXT = "#e6e9ef"
MUTED = "#8b93a3"

# meanings
OK = "#2ecc71"  # reachable, good image, sweeping
ACTIVE = "#3d9df3"  # moving between steps (transfer, approach, settle, retract)
WARN = "#f5a623"  # paused, shadowed, aborted
FAULT = "#e74c3c"  # fault, unreachable, lost link, E-stop
IDLE = "#7f8898"  # idle, no data
OFF_BODY = "#a0a6b3"  # stroke parts that are not on the body
STROKE = "#ffffff"
PROBE = "#ff4fd8"  # the probe's position on the camera view

#: Scan state -> colour of its chip.
SCAN_STATE_COLOURS: dict[str, str] = {
    "idle": IDLE,
    "planning": ACTIVE,
    "transfer": ACTIVE,
    "approach": ACTIVE,
    "settle": ACTIVE,
    "sweep": OK,
    "retract": ACTIVE,
    "done": OK,
    "paused": WARN,
    "aborting": WARN,
    "aborted": WARN,
    "safe_retract": FAULT,
    "faulted": FAULT,
}

#: Controller mode -> colour of its chip.
MODE_COLOURS: dict[str, str] = {
    "idle": IDLE,
    "track": ACTIVE,
    "approach": ACTIVE,
    "contact": OK,
    "reseek": WARN,
    "retract": ACTIVE,
    "hold": IDLE,
    "joint": ACTIVE,
    "teleop": PROBE,
}

#: Image quality class -> colour (the learned model's classes).
QUALITY_COLOURS: dict[str, str] = {
    "good": OK,
    "shadowed": WARN,
    "poor_contact": "#ff7f2a",
    "no_contact": FAULT,
}

#: Path categories (gui.path_overlay) -> colour.
PATH_COLOURS: dict[str, str] = {
    "reachable": "#4fc3f7",  # the planned path; the swept part is drawn over it by quality
    "unreachable": FAULT,
    "off_body": OFF_BODY,
}


def colour(name: str, table: dict[str, str]) -> str:
    """The colour of ``name`` in ``table``, grey for names the console does not know."""
    return table.get(name, IDLE)


STYLESHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: {FONT_PT}pt; }}
QGroupBox {{ background: {PANEL}; border: 1px solid {PANEL_BORDER}; border-radius: 8px;
    margin-top: 16px; padding: 6px 6px 6px 6px; font-size: {HEADING_PT}pt; font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px; color: {MUTED}; }}
QLabel {{ background: transparent; }}
QPushButton {{ background: #2b313c; border: 1px solid #3b4250; border-radius: 8px;
    padding: 7px 12px; min-height: 28px; font-weight: 600; }}
QPushButton:hover {{ background: #343b48; }}
QPushButton:pressed, QPushButton:checked {{ background: #44506a; }}
QPushButton:disabled {{ color: #59606d; background: #22262e; border-color: #2a2f38; }}
QPushButton#compact {{ padding: 6px 8px; min-height: 26px; }}
QPushButton#primary {{ background: #1f6f43; border-color: #2ecc71; }}
QPushButton#primary:disabled {{ background: #22262e; border-color: #2a2f38; }}
QPushButton#estop {{ background: #b3261e; border: 3px solid #ff8a80; color: white;
    font-size: {ESTOP_PT}pt; font-weight: 800; border-radius: 12px; min-height: 64px; }}
QPushButton#estop:pressed {{ background: #7f1d17; }}
QPushButton#deadman {{ background: #3a2a4d; border: 2px solid {PROBE}; min-height: 40px; }}
QPushButton#deadman:pressed, QPushButton#deadman:checked {{ background: {PROBE}; color: black; }}
QComboBox, QDoubleSpinBox, QSpinBox {{ background: #2b313c; border: 1px solid #3b4250;
    border-radius: 6px; padding: 6px; min-height: 28px; }}
QProgressBar {{ background: #2b313c; border: 1px solid #3b4250; border-radius: 6px;
    text-align: center; min-height: 26px; }}
QProgressBar::chunk {{ background: {OK}; border-radius: 6px; }}
QCheckBox {{ spacing: 8px; }}
QLabel#banner {{ background: {FAULT}; color: white; font-size: {HEADING_PT + 3}pt;
    font-weight: 800; padding: 10px; border-radius: 6px; }}
QLabel#observer {{ background: {WARN}; color: black; font-size: {HEADING_PT}pt;
    font-weight: 700; padding: 6px; border-radius: 6px; }}
QLabel#chip {{ border-radius: 6px; padding: 4px 10px; font-weight: 700; color: black; }}
QLabel#big {{ font-size: {HEADING_PT + 5}pt; font-weight: 700; }}
QLabel#muted {{ color: {MUTED}; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {PANEL_BORDER}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {PANEL_BORDER}; }}
"""


def chip_style(colour_hex: str) -> str:
    """Style sheet of a coloured status chip."""
    return f"background: {colour_hex}; color: black; border-radius: 6px; padding: 4px 10px;"


def apply(app: QApplication) -> None:
    """Dark palette, style sheet and pyqtgraph's colours for the whole application."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, value in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, PANEL),
        (QPalette.ColorRole.AlternateBase, BACKGROUND),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, PANEL),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACTIVE),
        (QPalette.ColorRole.HighlightedText, "#000000"),
    ):
        pal.setColor(role, QColor(value))
    app.setPalette(pal)
    font = QFont(app.font())
    font.setPointSize(FONT_PT)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
    pg.setConfigOptions(background=PANEL, foreground=TEXT, antialias=True)
    pg.setConfigOption("imageAxisOrder", "row-major")


def legend_html(items: list[tuple[str, str]]) -> str:
    """Rich text of coloured squares and their names, for a legend label."""
    return " &nbsp; ".join(
        f'<span style="color:{hex_}">&#9632;</span>&nbsp;{name}' for name, hex_ in items
    )


#: The camera view's legend: the path by reachability, the swept part by image quality.
CAMERA_LEGEND = legend_html(
    [
        ("planned", PATH_COLOURS["reachable"]),
        ("unreachable", PATH_COLOURS["unreachable"]),
        ("off the body", PATH_COLOURS["off_body"]),
        ("swept: good", QUALITY_COLOURS["good"]),
        ("shadowed", QUALITY_COLOURS["shadowed"]),
        ("poor contact", QUALITY_COLOURS["poor_contact"]),
        ("no contact", QUALITY_COLOURS["no_contact"]),
        ("probe", PROBE),
    ]
)
