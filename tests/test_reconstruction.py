"""The reconstruction algorithms on synthetic data: image-to-probe calibration against the
simulator's geometry, compounding (nearest and trilinear), limited hole filling, vessel
mapping, temporal calibration; the simulator's injected image latency."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from perception.reconstruction.compounding import Compounder, VolumeGrid, grid_around
from perception.reconstruction.temporal_calibration import estimate_lag
from perception.reconstruction.vessels import map_vessels
from robot_us.config import load_config
from robot_us.reconstruction.sweep import leave_out_reason
from sim.ultrasound.scan_geometry import linear_geometry
from sim.ultrasound.source import SimUltrasoundSource
from tests.us_helpers import small_sim

H, W, PX = 40, 60, 0.25e-3  # frame size (px) and pixel spacing (m)


def _field(p: np.ndarray) -> np.ndarray:
    """A smooth grey-level field over base-frame points (..., 3, m)."""
    return 120.0 + 2000.0 * p[..., 0] + 800.0 * p[..., 1] - 1500.0 * p[..., 2]


def _planes(ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames in x-z planes at base y = ``ys`` (probe pointing down, image rows going
    down): images of ``_field`` and their pixel -> base transforms."""
    T = np.zeros((len(ys), 4, 4))
    T[:, 0, 0] = PX  # columns along +x
    T[:, 2, 1] = -PX  # rows downwards
    T[:, 1, 3] = ys
    T[:, 2, 3] = 0.01
    T[:, 3, 3] = 1.0
    v, u = np.mgrid[0:H, 0:W]
    pix = np.stack([u, v, np.zeros_like(u), np.ones_like(u)], axis=-1).astype(float)
    pts = np.einsum("nij,hwj->nhwi", T[:, :3], pix)
    return _field(pts), T


def test_image_calibration_defaults_match_the_simulated_linear_probe():
    cfg = load_config()
    geo = linear_geometry(cfg.probe, cfg.ultrasound.sim)
    h, w = geo.image_shape
    T = cfg.probe.T_probe_image(w, geo.pixel_spacing)
    # pixel (column i, row j) centre = scanline i's origin + depth j along +z
    for i, j in [(0, 0), (w - 1, 0), (17, h - 1), (w // 2, h // 3)]:
        p = T @ [i, j, 0, 1]
        want = geo.origins[i] + geo.depths[j] * geo.directions[i]
        assert np.allclose(p[:3], want, atol=1e-9)
    # a configured spacing replaces the frame's, the origin moves the image
    cal = load_config(
        overrides={"probe.image_spacing": [1e-4, 2e-4], "probe.image_origin": [0.001, 0, -0.002]}
    ).probe.T_probe_image(w, geo.pixel_spacing)
    assert np.allclose(cal @ [0, 3, 0, 1], [0.001 - 0.5 * (w - 1) * 1e-4, 0, -0.002 + 7e-4, 1])


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_compounding_places_every_pixel_where_it_was_imaged(interpolation):
    images, T = _planes(np.arange(0.0, 0.01, 0.2e-3))  # frames 0.2 mm apart
    grid = grid_around(T, (H, W), 0.5e-3)
    comp = Compounder(grid, interpolation)
    comp.add(images[:20], T[:20])  # two batches: insertion is incremental
    comp.add(images[20:], T[20:])
    rec = comp.result(fill_distance=0.0)
    assert rec.frames == len(images)
    centres = np.stack(np.meshgrid(*(grid.axis(k) for k in range(3)), indexing="ij"), -1)
    err = np.abs(rec.volume - _field(centres))[rec.imaged]
    # a pixel lands within half a voxel of its voxel's centre: gradient 2000 grey/m
    assert np.median(err) < 0.35 and err.max() < 1.5
    # the imaged region is the swept slab: y in [0, 10] mm, x 15 mm wide, z 10 mm deep
    assert rec.imaged[:, :, grid.shape[2] // 2].sum() > 0.8 * 30 * 20
    assert not rec.imaged[:, :, 0].any() and not rec.filled.any()


def test_hole_filling_reaches_the_configured_distance_only():
    images, T = _planes(np.arange(0.0, 0.02, 2e-3))  # frames 2 mm apart, 0.5 mm voxels
    grid = grid_around(T, (H, W), 0.5e-3)
    comp = Compounder(grid)
    comp.add(images, T)
    y = grid.axis(1)
    gaps = np.abs(((y + 1e-3) % 2e-3) - 1e-3) >= 0.75e-3  # planes between frames
    near = Compounder(grid)
    near.add(images, T)
    some = near.result(fill_distance=0.6e-3)  # one voxel from a frame: not the gap centres
    full = comp.result(fill_distance=1.5e-3)
    inside = some.imaged.any(axis=1, keepdims=True) & np.ones_like(some.imaged)  # x-z extent
    mid = inside[:, gaps, :]
    assert some.filled.any() and not some.known[:, gaps, :][mid].any()
    assert full.known[:, gaps, :][mid].mean() > 0.95
    centres = np.stack(np.meshgrid(*(grid.axis(k) for k in range(3)), indexing="ij"), -1)
    err = np.abs(full.volume - _field(centres))[full.filled]
    assert np.median(err) < 2.0  # filled from neighbours of a smooth field


def test_vessel_mapping_finds_a_dark_tube_and_its_centre_line():
    rng = np.random.default_rng(3)
    grid = VolumeGrid(np.array([0.0, 0.0, 0.0]), 0.5e-3, (60, 120, 60))
    c = np.stack(np.meshgrid(*(grid.axis(k) for k in range(3)), indexing="ij"), -1)
    p0, u = np.array([0.015, 0.0, 0.014]), np.array([0.1, 1.0, 0.05])
    u /= np.linalg.norm(u)
    d = c - p0
    dist = np.linalg.norm(d - (d @ u)[..., None] * u, axis=-1)
    vol = ndimage.gaussian_filter(rng.gamma(2.0, 60.0, grid.shape), 1.0).astype(np.float32)
    vol[dist < 0.004] = rng.uniform(0, 6, int((dist < 0.004).sum()))
    known = np.ones(grid.shape, bool)
    med = float(np.median(vol))
    vm = map_vessels(vol, known, grid, 0.35 * med, 0.6 * med, 7.5e-4, 0.01, 1e-3)
    (v,) = vm.vessels
    off = v.centreline - p0
    off -= np.outer(off @ u, u)
    # every slab's centroid on the axis (the two end slabs are cut by the volume's faces)
    assert np.linalg.norm(off, axis=1)[1:-1].max() < 0.4e-3
    assert v.radius == pytest.approx(0.004, abs=0.5e-3) and v.length > 0.05
    assert abs(v.direction @ u) > 0.99
    truth = dist < 0.004
    assert 2 * (truth & vm.mask).sum() / (truth.sum() + vm.mask.sum()) > 0.85


def _texture_frames(lag: float, speeds: list[tuple[float, float]]):
    """Frames (32 x 32) of a smooth random 3D texture, the probe moving along y with the
    piecewise-constant ``speeds`` [(duration s, speed m/s)], jerk-free ramps (0.3 s); each
    frame stamped t shows the texture at the probe position of t - lag."""
    rng = np.random.default_rng(5)
    tex = ndimage.gaussian_filter(rng.normal(size=(32, 600, 32)), 2.0)
    t = np.arange(0.0, sum(d for d, _ in speeds), 1e-3)
    v = np.concatenate([np.full(round(d * 1e3), s) for d, s in speeds])[: len(t)]
    v = ndimage.gaussian_filter1d(v, 100.0)  # smooth ramps
    y = np.cumsum(v) * 1e-3
    pos = np.stack([np.zeros_like(y), y, np.zeros_like(y)], axis=1)
    ft = np.arange(0.5, t[-1] - 0.5, 1 / 30)
    yy = np.interp(ft - lag, t, y) / 0.1e-3  # texture voxels of 0.1 mm
    g = np.mgrid[0:32, 0:32].astype(float)
    frames = [
        ndimage.map_coordinates(tex, [g[0], np.full((32, 32), 50 + yi), g[1]], order=1) for yi in yy
    ]
    return ft, np.array(frames) * 40 + 128, t, pos


def test_temporal_calibration_recovers_an_injected_lag():
    speeds = [(1.0, 0.0), (2.0, 0.01), (1.0, 0.003), (0.7, 0.0), (2.0, 0.01), (1.0, 0.0)]
    ft, frames, t, pos = _texture_frames(0.04, speeds)
    est = estimate_lag(ft, frames, t, pos, max_lag=0.2)
    assert est.ok, est.reason
    assert est.lag == pytest.approx(0.04, abs=0.003) and est.correlation > 0.9
    # negative lags too (the pose stream late)
    ft, frames, t, pos = _texture_frames(-0.025, speeds)
    assert estimate_lag(ft, frames, t, pos).lag == pytest.approx(-0.025, abs=0.003)


def test_temporal_calibration_refuses_a_constant_speed_sweep():
    ft, frames, t, pos = _texture_frames(0.04, [(6.0, 0.01)])
    keep = (ft > 1.5) & (ft < 4.5)  # the ramps cut away: one speed throughout
    est = estimate_lag(ft[keep], frames[keep], t, pos)
    assert not est.ok and "speed hardly varied" in est.reason


class _Sim:
    """Stands in for the B-mode simulator: remembers what it was asked to render."""

    def __init__(self) -> None:
        self.real = small_sim()
        self.shown: list[np.ndarray] = []

    def render(self, T, force, dz):
        self.shown.append(np.array(T))
        return self.real.render(T, force, dz)


def test_simulated_latency_shows_the_probe_where_it_was_latency_earlier():
    sim, clock = _Sim(), [0.0]

    def pose():
        T = np.eye(4)
        T[:3, 3] = [0.6, -0.13 + 0.01 * clock[0], 0.2]  # 10 mm/s along y, in the air
        return T

    src = SimUltrasoundSource(sim, pose, clock=lambda: clock[0], latency=0.04)
    for k in range(12):
        clock[0] = k / 30
        frame = src.grab()
        assert frame.t == clock[0] and frame.T_base_probe[1, 3] == pytest.approx(pose()[1, 3])
        shown_t = max(clock[0] - 0.04, 0.0)
        assert sim.shown[-1][1, 3] == pytest.approx(-0.13 + 0.01 * shown_t, abs=1e-9)


class _Q:
    def __init__(self, label="good", score=0.9, ood=None):
        self.label, self.score = label, score
        if ood is not None:
            self.ood = ood


def test_frames_left_out_by_class_score_and_out_of_distribution_flag():
    assert leave_out_reason(_Q(), 0.6) == ""
    assert leave_out_reason(_Q(score=0.5), 0.6) == "score below threshold"
    assert leave_out_reason(_Q(label="shadowed"), 0.6) == "shadowed"
    assert leave_out_reason(_Q(ood=True), 0.6) == "out of distribution"
    assert leave_out_reason(_Q(ood=False), 0.6) == ""
    assert leave_out_reason(None, 0.6) == "not assessed"


def test_compression_is_calibrated_from_two_frames_at_different_forces():
    from perception.reconstruction.compression import fit_compression

    rng = np.random.default_rng(9)
    h, w, dy = 256, 96, 0.25e-3
    a = ndimage.gaussian_filter(rng.normal(size=(h, w)), 1.2) * 60 + 128
    # at the higher force the near 30 mm shrink by 2 %, everything deeper moves up 0.6 mm
    s = np.arange(h) * dy
    u = 0.02 * np.minimum(s, 0.03)
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    b = ndimage.map_coordinates(a, [rows + (u / dy)[:, None], cols], order=3, mode="nearest")
    m = fit_compression(a, b, 1.0, 5.0, 2e-3, dy)
    assert not isinstance(m, str)
    assert m.face_per_newton == pytest.approx(0.5e-3)
    deep = m.depth > 0.035
    assert np.allclose(m.shift_per_newton[deep] * 4.0, 0.6e-3, atol=0.05e-3)
    mid = (m.depth > 0.01) & (m.depth < 0.025)
    assert np.allclose(m.shift_per_newton[mid] * 4.0, 0.02 * m.depth[mid], atol=0.06e-3)
    # at 5 N the tissue shown at 40 mm lies 5 x (0.15 - 0.5) mm = 1.75 mm closer to the face
    assert m.depth_below_face(np.array([0.04]), 5.0)[0] == pytest.approx(0.04 - 1.75e-3, abs=1e-4)
    assert "do not rise" in fit_compression(a, b, 5.0, 5.0, 0.0, dy)
