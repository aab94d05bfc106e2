"""What the camera view draws over the snapshot, as plain arrays: the mapped path projected
into the image, each point's category (reachable / unreachable / off the body), the parts
of the drawn stroke that did not land on the body, and the sweep's progress coloured by
image quality. No Qt here: the view turns these into items."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from robot_us.protocol import messages as m

#: Span status -> path category. Every planning failure is "unreachable"; "off_body" is
#: accepted for servers that report stretches off the body as a span of their own.
SPAN_CATEGORIES: dict[str, str] = {"ok": "reachable", "off_body": "off_body"}
UNREACHABLE = "unreachable"
#: A stroke sample farther than this (px) from the projected path did not map onto the
#: body (the server trims what is off the body from the ends of the stroke).
OFF_BODY_TOLERANCE_PX = 12.0
#: Progress samples kept (one per quality result during a sweep).
MAX_PROGRESS_SAMPLES = 20000


def span_category(status: str) -> str:
    """The path category of a span status."""
    return SPAN_CATEGORIES.get(status, UNREACHABLE)


def project(points_base: np.ndarray, K: np.ndarray, T_base_camera: np.ndarray) -> np.ndarray:
    """Pixels (N x 2, u column, v row) of points in the base frame (N x 3, m) seen by a
    pinhole camera with intrinsics ``K`` (3x3) at pose ``T_base_camera`` (4x4); points
    behind the camera are NaN."""
    pts = np.asarray(points_base, dtype=float).reshape(-1, 3)
    T_camera_base = np.linalg.inv(np.asarray(T_base_camera, dtype=float).reshape(4, 4))
    pc = pts @ T_camera_base[:3, :3].T + T_camera_base[:3, 3]
    uvw = pc @ np.asarray(K, dtype=float).reshape(3, 3).T
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = uvw[:, :2] / uvw[:, 2:3]
    uv[pc[:, 2] <= 0] = np.nan
    return uv


def point_categories(s: np.ndarray, spans: list[m.Span]) -> list[str]:
    """The category of each path point (arc length ``s``, m) from the span it lies in;
    points outside every span are reachable (the server reports what fails)."""
    cats = ["reachable"] * len(s)
    for span in spans:
        cat = span_category(span.status)
        for i, si in enumerate(s):
            if span.s0 <= si <= span.s1 and cat != "reachable":
                cats[i] = cat
    return cats


def runs(categories: list[str]) -> list[tuple[int, int, str]]:
    """Consecutive runs ``(first, last, category)`` of equal categories; neighbouring runs
    share their boundary point so the drawn line has no gap."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(categories) + 1):
        if i == len(categories) or categories[i] != categories[start]:
            out.append((start, min(i, len(categories) - 1), categories[start]))
            start = i
    return out


def off_body(stroke_uv: np.ndarray, path_uv: np.ndarray, tol_px: float) -> np.ndarray:
    """For each stroke sample (N x 2 px): True when no projected path point lies within
    ``tol_px`` (that part of the stroke did not map onto the body)."""
    stroke = np.asarray(stroke_uv, dtype=float).reshape(-1, 2)
    path = np.asarray(path_uv, dtype=float).reshape(-1, 2)
    path = path[np.all(np.isfinite(path), axis=1)]
    if len(path) == 0:
        return np.ones(len(stroke), dtype=bool)
    dense = _densify(path, tol_px / 2)
    d2 = ((stroke[:, None, :] - dense[None, :, :]) ** 2).sum(axis=2)
    return d2.min(axis=1) > tol_px**2


def _densify(poly: np.ndarray, step: float) -> np.ndarray:
    """Points along the polyline ``poly`` at most ``step`` apart."""
    out = [poly[:1]]
    for a, b in itertools.pairwise(poly):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / max(step, 1e-9))))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)


def at_arc_length(points: np.ndarray, s: np.ndarray, s_query: float) -> np.ndarray:
    """The point at arc length ``s_query`` (m) on the path (points N x 3, arc lengths s)."""
    pts = np.asarray(points, dtype=float)
    return np.array([np.interp(s_query, s, pts[:, k]) for k in range(pts.shape[1])])


@dataclass
class ProgressTrack:
    """The sweep's progress as it goes: (arc length m, quality label) samples, in arrival
    order, for the plan being run; bounded by ``MAX_PROGRESS_SAMPLES``."""

    plan_id: int | None = None
    s: list[float] | None = None
    labels: list[str] | None = None

    def reset(self, plan_id: int | None) -> None:
        """Start tracking ``plan_id`` (forgets the samples)."""
        self.plan_id = plan_id
        self.s = []
        self.labels = []

    def add(self, s: float, label: str) -> None:
        """Record the quality ``label`` reached at arc length ``s`` (m)."""
        if self.s is None or self.labels is None:
            self.reset(self.plan_id)
        assert self.s is not None and self.labels is not None
        if len(self.s) >= MAX_PROGRESS_SAMPLES:
            return
        if self.s and s <= self.s[-1]:
            if self.labels[-1] != label:
                self.labels[-1] = label
            return
        self.s.append(float(s))
        self.labels.append(label)

    def segments(self) -> list[tuple[float, float, str]]:
        """Stretches ``(s0, s1, label)`` of equal quality, merged."""
        out: list[tuple[float, float, str]] = []
        if not self.s or not self.labels:
            return out
        prev = 0.0
        for s, label in zip(self.s, self.labels, strict=True):
            if out and out[-1][2] == label:
                out[-1] = (out[-1][0], s, label)
            else:
                out.append((prev, s, label))
            prev = s
        return out
