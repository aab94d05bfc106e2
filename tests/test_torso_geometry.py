"""The torso phantom's exact geometry: closest points and normals (vectorised and the
contact model's scalar path agree), curvature that varies around and along the body,
flanks that curve under towards the bed, rays that enter on the skin, a depth field exact
at the skin, ribs in the chest region, a render mesh on the skin."""

import numpy as np
import pytest

from robot_us.config import load_config
from sim.phantom_geometry import PhantomGeometry
from sim.torso_geometry import TorsoGeometry


@pytest.fixture(scope="module")
def g() -> TorsoGeometry:
    cfg = load_config(overrides={"sim.phantom.shape": "torso"})
    return PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)


def _near_skin(g, n=400, seed=0):
    rng = np.random.default_rng(seed)
    half = 0.5 * g.length - 0.01
    y = g.center_y + rng.uniform(-half, half, n)
    u = rng.uniform(-0.9, 0.9, n) * g.u_max(y)
    off = rng.uniform(-0.03, 0.05, n)
    S, N = g.surface_point(u, y)
    return S + off[:, None] * N, off, u, y


def test_closest_points_are_exact(g):
    q, off, u, y = _near_skin(g)
    pr = g.project(q)
    assert np.allclose(pr.distance, off, atol=1e-10)
    assert np.allclose(pr.params[:, 0], u, atol=1e-9)
    assert np.allclose(pr.params[:, 1], y, atol=1e-9)
    assert np.allclose(np.linalg.norm(pr.normals, axis=1), 1.0)
    # the query lies on the normal through its closest point: a true closest point
    assert np.abs(np.cross(q - pr.points, pr.normals)).max() < 1e-10
    # against brute force on a dense grid of skin points
    uu, yy = np.meshgrid(np.linspace(-1.9, 1.9, 800), g.center_y + np.linspace(-0.2, 0.2, 400))
    dense, _ = g.surface_point(uu.ravel(), yy.ravel())
    for k in range(0, 400, 40):
        brute = np.linalg.norm(dense - q[k], axis=1).min()
        assert abs(pr.distance[k]) <= brute + 1e-9
        assert brute - abs(pr.distance[k]) < 1.5e-3  # the grid's spacing


def test_scalar_path_agrees_and_warm_starts(g):
    q, _, _, _ = _near_skin(g, 50, seed=1)
    pr = g.project(q)
    for k in range(50):
        # the contact model's path stops at a 0.1 mm step: within 0.1 um of the exact one
        cold = g.project_one(*q[k], 0.0, None, None)
        assert cold[6] == pytest.approx(pr.distance[k], abs=1e-7)
        assert np.allclose(cold[3:6], pr.normals[k], atol=1e-6)
        moved = q[k] + 1e-4
        warm = g.project_one(*moved, 0.0, cold[7], cold[8])
        exact = g.project(moved[None])
        assert warm[6] == pytest.approx(exact.distance[0], abs=1e-7)


def _curvature_along(g, u, y, du, dy, h=1e-4):
    """Normal curvature (1/m) of the skin along the parameter direction (du, dy)."""
    p0, n = g.surface_point(u, y)
    pp, _ = g.surface_point(u + h * du, y + h * dy)
    pm, _ = g.surface_point(u - h * du, y - h * dy)
    d1 = (pp - pm) / (2 * h)
    d2 = (pp - 2 * p0 + pm) / h**2
    return float(np.dot(d2, n) / np.dot(d1, d1))


def test_curvature_varies_around_and_along_the_body(g):
    cy = g.center_y
    around_top = _curvature_along(g, 0.0, cy, 1, 0)
    around_flank = _curvature_along(g, 1.3, cy, 1, 0)
    assert around_top < 0 and around_flank < 0  # convex
    assert abs(around_flank) > 2.5 * abs(around_top)  # flat on top, tight at the flanks
    along = [_curvature_along(g, 0.0, cy + y, 0, 1) for y in (-0.16, -0.1, 0.04, 0.12)]
    assert max(along) - min(along) > 1.0  # the chest and belly bulge, the waist dips
    assert min(along) < -1.0 and max(along) > 0.0  # convex over the belly, concave between


def test_flanks_curve_under_and_meet_the_bed(g):
    y = g.center_y + np.linspace(-0.2, 0.2, 41)
    um = g.u_max(y)
    assert np.all(um > np.pi / 2)  # below the widest point the skin turns back in
    p, _ = g.surface_point(um, y)
    assert np.allclose(p[:, 2], g.bed_z, atol=1e-12)
    widest, _ = g.surface_point(np.full_like(y, np.pi / 2), y)
    assert np.all(widest[:, 0] > p[:, 0])
    assert 0.12 < g.top_z - g.bed_z < 0.14


def test_rays_enter_on_the_skin_and_heights_match(g):
    rng = np.random.default_rng(2)
    n = 200
    o = np.column_stack(
        [
            g.center_x + rng.uniform(-0.1, 0.1, n),
            g.center_y + rng.uniform(-0.15, 0.15, n),
            np.full(n, 0.3),
        ]
    )
    d = np.column_stack([rng.normal(0, 0.2, n), rng.normal(0, 0.2, n), -np.ones(n)])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    t = g.ray_entry(o, d, dz=0.004)
    hit = t > 0
    assert hit.mean() > 0.9
    assert np.abs(g.signed_distance(o[hit] + t[hit, None] * d[hit], dz=0.004)).max() < 1e-6
    top, _ = g.surface_point(np.zeros(5), g.center_y + np.linspace(-0.15, 0.15, 5))
    assert np.allclose(g.height_at(top[:, 0], top[:, 1]), top[:, 2])
    assert np.isnan(g.height_at(g.center_x + 0.3, g.center_y))


def test_depth_field_is_exact_at_the_skin_and_close_below(g):
    q, off, _, _ = _near_skin(g, 300, seed=3)
    f32 = np.float32
    depth = g.depth_field(q[:, 0].astype(f32), q[:, 1].astype(f32), q[:, 2].astype(f32))
    shallow = np.abs(off) < 0.01
    assert np.abs(depth[shallow] + off[shallow]).max() < 3e-4  # first-order distance
    S, _ = g.surface_point(np.zeros(3), g.center_y + np.array([-0.1, 0.0, 0.1]))
    at_skin = g.depth_field(*(S.T.astype(f32)))
    assert np.abs(at_skin).max() < 1e-6


def test_ribs_lie_in_the_chest_region(g):
    ys = np.array([r.y for r in g.ribs])
    assert len(ys) >= 3 and np.all(ys < -0.05)  # the head end is -y
    assert np.allclose(np.diff(np.sort(ys)), 0.025)
    w = g.rib_weight(g.center_y + np.array([ys[0], 0.1]))
    assert w[0] == pytest.approx(1.0) and w[1] < 1e-6


def test_render_mesh_lies_on_the_skin(g):
    verts, faces, normals = g.visual_mesh()
    skin = verts[: (g.mesh_segments[0] + 1) * (g.mesh_segments[1] + 1)]
    pts = skin + np.array([g.center_x, g.center_y, 0.0])
    assert np.abs(g.signed_distance(pts)).max() < 1e-9
    assert faces.max() < len(verts) and len(normals) == len(verts)
