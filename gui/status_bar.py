"""The status bar: link (round trip and jitter, or lost), who holds control, controller
mode, scan state, latched faults with their causes, the control loop's timing, and the
last message for the operator. Each item is a chip coloured by what it means; the faults
and the message line, when too long, are cut with "…" and the full text is their tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from gui import theme
from gui.elided_label import ElidedLabel
from robot_us.protocol import messages as m
from robot_us.protocol.link_stats import LinkSummary


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.1f} ms"


def link_text(up: bool, link: LinkSummary) -> str:
    """The link chip's text."""
    if not up:
        return "LINK LOST"
    return f"link  rtt {_ms(link.rtt_p50)}  jitter {_ms(link.jitter)}"


def faults_text(state: m.State | None, estop_cause: str | None = None) -> str:
    """The latched faults with their causes, one line ("" when none); ``estop_cause`` is
    who pressed an engaged E-stop and why (the server's ``estop`` event: its fault names
    only the E-stop input)."""
    if state is None:
        return ""
    who = f" ({estop_cause})" if estop_cause and state.estop else ""
    parts = [f"{f.name}{who if f.name == 'estop' else ''}: {f.cause}" for f in state.faults]
    if state.estop and not any(f.name == "estop" for f in state.faults):
        parts.insert(0, f"E-stop engaged{who}")
    return "FAULT  " + " · ".join(parts) if parts else ""


def loop_text(loop: m.LoopTiming | None) -> str:
    """The control loop's rate and timing."""
    if loop is None:
        return "loop -"
    return (
        f"loop {loop.rate_hz:.0f} Hz  compute p99 {loop.compute_us_p99:.0f} µs  "
        f"late p99 {loop.late_us_p99:.0f} µs  overruns {loop.overruns}"
    )


class StatusBar(QStatusBar):
    """Status chips (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizeGripEnabled(False)
        self.link = self._chip()
        self.control = self._chip()
        self.mode = self._chip()
        self.scan = self._chip()
        # long lines are cut with "…" (full text in the tooltip), never widen the window
        self.faults = ElidedLabel()
        self.faults.setStyleSheet(f"color: {theme.FAULT}; font-weight: 700;")
        self.loop = QLabel("loop -")
        self.loop.setObjectName("muted")
        self.note = ElidedLabel()
        for w in (self.link, self.control, self.mode, self.scan):
            self.addWidget(w)
        self.addWidget(self.faults, 3)
        self.addWidget(self.note, 2)
        self.addPermanentWidget(self.loop)

    def _chip(self) -> QLabel:
        label = QLabel("")
        label.setStyleSheet(theme.chip_style(theme.IDLE))
        return label

    @staticmethod
    def _set(chip: QLabel, text: str, colour: str) -> None:
        chip.setText(text)
        chip.setStyleSheet(theme.chip_style(colour))

    def update_from(
        self,
        state: m.State | None,
        up: bool,
        link: LinkSummary,
        control: str,
        estop_cause: str | None = None,
    ) -> None:
        """Refresh every chip; ``control`` is the control line ("you", "observing: ..."),
        ``estop_cause`` who pressed the E-stop and why (``faults_text``)."""
        self._set(self.link, link_text(up, link), theme.OK if up else theme.FAULT)
        you = control == "this console has control"
        self._set(self.control, control, theme.OK if you else theme.WARN)
        if state is None or not up:
            self._set(self.mode, "mode -", theme.IDLE)
            self._set(self.scan, "scan -", theme.IDLE)
            self._faults(faults_text(state, estop_cause) if up else "")
            return
        self._set(self.mode, f"mode {state.mode}", theme.colour(state.mode, theme.MODE_COLOURS))
        self._set(
            self.scan,
            f"scan {state.scan.state.replace('_', ' ')}",
            theme.colour(state.scan.state, theme.SCAN_STATE_COLOURS),
        )
        self._faults(faults_text(state, estop_cause))
        self.loop.setText(loop_text(state.loop))

    def _faults(self, text: str) -> None:
        self.faults.setText(text)
        self.faults.setVisible(bool(text))  # the message line gets the room otherwise

    def say(self, text: str, error: bool) -> None:
        """Show one line for the operator."""
        self.note.setText(text)
        self.note.setStyleSheet(f"color: {theme.FAULT if error else theme.MUTED};")
