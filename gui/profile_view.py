"""The side view of the mapped path: height above the robot base against arc length (mm),
with the outward normals drawn as short strokes (their component along the path and up),
coloured per span like the camera view, and the probe's arc length during a sweep."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from gui import theme
from gui.path_overlay import point_categories, runs
from robot_us.protocol import messages as m

#: Length of a drawn normal (mm) and how many normals are drawn at most.
NORMAL_MM = 12.0
MAX_NORMALS = 40


def normal_strokes(points: np.ndarray, normals: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Segments (2K x 2, mm, pairs for ``connect='pairs'``) of up to ``MAX_NORMALS``
    normals in the side view: along the path's horizontal direction and up."""
    pts = np.asarray(points, dtype=float)
    nrm = np.asarray(normals, dtype=float)
    if len(pts) < 2:
        return np.zeros((0, 2))
    tangent = np.gradient(pts, axis=0)
    tangent[:, 2] = 0.0
    norm = np.linalg.norm(tangent, axis=1, keepdims=True)
    tangent = np.divide(tangent, norm, out=np.zeros_like(tangent), where=norm > 1e-12)
    along = (nrm * tangent).sum(axis=1)
    idx = np.unique(np.linspace(0, len(pts) - 1, min(MAX_NORMALS, len(pts))).astype(int))
    x0 = s[idx] * 1e3
    y0 = pts[idx, 2] * 1e3
    out = np.empty((2 * len(idx), 2))
    out[0::2, 0], out[0::2, 1] = x0, y0
    out[1::2, 0] = x0 + NORMAL_MM * along[idx]
    out[1::2, 1] = y0 + NORMAL_MM * nrm[idx, 2]
    return out


class ProfileView(pg.PlotWidget):
    """Height profile and normals of a path preview (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(150)
        self.setLabel("bottom", "along the path", units="mm")
        self.setLabel("left", "height", units="mm")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setAspectLocked(True)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self._curves: list[pg.PlotDataItem] = []
        self._normals = self.plot(pen=pg.mkPen(theme.MUTED, width=1.5), connect="pairs")
        self._probe = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.PROBE, width=2))
        self._probe.hide()
        self.addItem(self._probe)

    def set_preview(self, preview: m.PathPreview | None) -> None:
        """Show a preview's profile (None: empty)."""
        for curve in self._curves:
            self.removeItem(curve)
        self._curves = []
        if preview is None or len(preview.points) < 2:
            self._normals.setData([], [])
            return
        pts = np.asarray(preview.points, dtype=float)
        s = np.asarray(preview.s, dtype=float)
        cats = point_categories(s, preview.spans)
        for first, last, cat in runs(cats):
            pen = pg.mkPen(theme.colour(cat, theme.PATH_COLOURS), width=4)
            sl = slice(first, last + 1)
            self._curves.append(self.plot(s[sl] * 1e3, pts[sl, 2] * 1e3, pen=pen))
        segs = normal_strokes(pts, np.asarray(preview.normals, dtype=float), s)
        self._normals.setData(segs[:, 0], segs[:, 1], connect="pairs")
        self.autoRange(padding=0.08)

    def set_probe_s(self, s: float | None) -> None:
        """Mark the probe's arc length (m) on the profile (None: hide)."""
        if s is None:
            self._probe.hide()
        else:
            self._probe.setValue(s * 1e3)
            self._probe.show()
