"""RGB-D depth noise, applied to a rendered depth image (metres along the optical axis, 0 =
invalid): what a structured-light or stereo depth camera returns instead of the exact
depth. Pure numpy.

- Axial noise growing with range squared: sigma(Z) = ``depth_noise_std`` +
  ``depth_noise_quadratic`` Z^2 (a stereo camera's depth error is Z^2 times the disparity
  error over focal length times baseline; Nguyen et al. 2012 fit a Kinect with the same
  form); independent per pixel.
- Edge dropout: a pixel whose depth differs from a 4-neighbour by more than
  ``edge_threshold`` (a silhouette or a step) reads invalid with probability
  ``edge_dropout`` (stereo matching and the cameras' own filters drop mixed pixels).
- Holes: ``holes`` elliptical blobs per frame, radius up to ``hole_radius`` px, read
  invalid (specular highlights, low texture, occlusion of the projector).
- Dropout: a fraction ``dropout`` of single pixels reads invalid.

Values per profile and their sources: docs/simulation.md ("The RGB-D camera").
"""

from __future__ import annotations

import numpy as np


class DepthNoise:
    """The noise model of a ``sim.camera`` section (module docstring)."""

    def __init__(self, cam) -> None:
        self.std = float(cam.depth_noise_std)
        self.quadratic = float(cam.depth_noise_quadratic)
        self.dropout = float(cam.dropout)
        self.edge_dropout = float(cam.edge_dropout)
        self.edge_threshold = float(cam.edge_threshold)
        self.holes = int(cam.holes)
        self.hole_radius = float(cam.hole_radius)

    @property
    def active(self) -> bool:
        """True when the model changes anything."""
        return bool(self.std or self.quadratic or self.dropout or self.edge_dropout or self.holes)

    def sigma(self, depth: np.ndarray) -> np.ndarray:
        """Axial noise (1 sigma, m) at ``depth`` (m)."""
        return self.std + self.quadratic * depth * depth

    def edges(self, depth: np.ndarray) -> np.ndarray:
        """Pixels (bool H x W) at a depth step larger than ``edge_threshold`` to one of
        their 4-neighbours, or next to an invalid pixel."""
        d = depth
        dv = np.abs(np.diff(d, axis=0)) > self.edge_threshold  # between rows
        dh = np.abs(np.diff(d, axis=1)) > self.edge_threshold  # between columns
        e = np.zeros(d.shape, dtype=bool)
        e[1:, :] |= dv
        e[:-1, :] |= dv
        e[:, 1:] |= dh
        e[:, :-1] |= dh
        return e & (d > 0)

    def apply(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A noisy copy of ``depth`` (H x W, m, 0 = invalid), drawn from ``rng``."""
        valid = depth > 0
        out = depth.copy()
        if self.std or self.quadratic:
            noise = rng.standard_normal(depth.shape) * self.sigma(depth)
            out = np.where(valid, depth + noise, 0.0)
        if self.edge_dropout:
            drop = self.edges(depth) & (rng.random(depth.shape) < self.edge_dropout)
            out[drop] = 0.0
        if self.holes:
            h, w = depth.shape
            yy, xx = np.ogrid[:h, :w]
            for _ in range(self.holes):
                cy, cx = rng.uniform(0, h), rng.uniform(0, w)
                ry, rx = rng.uniform(1.0, self.hole_radius, 2)
                out[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = 0.0
        if self.dropout:
            out[rng.random(depth.shape) < self.dropout] = 0.0
        return out
