"""A one-line label that never widens its window: text too long for the label's width is
cut at the right with a visible "…", and the full text is then its tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

#: The mark that shows text was cut (what Qt's ``elidedText`` inserts).
ELLIPSIS = "…"


class ElidedLabel(QLabel):
    """``setText`` keeps the full text (``text()`` returns it); the label shows it elided
    to its current width (``shown()``), again on every resize."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        """Set the full text and show as much of it as fits."""
        self._full = text
        self._elide()

    def text(self) -> str:
        """The full text, as set (not cut)."""
        return self._full

    def shown(self) -> str:
        """The text as shown (cut with "…" when it does not fit)."""
        return super().text()

    def elided(self) -> bool:
        """The text does not fit and is shown cut."""
        return self.shown() != self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")
