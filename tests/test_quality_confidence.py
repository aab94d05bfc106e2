"""Confidence maps (Karamalis random walks) and their features."""

import numpy as np
import pytest

from perception.quality.confidence import confidence_at_size, confidence_map
from perception.quality.features import confidence_features


def test_uniform_image_gives_a_linear_depth_ramp():
    c = confidence_map(np.full((20, 8), 0.5), alpha=0.0)
    expected = np.linspace(1.0, 0.0, 20)
    assert np.allclose(c, expected[:, None], atol=1e-6)


def test_top_and_bottom_rows_are_the_seeds():
    rng = np.random.default_rng(0)
    c = confidence_map((rng.random((16, 16)) * 255).astype(np.uint8))
    assert np.all(c[0] == 1.0) and np.all(c[-1] == 0.0)
    assert np.all((c >= 0) & (c <= 1))


def test_confidence_drops_below_a_bright_reflector():
    rng = np.random.default_rng(1)
    img = (60 + 20 * rng.random((48, 48))).astype(np.uint8)
    img[15:17, 16:32] = 255  # bone-like reflector ...
    img[17:, 16:32] = 0  # ... and its shadow
    c = confidence_map(img)
    shadow = c[30:40, 20:28].mean()
    beside = c[30:40, 2:10].mean()
    assert shadow < 0.05 and beside > 0.2


def test_features_mean_columns_and_barycentre():
    c = np.zeros((10, 8))
    c[:, 6:] = 1.0  # confident only on the right
    f = confidence_features(c, width_m=0.04)
    assert f.mean == pytest.approx(0.25)
    assert f.per_scanline.shape == (8,)
    assert f.barycentre == pytest.approx(0.75)
    assert f.barycentre_m == pytest.approx(0.015)
    assert confidence_features(np.ones((4, 4))).barycentre == pytest.approx(0.0)


def test_decimated_map_and_bad_input():
    img = np.full((256, 128), 100, np.uint8)
    assert confidence_at_size(img, 32).shape == (32, 32)
    with pytest.raises(ValueError, match="2-D"):
        confidence_map(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        confidence_map(np.full((5, 5), np.nan))
