"""The depth camera's noise model: axial noise growing with range squared, dropout at depth
edges, holes; on by default in the realistic and harsh profiles."""

import dataclasses

import numpy as np
import pytest

from perception.camera_model import CameraModel
from sim.cell import make_sim_cell
from sim.config import CameraConfig
from sim.depth_noise import DepthNoise
from tests.sim_helpers import sim_config


def _model(**kw) -> DepthNoise:
    return DepthNoise(dataclasses.replace(CameraConfig(), **kw))


def test_axial_noise_grows_with_range_squared():
    m = _model(depth_noise_std=0.0005, depth_noise_quadratic=0.0025)
    rng = np.random.default_rng(0)
    stds = {}
    for z in (0.5, 1.0, 2.0):
        d = m.apply(np.full((200, 200), z), rng)
        stds[z] = np.std(d - z)
        assert stds[z] == pytest.approx(0.0005 + 0.0025 * z * z, rel=0.03)
    assert stds[2.0] / stds[1.0] > 3.0


def test_pixels_at_depth_edges_drop_out():
    m = _model(edge_dropout=0.6, edge_threshold=0.01)
    depth = np.full((100, 100), 0.8)
    depth[:, 50:] = 0.9  # a 10 cm step between columns 49 and 50
    out = m.apply(depth, np.random.default_rng(1))
    edge = out[:, 49:51]
    assert np.mean(edge == 0.0) == pytest.approx(0.6, abs=0.08)
    away = np.delete(out, [49, 50], axis=1)
    assert np.all(away > 0)
    assert np.array_equal(m.edges(depth)[:, 49:51], np.ones((100, 2), bool))


def test_holes_are_blobs_of_invalid_pixels():
    m = _model(holes=4, hole_radius=6.0)
    out = m.apply(np.full((120, 160), 0.85), np.random.default_rng(2))
    bad = out == 0.0
    assert 0 < bad.sum() <= 4 * np.pi * 36 + 10
    assert bad.sum() >= 4  # every blob is at least a pixel


def test_ideal_camera_is_exact_and_realistic_is_noisy():
    assert not DepthNoise(sim_config().sim.camera).active
    cfg = sim_config({"sim.profile": "realistic"})
    cam = cfg.sim.camera
    assert cam.depth_noise_quadratic > 0 and cam.edge_dropout > 0 and cam.holes > 0
    small = {"sim.camera.width": 320, "sim.camera.height": 240, "sim.camera.fx": 300.0}
    cell = make_sim_cell(sim_config({"sim.profile": "realistic", **small}))
    try:
        f = cell.camera.capture()
        g = cell.sim.geometry
        valid = f.mask & (f.depth > 0)
        assert 0.005 < 1.0 - valid.sum() / f.mask.sum() < 0.5  # holes, edges, dropout
        v, u = np.nonzero(valid)
        z = f.depth[v, u].astype(float)
        pc = CameraModel(f.intrinsics).rays(np.column_stack([u, v])) * z[:, None]
        T = f.T_base_camera
        pts = pc @ T[:3, :3].T + T[:3, 3]
        skin = np.abs(pts[:, 1] - g.center_y) < 0.5 * g.length - 0.01
        err = g.signed_distance(pts[skin])
        sigma = DepthNoise(cell.sim.cfg.sim.camera).sigma(z[skin])
        # along the ray the depth error is sigma; off the surface normal somewhat less
        assert 0.4 < np.std(err) / np.mean(sigma) < 1.2
    finally:
        cell.close()
