"""Stroke -> skin on synthetic RGB-D frames of the exact phantom (ray-cast, no pybullet)."""

import dataclasses

import numpy as np
import pytest

from perception.body_segmentation import fit_bed_plane
from perception.config import PerceptionConfig
from perception.stroke import StrokeError, StrokeErrorCode
from perception.stroke_mapping import StrokeMapper
from robot_us.config import Config
from tests.perception_scene import (
    default_frame,
    default_geometry,
    default_intrinsics,
    errors,
    look_at,
    render,
    skin_stroke,
)

CFG = PerceptionConfig()


def mapper(**kw) -> StrokeMapper:
    return StrokeMapper(dataclasses.replace(CFG, **kw))


def check_path(res, geom, point_mm, normal_deg):
    pe, ne = errors(geom, res.path.points, res.path.normals)
    assert pe.mean() < point_mm * 1e-3, pe.mean()
    assert np.degrees(ne).mean() < normal_deg, np.degrees(ne).mean()
    gaps = np.linalg.norm(np.diff(res.path.points, axis=0), axis=1)
    assert gaps.max() <= CFG.densify_step + 1e-9
    # outward: normals agree with the exact outward normal, never flipped
    _, cn = geom.closest_point(res.path.points)
    assert np.all(np.sum(res.path.normals * cn, axis=1) > 0.9)
    assert res.path.frame == "base"


def test_exact_depth_maps_onto_the_skin():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (-0.2, 0.6), (-0.12, 0.1))
    res = mapper().map(frame, px)
    check_path(res, geom, point_mm=0.1, normal_deg=0.5)
    # the ends land where the stroke's first and last pixels look at
    p_start, _ = geom.surface_point(-0.2, -0.12)
    p_end, _ = geom.surface_point(0.6, 0.1)
    assert np.linalg.norm(res.path.points[0] - p_start) < 1e-3
    assert np.linalg.norm(res.path.points[-1] - p_end) < 1e-3
    assert res.trimmed == 0 and not res.filled.any()


def test_noisy_depth_with_dropout_is_averaged_out():
    frame, geom = default_frame(scale=1.0, noise=0.002, dropout=0.05, seed=3)
    px = skin_stroke(geom, frame, (0.5, -0.4), (0.0, 0.05))
    res = mapper().map(frame, px)
    check_path(res, geom, point_mm=0.5, normal_deg=2.0)


def test_distorted_camera_is_undistorted():
    c = Config().sim.camera
    geom = default_geometry()
    intr = default_intrinsics(0.5, dist=[-0.35, 0.12, 0.001, -0.002, 0.0])
    frame = render(geom, intr, look_at(c.eye, c.target))
    px = skin_stroke(geom, frame, (0.8, 0.8), (-0.18, 0.18))
    res = mapper().map(frame, px)
    check_path(res, geom, point_mm=0.15, normal_deg=0.7)
    p_ends, _ = geom.surface_point([0.8, 0.8], [-0.18, 0.18])
    assert np.linalg.norm(res.path.points[[0, -1]] - p_ends, axis=1).max() < 0.5e-3
    # ignoring the distortion lands the stroke elsewhere: the check is not vacuous
    frame.intrinsics = default_intrinsics(0.5)
    wrong = mapper().map(frame, px)
    assert np.linalg.norm(wrong.path.points[[0, -1]] - p_ends, axis=1).min() > 4e-3


def test_geometric_segmentation_matches_mask():
    frame, geom = default_frame(scale=0.5, noise=0.001, seed=1)
    px = skin_stroke(geom, frame, (-0.2, 0.4), (-0.1, 0.1))
    with_mask = mapper().map(frame, px)
    frame.mask = None
    without = mapper().map(frame, px)
    assert without.bed is not None and with_mask.bed is None
    assert abs(without.bed.offset) < 2e-3 and without.bed.normal[2] > 0.999
    assert np.abs(with_mask.path.points - without.path.points).max() < 1e-3


def test_bed_plane_found_among_body_points():
    frame, _ = default_frame(scale=0.5, noise=0.002)
    valid = frame.depth > 0
    from perception.camera_model import CameraModel

    rm = CameraModel(frame.intrinsics).ray_map()[valid]
    z = frame.depth[valid].astype(float)
    pc = np.column_stack([rm * z[:, None], z])
    T = frame.T_base_camera
    pb = pc @ T[:3, :3].T + T[:3, 3]
    plane = fit_bed_plane(pb, CFG.segmentation)
    assert abs(plane.offset) < 1e-3 and plane.normal[2] > 0.9999
    assert plane.inlier_fraction > 0.3


@pytest.mark.parametrize("use_mask", [True, False])
def test_stroke_onto_the_bed_is_rejected(use_mask):
    frame, geom = default_frame(scale=0.5, with_mask=use_mask)
    px = _to_bed(frame, geom, 0.04)  # 40 mm onto the bed
    with pytest.raises(StrokeError, match="off the body") as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.OFF_BODY


def _to_bed(frame, geom, beyond):
    """Pixels of a stroke up the skin's near side that ends ``beyond`` (m) past the body's
    edge, on the bed."""
    skin = skin_stroke(geom, frame, (0.2, 1.0), (0.0, 0.0), n=8)
    T_cb = np.linalg.inv(frame.T_base_camera)
    p_bed = np.array([geom.center_x + geom.width / 2 + beyond, 0.0, 0.0])
    from perception.camera_model import CameraModel

    bed_px = CameraModel(frame.intrinsics).project((T_cb[:3, :3] @ p_bed + T_cb[:3, 3])[None])
    return np.vstack([skin, bed_px])


def test_short_excursion_off_the_body_is_trimmed():
    frame, geom = default_frame(scale=0.5)
    px = _to_bed(frame, geom, 0.004)
    res = mapper(max_off_body=0.01).map(frame, px)
    assert res.trimmed > 0
    check_path(res, geom, point_mm=0.2, normal_deg=1.0)
    with pytest.raises(StrokeError) as e:
        mapper(max_off_body=0.0005).map(frame, px)
    assert e.value.code == StrokeErrorCode.OFF_BODY


def _stroke_and_hole(hole_mm):
    frame, geom = default_frame(scale=1.0, noise=0.001, seed=2)
    px = skin_stroke(geom, frame, (0.0, 0.0), (-0.12, 0.12), n=2)  # along the body's top
    # blank the depth in a disc around the middle of the stroke
    mid = px.mean(axis=0)
    p_mid, _ = geom.surface_point(0.0, 0.0)
    z = np.linalg.norm(p_mid - frame.T_base_camera[:3, 3])
    r_px = 0.5 * hole_mm * 1e-3 * 600 / z
    v, u = np.mgrid[0 : frame.depth.shape[0], 0 : frame.depth.shape[1]]
    frame.depth[(u - mid[0]) ** 2 + (v - mid[1]) ** 2 <= r_px**2] = np.nan
    return frame, geom, px


def test_small_hole_is_filled_from_the_neighbourhood():
    frame, geom, px = _stroke_and_hole(6.0)
    res = mapper().map(frame, px)
    assert res.filled.sum() > 3
    pe, ne = errors(geom, res.path.points[res.filled], res.path.normals[res.filled])
    assert pe.max() < 1e-3 and np.degrees(ne).max() < 3.0


def test_large_hole_is_an_error_not_invented():
    frame, _, px = _stroke_and_hole(25.0)
    with pytest.raises(StrokeError, match="no depth over") as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.HOLE


def test_surface_that_cannot_be_fitted_is_a_hole_error():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (0.0, 0.5), (0.0, 0.1))
    with pytest.raises(StrokeError, match=r"cannot be fitted over \d+\.\d mm") as e:
        mapper(min_fit_points=10_000).map(frame, px)  # more than any neighbourhood holds
    assert e.value.code == StrokeErrorCode.HOLE
    assert "from 0.0 mm after its start" in str(e.value)


def test_no_valid_depth():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (0.0, 0.5), (0.0, 0.1))
    frame.depth[:] = 0.0
    with pytest.raises(StrokeError, match="too little valid depth") as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.NO_DEPTH


def test_too_short_on_the_skin():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (0.0, 0.02), (0.0, 0.0))  # 4 mm
    with pytest.raises(StrokeError, match="long on the skin") as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.TOO_SHORT


def test_depth_step_is_a_discontinuity():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (0.0, 0.0), (-0.1, 0.1))
    # lift the body by 3 cm on one side of the stroke's midpoint (an occluding edge)
    cut = int(px.mean(axis=0)[0])
    frame.depth[:, :cut] = np.where(frame.mask[:, :cut], frame.depth[:, :cut] - 0.03, 0)
    frame.depth[:, :cut][~frame.mask[:, :cut]] = 0.9
    with pytest.raises(StrokeError) as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.DISCONTINUITY
    assert "jumps by 30.0 mm" in str(e.value)


def test_frame_errors():
    frame, geom = default_frame(scale=0.5)
    px = skin_stroke(geom, frame, (0.0, 0.5), (0.0, 0.1))
    m = mapper()
    T = frame.T_base_camera
    frame.T_base_camera = None
    with pytest.raises(StrokeError, match="T_base_camera"):
        m.map(frame, px)
    frame.T_base_camera = T * 2
    with pytest.raises(StrokeError, match="rigid"):
        m.map(frame, px)
    frame.T_base_camera = T
    frame.mask = frame.mask[:-1]
    with pytest.raises(StrokeError, match="mask"):
        m.map(frame, px)


def test_no_bed_in_view_without_mask():
    frame, geom = default_frame(scale=0.5, with_mask=False)
    px = skin_stroke(geom, frame, (0.0, 0.5), (0.0, 0.1))
    frame.depth[:] = np.where(frame.depth > 0, 0.5, 0)  # a wall facing the camera
    with pytest.raises(StrokeError) as e:
        mapper().map(frame, px)
    assert e.value.code == StrokeErrorCode.NO_BED
