"""Path resampling/smoothing and probe frames: exact poses on a line, tangent continuity on
an arc, z on the surface normal on the phantom, clear errors for bad paths."""

import numpy as np
import pytest

from robot_us.config import Config
from robot_us.core.types import SurfacePath
from sim.phantom_geometry import PhantomGeometry
from trajectory.config import TrajectoryConfig
from trajectory.errors import FailureReason, PlanningError
from trajectory.frames import normal_segment, probe_frames, rotation_angles
from trajectory.path_geometry import spline_resample

CFG = TrajectoryConfig()


def _phantom() -> PhantomGeometry:
    cfg = Config()
    return PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)


def _plane_line(n_pts=7, length=0.1):
    """A straight line on a tilted plane, irregularly spaced input points."""
    rng = np.random.default_rng(3)
    normal = np.array([0.2, -0.1, 1.0])
    normal /= np.linalg.norm(normal)
    d = np.cross(normal, [0.0, 1.0, 0.0])
    d /= np.linalg.norm(d)
    u = np.sort(np.concatenate([[0.0, length], rng.uniform(0, length, n_pts - 2)]))
    p0 = np.array([0.5, 0.05, 0.12])
    return p0, d, normal, SurfacePath(p0 + u[:, None] * d, np.tile(normal, (n_pts, 1)))


def test_straight_line_on_a_plane_gives_exact_poses():
    p0, d, normal, path = _plane_line()
    sp = spline_resample(path, CFG)
    assert sp.length == pytest.approx(0.1, abs=1e-9)
    np.testing.assert_allclose(sp.s, np.arange(101) * 1e-3, atol=1e-9)
    np.testing.assert_allclose(sp.points, p0 + sp.s[:, None] * d, atol=1e-8)
    T = probe_frames(sp, "longitudinal")
    R = np.column_stack([d, np.cross(-normal, d), -normal])
    for Ti, si in zip(T, sp.s, strict=True):
        np.testing.assert_allclose(Ti[:3, :3], R, atol=1e-8)
        np.testing.assert_allclose(Ti[:3, 3], p0 + si * d, atol=1e-8)
        np.testing.assert_allclose(Ti[3], [0, 0, 0, 1])


def test_transverse_plane_puts_the_path_along_probe_y_and_flip_turns_it():
    _, d, _normal, path = _plane_line()
    sp = spline_resample(path, CFG)
    lon = probe_frames(sp, "longitudinal")
    tra = probe_frames(sp, "transverse")
    flip = probe_frames(sp, "transverse", flip=True)
    np.testing.assert_allclose(lon[:, :3, 0], np.tile(d, (len(sp.s), 1)), atol=1e-8)
    np.testing.assert_allclose(tra[:, :3, 1], np.tile(d, (len(sp.s), 1)), atol=1e-8)
    np.testing.assert_allclose(tra[:, :3, 2], lon[:, :3, 2], atol=1e-12)
    np.testing.assert_allclose(flip[:, :3, :2], -tra[:, :3, :2], atol=1e-12)
    np.testing.assert_allclose(flip[:, :3, 2], tra[:, :3, 2], atol=1e-12)
    for T in (lon, tra, flip):
        R = T[:, :3, :3]
        np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)


def test_arc_keeps_tangent_continuity():
    R = 0.08  # turns the probe at 1/R = 12.5 rad/m, inside the 17.5 rad/m default
    phi = np.linspace(0.0, np.pi / 2, 40)  # coarse input: 40 points on a quarter circle
    pts = np.stack([0.5 + R * np.cos(phi), R * np.sin(phi), np.full_like(phi, 0.1)], axis=1)
    sp = spline_resample(SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (40, 1))), CFG)
    assert sp.length == pytest.approx(R * np.pi / 2, rel=2e-3)
    # the tangent turns smoothly (no kinks: the turn per step changes little from step to
    # step) at ~ds/R away from the ends (the natural spline straightens the last few mm)
    turn = np.arccos(np.clip(np.einsum("ij,ij->i", sp.tangents[:-1], sp.tangents[1:]), -1, 1))
    expected = np.diff(sp.s) / R
    assert np.abs(np.diff(turn)).max() < 0.3 * expected.max()
    np.testing.assert_allclose(turn[10:-10], expected[10:-10], rtol=0.05)
    phi_at = np.arctan2(sp.points[:, 1], sp.points[:, 0] - 0.5)
    true_t = np.stack([-np.sin(phi_at), np.cos(phi_at), 0 * phi_at], axis=1)
    err = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", sp.tangents, true_t), -1, 1)))
    assert err.max() < 3.0 and err[10:-10].max() < 0.5
    np.testing.assert_allclose(sp.curvature[5:-5], 1 / R, rtol=0.1)
    radius = np.linalg.norm(sp.points[:, :2] - [0.5, 0.0], axis=1)
    assert np.abs(radius - R).max() < 1e-4
    T = probe_frames(sp, "longitudinal", max_orientation_rate=CFG.max_orientation_rate)
    np.testing.assert_allclose(T[:, :3, 0], sp.tangents, atol=1e-9)
    assert rotation_angles(T).max() < 1.5 * 1e-3 / R


@pytest.mark.parametrize("plane", ["longitudinal", "transverse"])
def test_helix_on_the_phantom_keeps_z_on_the_normal(plane):
    geo = _phantom()
    theta = np.linspace(-0.7, 0.5, 150)
    y = np.linspace(-0.15, 0.15, 150)  # helix: angle and axial position together
    pts, nrm = geo.surface_point(theta, y)
    sp = spline_resample(SurfacePath(pts, nrm), CFG)
    T = probe_frames(sp, plane, max_orientation_rate=CFG.max_orientation_rate)
    _, true_n = geo.closest_point(T[:, :3, 3])
    cos = np.einsum("ij,ij->i", T[:, :3, 2], -true_n)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5
    assert np.abs(geo.signed_distance(T[:, :3, 3])).max() < 2e-4
    axis = 0 if plane == "longitudinal" else 1
    assert np.einsum("ij,ij->i", T[:, :3, axis], sp.tangents).min() > 0.999


def test_noisy_stroke_is_smoothed_not_rejected():
    rng = np.random.default_rng(0)
    u = np.linspace(0, 0.12, 400)  # dense points with 0.3 mm jitter
    pts = np.stack([0.5 + u, 0.02 * np.sin(u * 20), np.full_like(u, 0.1)], axis=1)
    noisy = pts + rng.normal(0, 3e-4, pts.shape) * [1, 1, 0]
    sp = spline_resample(SurfacePath(noisy, np.tile([0.0, 0.0, 1.0], (400, 1))), CFG)
    clean_y = 0.02 * np.sin((sp.points[:, 0] - 0.5) * 20)
    assert np.abs(sp.points[:, 1] - clean_y)[20:-20].max() < 3e-4
    T = probe_frames(sp, "longitudinal", max_orientation_rate=CFG.max_orientation_rate)
    assert len(T) == len(sp.s)


def test_fold_back_is_rejected_with_its_place():
    out = np.linspace(0, 0.03, 31)
    back = np.linspace(0.03, 0.01, 21)[1:]
    x = 0.5 + np.concatenate([out, back])
    pts = np.stack([x, np.zeros_like(x), np.full_like(x, 0.1)], axis=1)
    with pytest.raises(PlanningError, match="folds back") as e:
        spline_resample(SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (len(x), 1))), CFG)
    assert e.value.reason is FailureReason.FOLD_BACK
    assert e.value.span_m[0] == pytest.approx(0.03, abs=0.003)


def test_too_short_path_is_rejected():
    pts = np.array([[0.5, 0, 0.1], [0.503, 0, 0.1]])
    with pytest.raises(PlanningError, match=r"3\.0 mm long") as e:
        spline_resample(SurfacePath(pts, [[0, 0, 1.0]] * 2), CFG)
    assert e.value.reason is FailureReason.TOO_SHORT
    with pytest.raises(PlanningError, match="at least 2"):
        spline_resample(SurfacePath(pts[:1], [[0, 0, 1.0]]), CFG)


def test_sharp_corner_is_rejected_at_the_corner():
    a = np.linspace(0, 0.05, 51)
    pts = np.concatenate(
        [
            np.stack([0.5 + a, 0 * a, 0.1 + 0 * a], 1),
            np.stack([0.55 + 0 * a, a, 0.1 + 0 * a], 1)[1:],
        ]
    )
    with pytest.raises(PlanningError, match="corner") as e:
        spline_resample(SurfacePath(pts, np.tile([0.0, 0.0, 1.0], (len(pts), 1))), CFG)
    assert e.value.reason is FailureReason.SMOOTHING
    s0, s1 = e.value.span_m
    # the span (arc length of the smoothed path, which cuts the corner) covers the corner
    assert 0.02 < s0 < 0.05 and 0.04 < s1 < 0.06


def test_normals_along_the_path_are_rejected():
    u = np.linspace(0, 0.05, 20)
    pts = np.stack([0.5 + u, 0 * u, 0.1 + 0 * u], 1)
    with pytest.raises(PlanningError, match="perpendicular") as e:
        spline_resample(SurfacePath(pts, np.tile([1.0, 0.0, 0.2], (20, 1))), CFG)
    assert e.value.reason is FailureReason.NORMAL


def test_abrupt_normal_change_exceeds_the_orientation_rate():
    u = np.linspace(0, 0.1, 101)
    pts = np.stack([0.5 + u, 0 * u, 0.1 + 0 * u], 1)
    tilt = np.where(u < 0.05, 0.0, np.radians(70))  # a 70 deg step in the normal at 50 mm
    nrm = np.stack([0 * u, np.sin(tilt), np.cos(tilt)], 1)
    sp = spline_resample(SurfacePath(pts, nrm), CFG)
    with pytest.raises(PlanningError, match="deg/mm") as e:
        probe_frames(sp, max_orientation_rate=CFG.max_orientation_rate)
    assert e.value.reason is FailureReason.ORIENTATION_RATE
    assert e.value.span_m[0] < 0.05 < e.value.span_m[1]


def test_approach_segment_runs_along_the_normal_from_the_standoff():
    _, _d, normal, path = _plane_line()
    T0 = probe_frames(spline_resample(path, CFG))[0]
    A = normal_segment(T0, 0.05, 0.001)
    assert len(A) == 50
    np.testing.assert_allclose(A[0, :3, 3], T0[:3, 3] + 0.05 * normal, atol=1e-12)
    np.testing.assert_allclose(A[-1, :3, 3], T0[:3, 3] + 0.001 * normal, atol=1e-12)
    np.testing.assert_allclose(A[:, :3, :3], np.repeat(T0[None, :3, :3], 50, 0))
    steps = np.linalg.norm(np.diff(A[:, :3, 3], axis=0), axis=1)
    np.testing.assert_allclose(steps, 0.001, atol=1e-12)


def test_path_must_be_in_the_base_frame():
    _, _, _, path = _plane_line()
    path.frame = "camera"
    with pytest.raises(PlanningError, match="'base' frame"):
        spline_resample(path, CFG)
