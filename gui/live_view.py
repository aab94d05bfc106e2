"""The live panel: the newest ultrasound frame (mm axes, depth down) with its image-quality
class and score and an optional confidence-map overlay, and the force along the probe axis
against time with its set-point and the server's limits."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui import theme
from gui.link import ForceHistory
from robot_us.protocol import messages as m
from robot_us.protocol.client import FrameSample

#: Seconds of force shown.
FORCE_WINDOW_S = 10.0
#: Opacity of the confidence overlay.
CONFIDENCE_OPACITY = 0.45


def confidence_lut() -> np.ndarray:
    """Colour table of the confidence overlay (256 x 4 RGBA): low confidence is shown in
    red, high confidence is transparent, so the overlay marks where the image is weak."""
    x = np.linspace(0.0, 1.0, 256)
    lut = np.zeros((256, 4), dtype=np.ubyte)
    lut[:, 0] = 255
    lut[:, 1] = (80 * x).astype(np.ubyte)
    lut[:, 2] = (40 * x).astype(np.ubyte)
    lut[:, 3] = (255 * (1.0 - x) ** 1.5).astype(np.ubyte)
    return lut


class UltrasoundView(QWidget):
    """The newest frame, its quality and the confidence overlay toggle."""

    def __init__(self) -> None:
        super().__init__()
        self.frame_seq: int | None = None
        self.quality: m.Quality | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.quality_label = QLabel("no image")
        self.quality_label.setObjectName("chip")
        self.quality_label.setStyleSheet(theme.chip_style(theme.IDLE))
        self.score_label = QLabel("")
        self.overlay = QCheckBox("confidence map")
        self.overlay.setToolTip(
            "show where the image is weak (red), from the server's confidence map"
        )
        self.overlay.toggled.connect(self._toggle)
        head.addWidget(self.quality_label)
        head.addWidget(self.score_label)
        head.addStretch(1)
        head.addWidget(self.overlay)
        layout.addLayout(head)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(280, 240)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "lateral", units="mm")
        self.plot.setLabel("left", "depth", units="mm")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.image = pg.ImageItem()
        self.image.setLevels((0, 255))
        self.confidence = pg.ImageItem()
        self.confidence.setLookupTable(confidence_lut())
        self.confidence.setLevels((0, 255))
        self.confidence.setOpacity(CONFIDENCE_OPACITY)
        self.confidence.setZValue(1)
        self.confidence.hide()
        self.plot.addItem(self.image)
        self.plot.addItem(self.confidence)
        layout.addWidget(self.plot, 1)
        self._has_confidence = False

    def show_frame(self, sample: FrameSample) -> None:
        """Show ``sample`` if it is newer than the one shown."""
        if sample.seq == self.frame_seq:
            return
        first = self.frame_seq is None
        self.frame_seq = sample.seq
        f = sample.frame
        w_mm = f.width * f.spacing[0] * 1e3
        h_mm = f.height * f.spacing[1] * 1e3
        rect = (-w_mm / 2, 0.0, w_mm, h_mm)
        self.image.setImage(sample.image, autoLevels=False, levels=(0, 255))
        self.image.setRect(*rect)
        self._has_confidence = sample.confidence is not None
        self.overlay.setEnabled(self._has_confidence)
        if sample.confidence is not None:
            self.confidence.setImage(sample.confidence, autoLevels=False, levels=(0, 255))
            self.confidence.setRect(*rect)
        self.confidence.setVisible(self._has_confidence and self.overlay.isChecked())
        if first:
            self.plot.autoRange(padding=0.02)
        self.show_quality(f.quality)

    def show_quality(self, q: m.Quality | None) -> None:
        """Quality class chip and score."""
        self.quality = q
        if q is None:
            self.quality_label.setText("not assessed")
            self.quality_label.setStyleSheet(theme.chip_style(theme.IDLE))
            self.score_label.setText("")
            return
        self.quality_label.setText(q.label.replace("_", " "))
        self.quality_label.setStyleSheet(
            theme.chip_style(theme.colour(q.label, theme.QUALITY_COLOURS))
        )
        conf = "" if math.isnan(q.mean_confidence) else f"  confidence {q.mean_confidence:.2f}"
        self.score_label.setText(f"score {q.score:.2f}{conf}")

    def _toggle(self, on: bool) -> None:
        self.confidence.setVisible(on and self._has_confidence)


class ForcePlot(pg.PlotWidget):
    """Force along the probe axis (N, pressing positive) over the last seconds, the
    set-point (dashed) and the server's force limits (red)."""

    def __init__(self, history: ForceHistory) -> None:
        super().__init__()
        self.history = history
        self.setMinimumHeight(170)
        self.setLabel("left", "force", units="N")
        self.setLabel("bottom", "time", units="s")
        self.getAxis("left").enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setXRange(-FORCE_WINDOW_S, 0.0, padding=0)
        self.setDownsampling(auto=True, mode="peak")  # a 1 kHz stream, drawn at screen rate
        self.setClipToView(True)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.addLegend(offset=(-10, 10), labelTextSize="11pt")
        self.force = self.plot(pen=pg.mkPen(theme.ACTIVE, width=2.5), name="force")
        self.setpoint = self.plot(
            pen=pg.mkPen(theme.OK, width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="set-point",
        )
        red = pg.mkPen(theme.FAULT, width=1.5, style=pg.QtCore.Qt.PenStyle.DotLine)
        self.limit_max = pg.InfiniteLine(
            angle=0, pen=red, label="max", labelOpts={"color": theme.FAULT}
        )
        self.limit_min = pg.InfiniteLine(
            angle=0, pen=red, label="min", labelOpts={"color": theme.FAULT}
        )
        for line in (self.limit_min, self.limit_max):
            line.hide()
            self.addItem(line)
        self.value_label = pg.TextItem(anchor=(0, 0), color=theme.TEXT)
        self.value_label.setParentItem(self.getPlotItem().vb)
        self.value_label.setPos(8, 4)

    def set_limits(self, limits: m.Limits | None) -> None:
        """Show the server's accepted force range."""
        if limits is None:
            return
        self.limit_min.setValue(limits.force_min)
        self.limit_max.setValue(limits.force_max)
        self.limit_min.show()
        self.limit_max.show()
        self.setYRange(0.0, limits.force_max * 1.15, padding=0)

    def refresh(self, now: float | None = None) -> None:
        """Redraw from the history."""
        data = self.history.recent(FORCE_WINDOW_S, time.time() if now is None else now)
        if len(data) == 0:
            self.force.setData([], [])
            self.setpoint.setData([], [])
            self.value_label.setText("")
            return
        self.force.setData(data[:, 0], data[:, 1])
        self.setpoint.setData(data[:, 0], data[:, 2])
        self.value_label.setText(f"{data[-1, 1]:5.1f} N  (set {data[-1, 2]:.1f} N)")
