"""Camera model: OpenCV pixel conventions, distortion round trips, bad intrinsics."""

import numpy as np
import pytest

from perception.camera_model import CameraModel, CameraModelError
from perception.deprojection import deproject_pixels, valid_depth
from robot_us.core.types import CameraIntrinsics

K = np.array([[600.0, 0, 319.5], [0, 610.0, 239.5], [0, 0, 1]])
DIST = np.array([-0.12, 0.05, 0.001, -0.0015, 0.0])


def test_project_and_rays_round_trip_with_distortion():
    cam = CameraModel(CameraIntrinsics(640, 480, K, DIST))
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-0.3, 0.3, 50), rng.uniform(-0.2, 0.2, 50)])
    pts = np.column_stack([pts, rng.uniform(0.5, 1.5, 50)])
    px = cam.project(pts)
    rays = cam.rays(px)
    back = rays * pts[:, 2:3]
    assert np.abs(back - pts).max() < 1e-7


def test_normalized_coordinates_undo_the_distortion():
    cam = CameraModel(CameraIntrinsics(640, 480, K, DIST))
    pts = np.array([[0.2, -0.15, 1.0], [-0.25, 0.1, 0.8]])
    px = cam.project(pts)
    ideal = CameraModel(CameraIntrinsics(640, 480, K, np.zeros(5))).project(pts)
    assert np.abs(px - ideal).max() > 1.0  # the distortion moves these pixels
    assert np.allclose(cam.normalized(px), pts[:, :2] / pts[:, 2:], atol=1e-7)


def test_principal_point_ray_is_optical_axis():
    cam = CameraModel(CameraIntrinsics(640, 480, K))
    assert np.allclose(cam.rays(np.array([[319.5, 239.5]])), [[0, 0, 1]])
    assert np.allclose(cam.ray_map()[240, 320], [0.5 / 600, 0.5 / 610])


def test_in_image_bounds():
    cam = CameraModel(CameraIntrinsics(640, 480, K))
    px = np.array([[0, 0], [639, 479], [-0.1, 10], [10, 479.5], [640, 0]])
    assert cam.in_image(px).tolist() == [True, True, False, False, False]


@pytest.mark.parametrize(
    "K_bad, dist",
    [(np.eye(2), np.zeros(5)), (np.diag([-1.0, 1.0, 1.0]), np.zeros(5)), (K, np.zeros(3))],
)
def test_bad_intrinsics_rejected(K_bad, dist):
    with pytest.raises(CameraModelError):
        CameraModel(CameraIntrinsics(640, 480, K_bad, dist))


def test_deprojection_validity():
    cam = CameraModel(CameraIntrinsics(4, 3, np.array([[2.0, 0, 1.5], [0, 2.0, 1], [0, 0, 1]])))
    depth = np.full((3, 4), 1.0, np.float32)
    depth[0, 0] = 0.0
    depth[1, 1] = np.nan
    depth[2, 3] = 9.0
    valid = valid_depth(depth, 0.1, 5.0)
    assert valid.sum() == 9 and not valid[0, 0] and not valid[1, 1] and not valid[2, 3]
    rows, cols = np.nonzero(valid)
    pts = deproject_pixels(cam, depth, rows, cols)
    assert len(pts) == 9 and np.all(pts[:, 2] == 1.0)
    assert np.isnan(deproject_pixels(cam, depth, np.array([1]), np.array([1]))).all()
    assert np.allclose(deproject_pixels(cam, depth, 1, 3), [(3 - 1.5) / 2, 0.0, 1.0])
