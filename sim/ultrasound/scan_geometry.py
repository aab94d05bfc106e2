"""Probe scan geometries: where each scanline starts on the probe face and where it points
(probe frame: origin at the face centre, z into the tissue, x along the array), and how the
scanline data (samples x lines) become the displayed image.

- ``linear``: parallel scanlines across the flat face, image = scanline data.
- ``convex``: scanlines fanned from the centre of curvature of a face of radius
  ``probe.convex_radius``; scan-converted (bilinear) to a sector image with square pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robot_us.core.probe import ProbeConfig
from robot_us.core.registry import Registry
from sim.probe_tool import ProbeTool
from sim.ultrasound.config import UltrasoundSimConfig

#: Largest half-angle (rad) of a convex probe's field of view.
MAX_HALF_ANGLE = 1.2


@dataclass
class ScanGeometry:
    """Scanline origins and unit directions (n_lines x 3, probe frame, m), sample depths
    along each line (n_samples, m from the face), the lateral and axial sample spacing in
    scanline space (m, at mid-depth), and the mapping to the output image."""

    origins: np.ndarray
    directions: np.ndarray
    depths: np.ndarray
    line_spacing: float
    sample_spacing: float
    image_shape: tuple[int, int]  # (height, width) px
    pixel_spacing: tuple[float, float]  # (lateral, axial) m/px
    map_x: np.ndarray | None = None  # float32 HxW line index per output pixel
    map_y: np.ndarray | None = None  # float32 HxW sample index per output pixel
    fov_mask: np.ndarray | None = None  # bool HxW, pixels inside the field of view

    @property
    def n_lines(self) -> int:
        """Number of scanlines."""
        return len(self.origins)

    @property
    def n_samples(self) -> int:
        """Samples per scanline."""
        return len(self.depths)

    def to_image(self, scan: np.ndarray) -> np.ndarray:
        """Scanline data (n_samples x n_lines, uint8 or float32) -> the displayed image."""
        h, w = self.image_shape
        if self.map_x is None:
            if scan.shape == (h, w):
                return scan
            return cv2.resize(scan, (w, h), interpolation=cv2.INTER_LINEAR)
        out = cv2.remap(
            scan, self.map_x, self.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        out[~self.fov_mask] = 0
        return out


def _n_lines(cfg: UltrasoundSimConfig) -> int:
    return cfg.n_scanlines or cfg.width_px


def linear_geometry(probe: ProbeConfig, cfg: UltrasoundSimConfig) -> ScanGeometry:
    """Parallel scanlines across a flat face of width ``probe.width``."""
    n, ns = _n_lines(cfg), cfg.height_px
    x = (np.arange(n) + 0.5) / n * probe.width - 0.5 * probe.width
    origins = np.stack([x, np.zeros(n), np.zeros(n)], axis=1)
    directions = np.tile([0.0, 0.0, 1.0], (n, 1))
    depths = (np.arange(ns) + 0.5) / ns * cfg.depth
    return ScanGeometry(
        origins=origins,
        directions=directions,
        depths=depths,
        line_spacing=probe.width / n,
        sample_spacing=cfg.depth / ns,
        image_shape=(cfg.height_px, cfg.width_px),
        pixel_spacing=(probe.width / cfg.width_px, cfg.depth / cfg.height_px),
    )


def convex_geometry(probe: ProbeConfig, cfg: UltrasoundSimConfig) -> ScanGeometry:
    """Scanlines fanned over a face of radius ``probe.convex_radius`` whose chord is
    ``probe.width`` (the face ``sim.probe_tool.ProbeTool`` builds, checked the same way);
    output is a sector image with square pixels."""
    rc, depth = probe.convex_radius, cfg.depth
    half = min(ProbeTool.from_config(probe).half_angle, MAX_HALF_ANGLE)
    n, ns = _n_lines(cfg), cfg.height_px
    phi = -half + (np.arange(n) + 0.5) * (2 * half / n)
    s, c = np.sin(phi), np.cos(phi)
    origins = np.stack([rc * s, np.zeros(n), rc * c - rc], axis=1)
    directions = np.stack([s, np.zeros(n), c], axis=1)
    depths = (np.arange(ns) + 0.5) / ns * depth

    h, w = cfg.height_px, cfg.width_px
    z_top = rc * (np.cos(half) - 1.0)
    x_span = 2.0 * (rc + depth) * np.sin(half)
    z_span = depth - z_top
    sp = max(x_span / w, z_span / h)
    X = (np.arange(w) + 0.5 - 0.5 * w) * sp
    Z = z_top + (np.arange(h) + 0.5) * sp
    XX, ZZ = np.meshgrid(X, Z)
    rho = np.hypot(XX, ZZ + rc)
    ang = np.arctan2(XX, ZZ + rc)
    map_x = ((ang + half) / (2 * half) * n - 0.5).astype(np.float32)
    map_y = ((rho - rc) / depth * ns - 0.5).astype(np.float32)
    fov = (np.abs(ang) <= half) & (rho >= rc) & (rho <= rc + depth)
    return ScanGeometry(
        origins=origins,
        directions=directions,
        depths=depths,
        line_spacing=(rc + 0.5 * depth) * 2 * half / n,
        sample_spacing=depth / ns,
        image_shape=(h, w),
        pixel_spacing=(sp, sp),
        map_x=map_x,
        map_y=map_y,
        fov_mask=fov,
    )


#: Scan geometry factories by ``probe.geometry``: ``factory(probe, cfg) -> ScanGeometry``.
SCAN_GEOMETRIES: Registry[ScanGeometry] = Registry("probe geometry")
SCAN_GEOMETRIES.register("linear", linear_geometry)
SCAN_GEOMETRIES.register("convex", convex_geometry)


def make_scan_geometry(probe: ProbeConfig, cfg: UltrasoundSimConfig) -> ScanGeometry:
    """The scan geometry of the configured probe type."""
    return SCAN_GEOMETRIES.create(probe.geometry, probe, cfg)
