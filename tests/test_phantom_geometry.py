"""Exact phantom geometry: closest points lie on the skin, normals are outward and unit."""

import numpy as np

from robot_us.config import Config
from sim.phantom_geometry import PhantomGeometry


def geom():
    cfg = Config()
    return PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)


def test_top_and_width():
    g = geom()
    assert g.top_z == 0.1
    assert abs(g.width - 2 * np.sqrt(0.2**2 - 0.1**2)) < 1e-12


def test_closest_point_on_surface_and_normal_outward():
    g = geom()
    rng = np.random.default_rng(0)
    q = np.column_stack(
        [rng.uniform(0.45, 0.75, 200), rng.uniform(-0.15, 0.15, 200), rng.uniform(0.05, 0.3, 200)]
    )
    p, n = g.closest_point(q)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)
    assert np.allclose(g.signed_distance(p), 0.0, atol=1e-12)
    # the query lies along the normal from its closest point
    d = q - p
    cross = np.cross(d, n)
    assert np.allclose(cross, 0.0, atol=1e-12)
    assert np.allclose(np.einsum("ij,ij->i", d, n), g.signed_distance(q), atol=1e-12)


def test_height_and_breathing_shift():
    g = geom()
    assert np.isclose(g.height_at(0.6, 0.0), 0.1)
    assert np.isnan(g.height_at(0.6, 0.5))
    assert np.isclose(g.height_at(0.6, 0.0, dz=0.005), 0.105)
    p, _ = g.closest_point(np.array([0.6, 0.0, 0.5]), dz=0.005)
    assert np.isclose(p[2], 0.105)


def test_over_skin_and_ray_entry():
    g = geom()
    pts = np.array([[0.6, 0.0, 0.3], [0.6, 0.3, 0.3], [0.9, 0.0, -0.05], [0.6, 0.0, 0.05]])
    assert g.over_skin(pts).tolist() == [True, False, False, True]
    side = np.array([0.9, 0.0, 0.0])  # 72 deg off the top at rest, 56 deg 0.1 m lower
    assert not g.over_skin(side) and g.over_skin(side, dz=-0.1)
    down = np.tile([0.0, 0.0, -1.0], (3, 1))
    o = np.array([[0.6, 0.0, 0.3], [0.6, 0.0, 0.05], [0.9, 0.0, 0.3]])
    t = g.ray_entry(o, down, dz=0.01)
    assert np.allclose(t[:2], [0.3 - 0.11, 0.05 - 0.11])  # entry below the origin inside
    assert t[2] == 0.0  # misses the cylinder
    assert g.ray_entry(o[:1], np.array([[0.0, 1.0, 0.0]]))[0] == 0.0  # along the axis


def test_arc_per_u_is_the_skin_length_per_unit_of_u():
    """The cylinder's u is the angle: arc per u is its radius; on the torso it matches the
    length of the skin polyline over a small span of u."""
    from robot_us.config import load_config

    assert abs(geom().arc_per_u(0.3, 0.0) - 0.2) < 1e-6
    cfg = load_config(overrides={"sim.phantom.shape": "torso"})
    g = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    for u, y in ((0.0, 0.02), (0.4, -0.05)):
        p, _ = g.surface_point(np.linspace(u - 0.01, u + 0.01, 201), np.full(201, y))
        arc = np.linalg.norm(np.diff(p, axis=0), axis=1).sum()
        assert abs(g.arc_per_u(u, y) - arc / 0.02) < 1e-3 * arc / 0.02
