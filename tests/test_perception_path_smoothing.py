"""Smoothing along the path: exact on steady curves, removes jitter, keeps the rays."""

import numpy as np

from perception.path_smoothing import smooth_along_rays


def arc(n=200, radius=0.2, z0=0.9):
    """A circular arc on a cylinder seen from the camera at the origin, 1 mm spacing."""
    th = np.arange(n) * 0.001 / radius - 0.4
    p = np.stack([radius * np.sin(th), np.zeros(n), z0 - radius * np.cos(th)], 1)
    nrm = np.stack([np.sin(th), np.zeros(n), -np.cos(th)], 1)
    return p, nrm


def test_steady_arc_is_unchanged():
    p, n = arc()
    ps, ns = smooth_along_rays(p, n, 0.005)
    assert np.abs(ps - p).max() < 5e-6
    assert np.degrees(np.arccos(np.clip(np.sum(ns * n, 1), -1, 1))).max() < 0.01


def test_jitter_is_removed_along_the_rays():
    p, n = arc()
    rng = np.random.default_rng(0)
    rays = p / np.linalg.norm(p, axis=1, keepdims=True)
    noisy = p + rays * rng.normal(0, 2e-4, (len(p), 1))
    nn = n + rng.normal(0, 0.02, n.shape)
    nn /= np.linalg.norm(nn, axis=1, keepdims=True)
    ps, ns = smooth_along_rays(noisy, nn, 0.005)
    # still on the same lines of sight
    assert np.abs(np.cross(ps, rays)).max() < 1e-12
    rms = lambda a: np.sqrt(np.mean(np.sum((a - p) ** 2, 1)))  # noqa: E731
    assert rms(ps) < 0.5 * rms(noisy)
    ang = lambda a: np.degrees(np.arccos(np.clip(np.sum(a * n, 1), -1, 1)))  # noqa: E731
    assert ang(ns).mean() < 0.4 * ang(nn).mean()


def test_zero_sigma_is_identity():
    p, n = arc(20)
    ps, ns = smooth_along_rays(p, n, 0.0)
    assert np.array_equal(ps, p) and np.array_equal(ns, n)
