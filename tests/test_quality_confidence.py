"""Confidence maps (Karamalis random walks) and their features."""

from pathlib import Path

import numpy as np
import pytest

from perception.quality.confidence import EPSILON, confidence_at_size, confidence_map
from perception.quality.features import confidence_features

REFERENCE = Path(__file__).parent / "data" / "confidence_reference" / "reference.npz"


def test_maps_match_the_reference_implementation():
    """MONAI's UltrasoundConfidenceMapTransform on stored inputs (regenerate with
    tests/data/confidence_reference/make_reference.py): mean absolute difference <= 1e-3 on
    every frame; in fact the same definition agrees to float32 rounding."""
    with np.load(REFERENCE, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        cases = [(z[f"input_{n}"], z[f"map_{n}"]) for n in names]
    assert len(cases) >= 8
    for name, (image, ref) in zip(names, cases, strict=True):
        mae = float(np.abs(confidence_map(image) - ref).mean())
        assert mae <= 1e-6, f"{name}: MAE {mae:.2e} against the reference"


def test_reference_definition_details():
    # epsilon is the reference code's 10e-6; the input is rescaled to [0, 1] (a dim copy of
    # a frame has the same map); gamma is normalised with the intensity differences
    assert pytest.approx(1e-5) == EPSILON
    rng = np.random.default_rng(3)
    img = (rng.random((24, 16)) * 200).astype(np.uint8)
    dim = 0.5 * img.astype(np.float64) + 3.0
    assert np.allclose(confidence_map(img), confidence_map(dim), atol=1e-9)


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
