"""Local surface fits: exact on quadrics, robust to outliers; bed plane search."""

import numpy as np
import pytest

from perception.body_segmentation import BedPlaneError, body_from_height, fit_bed_plane
from perception.config import BodySegmentationConfig
from perception.surface_fit import fit_along_rays, intersect, masked_median

C = np.array([0.02, -0.01, 0.5])  # sphere centre (camera frame)
R = 0.1


def sphere_neighbourhoods(rays, half=12, step=0.0015, noise=0.0, seed=0):
    """Ray-cast points of the sphere on a grid of rays around each query ray."""
    rng = np.random.default_rng(seed)
    o = np.arange(-half, half + 1) * step
    gx, gy = np.meshgrid(o, o)
    out = []
    for r in rays:
        d = np.stack([r[0] + gx.ravel(), r[1] + gy.ravel(), np.ones(gx.size)], 1)
        a = np.sum(d * d, 1)
        b = -2 * d @ C
        c = C @ C - R * R
        t = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)  # depth along z (d has z = 1)
        t = t + rng.normal(0, noise, t.shape)
        out.append(d * t[:, None])
    return np.array(out)


def exact(rays):
    d = rays
    a = np.sum(d * d, 1)
    b = -2 * d @ C
    c = C @ C - R * R
    t = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    p = d * t[:, None]
    n = (p - C) / R
    return p, n


RAYS = np.array([[0.0, 0.0, 1.0], [0.05, -0.03, 1.0], [-0.08, 0.06, 1.0]])


def test_quadric_fit_is_exact_on_a_sphere():
    P = sphere_neighbourhoods(RAYS)
    patch = fit_along_rays(P, RAYS, exact(RAYS)[0][:, 2] + 0.003, 0.012, 15, 0.004)
    pts, nrm, ok = intersect(patch, np.arange(3), RAYS)
    p_true, n_true = exact(RAYS)
    assert ok.all()
    assert np.abs(pts - p_true).max() < 2e-5
    assert np.degrees(np.arccos(np.clip(np.sum(nrm * n_true, 1), -1, 1))).max() < 0.05
    assert np.all(np.sum(nrm * pts, 1) < 0)  # towards the camera


def test_noise_is_averaged_and_outliers_trimmed():
    P = sphere_neighbourhoods(RAYS, half=20, noise=0.002, seed=1)
    rng = np.random.default_rng(2)
    bad = rng.random(P.shape[:2]) < 0.1
    P[bad] += np.array([0, 0, 0.03])  # flying pixels 3 cm behind
    P[rng.random(P.shape[:2]) < 0.05] = np.nan  # dropouts
    patch = fit_along_rays(P, RAYS, exact(RAYS)[0][:, 2] + 0.003, 0.012, 15, 0.004)
    pts, nrm, ok = intersect(patch, np.arange(3), RAYS)
    p_true, n_true = exact(RAYS)
    assert ok.all()
    assert np.linalg.norm(pts - p_true, axis=1).max() < 0.5e-3
    assert np.degrees(np.arccos(np.sum(nrm * n_true, 1))).max() < 3.0


def test_too_few_points_is_not_ok():
    P = sphere_neighbourhoods(RAYS[:1])
    P[0, 8:] = np.nan
    patch = fit_along_rays(P, RAYS[:1], exact(RAYS[:1])[0][:, 2], 0.012, 15, 0.004)
    assert not patch.ok[0]
    _, _, ok = intersect(patch, np.array([0]), RAYS[:1])
    assert not ok[0]


def test_masked_median():
    v = np.array([[3.0, 1.0, 2.0, 9.0], [5.0, 4.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    m = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]], bool)
    out = masked_median(v, m)
    assert out[0] == 2.0 and out[1] == 4.5 and np.isnan(out[2])


def _bed_points(tilt_deg, n=4000, seed=0, floor=True):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-0.5, 0.5, (n, 2))
    z = np.tan(np.radians(tilt_deg)) * xy[:, 0] + 0.7 + rng.normal(0, 0.002, n)
    bed = np.column_stack([xy, z])
    body = bed[: n // 3].copy()
    body[:, 2] += rng.uniform(0.02, 0.15, len(body))  # a lumpy body on top
    floor_pts = np.column_stack([rng.uniform(-1, 1, (n // 4, 2)), np.zeros(n // 4)])
    if not floor:
        floor_pts = floor_pts[:0]
    return np.vstack([bed[n // 3 :], body, floor_pts]), body


@pytest.mark.parametrize("tilt", [0.0, 5.0])
def test_bed_plane_is_the_largest_horizontal_plane(tilt):
    pts, body = _bed_points(tilt)
    cfg = BodySegmentationConfig()
    plane = fit_bed_plane(pts, cfg)
    assert np.degrees(np.arccos(plane.normal[2])) == pytest.approx(tilt, abs=0.3)
    h = plane.height(np.array([[0.0, 0.0, 0.7]]))
    assert abs(h[0]) < 2e-3
    is_body = body_from_height(plane.height(pts), cfg)
    assert is_body[-len(body) // 2 :].sum() == 0  # the floor is never body
    assert body_from_height(plane.height(body), cfg).mean() > 0.9


def test_too_tilted_bed_is_refused():
    pts, _ = _bed_points(25.0, floor=False)
    with pytest.raises(BedPlaneError):
        fit_bed_plane(pts, BodySegmentationConfig())
