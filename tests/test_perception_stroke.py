"""Stroke checks and densification."""

import numpy as np
import pytest

from perception.camera_model import CameraModel
from perception.stroke import StrokeError, StrokeErrorCode, check_stroke, densify
from robot_us.core.types import CameraIntrinsics

CAM = CameraModel(CameraIntrinsics(64, 48, np.array([[50.0, 0, 31.5], [0, 50, 23.5], [0, 0, 1]])))


def test_densify_spacing_keeps_vertices():
    px = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 0.0], [10.0, 5.0]])
    out, arc = densify(px, 0.7)
    assert np.max(np.linalg.norm(np.diff(out, axis=0), axis=1)) <= 0.7 + 1e-12
    for v in px:
        assert np.min(np.linalg.norm(out - v, axis=1)) < 1e-12
    assert arc[-1] == pytest.approx(15.0)
    assert np.all(np.diff(arc) > 0)


@pytest.mark.parametrize(
    "pixels, code",
    [
        ([[1, 2]], StrokeErrorCode.TOO_SHORT),
        ([[1, 2, 3], [4, 5, 6]], StrokeErrorCode.MALFORMED),
        ([[1, 2], [np.nan, 3]], StrokeErrorCode.MALFORMED),
        ([[1, 2], ["a", 3]], StrokeErrorCode.MALFORMED),
        ([[1, 2], [64, 3]], StrokeErrorCode.OUTSIDE_IMAGE),
        ([[-1, 2], [6, 3]], StrokeErrorCode.OUTSIDE_IMAGE),
    ],
)
def test_bad_strokes(pixels, code):
    with pytest.raises(StrokeError) as e:
        check_stroke(pixels, CAM)
    assert e.value.code == code


def test_outside_message_names_the_pixel():
    with pytest.raises(StrokeError, match=r"pixel 1 \(70\.0, 3\.0\) is outside the 64 x 48"):
        check_stroke([[1, 2], [70, 3]], CAM)
