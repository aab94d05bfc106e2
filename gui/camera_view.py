"""The camera view: the newest RGB snapshot, the operator's stroke drawn on it (freehand or
as a polyline, undo, clear) and what came back from the server drawn over it: the mapped
path coloured per span, the parts of the stroke off the body, the sweep's progress
coloured by image quality and the probe's position. Scene coordinates are image pixels
(u column, v row), the coordinates of ``map_stroke``."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from gui import theme
from gui.path_overlay import (
    OFF_BODY_TOLERANCE_PX,
    ProgressTrack,
    at_arc_length,
    off_body,
    point_categories,
    project,
    runs,
)
from robot_us.protocol import messages as m

#: Drawing modes.
FREEHAND = "freehand"
POLYLINE = "polyline"
#: A freehand sample closer than this (px) to the previous one is skipped.
MIN_STEP_PX = 2.0
#: Line widths (px on the image) of the stroke, the mapped path and the progress.
STROKE_WIDTH = 2.0
PATH_WIDTH = 5.0
PROGRESS_WIDTH = 9.0
PROBE_RADIUS = 7.0
#: Zoom per wheel notch, and the zoom range (view pixels per image pixel).
ZOOM_STEP = 1.15
ZOOM_MIN = 0.2
ZOOM_MAX = 8.0


def _polyline(points: np.ndarray) -> QPainterPath:
    path = QPainterPath()
    pts = [p for p in np.asarray(points, dtype=float) if np.all(np.isfinite(p))]
    if pts:
        path.moveTo(QPointF(*pts[0]))
        for p in pts[1:]:
            path.lineTo(QPointF(*p))
    return path


def _pen(colour: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(colour), width, style, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    pen.setCosmetic(False)
    return pen


class CameraView(QGraphicsView):
    """Snapshot, stroke editor and path overlay (see the module docstring).
    ``stroke_changed`` carries the whole stroke (N x 2 px) after every edit."""

    stroke_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(theme.PANEL))
        self.setMinimumSize(480, 320)
        self.mode = FREEHAND
        self.drawing_enabled = True
        self._zoomed = False
        self.pieces: list[np.ndarray] = []  # what was drawn, in order; undo pops the last
        self.K: np.ndarray | None = None
        self.T_base_camera: np.ndarray | None = None
        self.preview: m.PathPreview | None = None
        self._active: list[tuple[float, float]] | None = None  # freehand piece being drawn
        self._image = QGraphicsPixmapItem()
        self.scene().addItem(self._image)
        self._stroke = self._path_item(theme.STROKE, STROKE_WIDTH, Qt.PenStyle.DashLine, z=2)
        self._vertices = self._path_item(theme.STROKE, STROKE_WIDTH, z=2)
        self._path_items: list[QGraphicsPathItem] = []
        self._progress_items: list[QGraphicsPathItem] = []
        self._probe = QGraphicsEllipseItem(
            -PROBE_RADIUS, -PROBE_RADIUS, 2 * PROBE_RADIUS, 2 * PROBE_RADIUS
        )
        self._probe.setPen(_pen("#000000", 2.0))
        self._probe.setBrush(QColor(theme.PROBE))
        self._probe.setZValue(10)
        self._probe.hide()
        self.scene().addItem(self._probe)
        self._hint = QGraphicsSimpleTextItem("waiting for the camera image")
        self._hint.setBrush(QColor(theme.MUTED))
        self.scene().addItem(self._hint)

    def _path_item(
        self, colour: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine, z: float = 1
    ) -> QGraphicsPathItem:
        item = QGraphicsPathItem()
        item.setPen(_pen(colour, width, style))
        item.setZValue(z)
        self.scene().addItem(item)
        return item

    # --- snapshot ----------------------------------------------------------------------

    def set_snapshot(self, rgb: np.ndarray, K: np.ndarray, T_base_camera: np.ndarray) -> None:
        """Show a new snapshot (uint8 H x W x 3) with its calibration; keeps the stroke."""
        h, w = rgb.shape[:2]
        data = np.ascontiguousarray(rgb)
        image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._image.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(0, 0, w, h)
        self._hint.hide()
        self.K = np.asarray(K, dtype=float).reshape(3, 3)
        self.T_base_camera = np.asarray(T_base_camera, dtype=float).reshape(4, 4)
        if not self._zoomed:
            self._fit()
        self._draw_preview()

    def has_snapshot(self) -> bool:
        """A snapshot is shown."""
        return self.K is not None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._zoomed:
            self._fit()

    def _fit(self) -> None:
        if self.K is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def fit(self) -> None:
        """Show the whole image."""
        self._zoomed = False
        self._fit()

    def zoom_to(self, u0: float, v0: float, u1: float, v1: float) -> None:
        """Show the image region u0..u1 x v0..v1 (px) as large as the view allows."""
        self._zoomed = True
        self.fitInView(QRectF(u0, v0, u1 - u0, v1 - v0), Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        factor = ZOOM_STEP**steps
        current = self.transform().m11()
        if self.K is None or not (ZOOM_MIN <= current * factor <= ZOOM_MAX):
            return
        self._zoomed = True
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.scale(factor, factor)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.mode == FREEHAND:
            self.fit()

    # --- the stroke ----------------------------------------------------------------------

    def stroke(self) -> np.ndarray:
        """The whole stroke (N x 2 px): every piece drawn, in order."""
        if not self.pieces:
            return np.zeros((0, 2))
        return np.concatenate(self.pieces)

    def add_piece(self, points: np.ndarray | list) -> None:
        """Append a drawn piece (freehand samples, or one polyline vertex) and publish."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(pts):
            self.pieces.append(pts)
            self._stroke_edited()

    def undo(self) -> None:
        """Remove the last piece (a freehand stretch or a polyline vertex)."""
        if self.pieces:
            self.pieces.pop()
            self._stroke_edited()

    def clear(self) -> None:
        """Remove the whole stroke and its preview."""
        self.pieces.clear()
        self.set_preview(None)
        self._stroke_edited()

    def _stroke_edited(self) -> None:
        self._draw_stroke()
        self.stroke_changed.emit(self.stroke())

    def _draw_stroke(self, extra: list[tuple[float, float]] | None = None) -> None:
        pts = self.stroke()
        if extra:
            pts = np.concatenate([pts, np.asarray(extra, dtype=float)])
        self._stroke.setPath(_polyline(pts))
        dots = QPainterPath()
        if self.mode == POLYLINE:
            for u, v in pts:
                dots.addEllipse(QPointF(u, v), 4.0, 4.0)
        self._vertices.setPath(dots)

    def mousePressEvent(self, event) -> None:
        if not (self.drawing_enabled and self.has_snapshot()):
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        p = self.mapToScene(event.position().toPoint())
        if self.mode == POLYLINE:
            self.add_piece([(p.x(), p.y())])
        else:
            self._active = [(p.x(), p.y())]

    def mouseMoveEvent(self, event) -> None:
        if self._active is not None:
            self._sample(event)
            self._draw_stroke(self._active)

    def mouseReleaseEvent(self, event) -> None:
        if self._active is not None:
            self._sample(event)
            piece, self._active = self._active, None
            self.add_piece(piece)

    def _sample(self, event) -> None:
        assert self._active is not None
        p = self.mapToScene(event.position().toPoint())
        last = self._active[-1]
        if np.hypot(p.x() - last[0], p.y() - last[1]) >= MIN_STEP_PX:
            self._active.append((p.x(), p.y()))

    # --- what the server sent back -----------------------------------------------------

    def set_preview(self, preview: m.PathPreview | None) -> None:
        """Draw the mapped path of ``preview`` (None: remove it)."""
        self.preview = preview
        self._draw_preview()

    def _draw_preview(self) -> None:
        for item in self._path_items:
            self.scene().removeItem(item)
        self._path_items = []
        preview = self.preview
        if preview is None or self.K is None or self.T_base_camera is None or not preview.points:
            return
        uv = project(np.asarray(preview.points), self.K, self.T_base_camera)
        cats = point_categories(np.asarray(preview.s), preview.spans)
        for first, last, cat in runs(cats):
            item = self._path_item(theme.colour(cat, theme.PATH_COLOURS), PATH_WIDTH, z=3)
            item.setPath(_polyline(uv[first : last + 1]))
            self._path_items.append(item)
        stroke = self.stroke()
        if len(stroke):
            mask = off_body(stroke, uv, OFF_BODY_TOLERANCE_PX)
            for first, last, cat in runs(["off_body" if x else "on" for x in mask]):
                if cat == "off_body":
                    item = self._path_item(theme.OFF_BODY, PATH_WIDTH, Qt.PenStyle.DotLine, z=3)
                    item.setPath(_polyline(stroke[first : last + 1]))
                    self._path_items.append(item)

    def off_body_fraction(self) -> float:
        """The fraction of the stroke's samples that did not map onto the body."""
        stroke = self.stroke()
        if self.preview is None or self.K is None or not len(stroke) or not self.preview.points:
            return 0.0
        uv = project(np.asarray(self.preview.points), self.K, self.T_base_camera)
        return float(off_body(stroke, uv, OFF_BODY_TOLERANCE_PX).mean())

    def set_progress(self, track: ProgressTrack, points: np.ndarray, s: np.ndarray) -> None:
        """Draw the swept part of the path (``points`` N x 3 at arc lengths ``s``) coloured
        by the image quality recorded along it."""
        for item in self._progress_items:
            self.scene().removeItem(item)
        self._progress_items = []
        if self.K is None or self.T_base_camera is None or len(points) < 2:
            return
        for s0, s1, label in track.segments():
            inside = (s > s0) & (s < s1)
            pts = np.vstack(
                [at_arc_length(points, s, s0), points[inside], at_arc_length(points, s, s1)]
            )
            item = self._path_item(theme.colour(label, theme.QUALITY_COLOURS), PROGRESS_WIDTH, z=5)
            item.setOpacity(0.9)
            item.setPath(_polyline(project(pts, self.K, self.T_base_camera)))
            self._progress_items.append(item)

    def set_probe(self, T_base_probe: list[float] | None) -> None:
        """Mark the probe's position on the image (None: hide)."""
        if T_base_probe is None or self.K is None or self.T_base_camera is None:
            self._probe.hide()
            return
        T = np.asarray(T_base_probe, dtype=float).reshape(4, 4)
        uv = project(T[:3, 3][None, :], self.K, self.T_base_camera)[0]
        if not np.all(np.isfinite(uv)):
            self._probe.hide()
            return
        self._probe.setPos(QPointF(*uv))
        self._probe.show()
