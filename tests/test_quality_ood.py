"""Out-of-distribution checks with reasons, the frozen-frame detector, image statistics
and the degradation factors (blur, gain, saturation) of the score."""

import itertools

import numpy as np
import pytest

from perception.quality import augment
from perception.quality.degradation import degradation
from perception.quality.frozen import FrozenFrameDetector
from perception.quality.image_stats import image_stats
from perception.quality.imaging_area import area_from_mask, detect_imaging_area, whole_frame
from perception.quality.ood import OodReason, check_frame
from sim.ultrasound import ood_set
from tests.us_helpers import RIB_Y, on_skin, small_sim


def stats(img):
    return image_stats(img, detect_imaging_area(img))


@pytest.fixture(scope="module")
def valid():
    """Valid frames: linear and convex, in contact, over the rib, one edge lifted."""
    out = []
    for kind in ("linear", "convex"):
        sim = small_sim(kind, 256)
        out.append(sim.render(on_skin(0.1, 0.03), 4.0).image)
        out.append(sim.render(on_skin(y=RIB_Y, yaw=np.pi / 2), 4.0).image)
        out.append(sim.render(on_skin(roll=0.25, press=0.001), 2.0).image)
    return out


def test_valid_frames_pass_every_check(valid):
    for img in valid:
        assert check_frame(stats(img)) is OodReason.NONE
    lifted = small_sim("linear", 256).render(on_skin(press=-0.01), 0.0).image
    assert check_frame(stats(lifted)) is OodReason.NONE  # no contact is a class, not OOD


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("noise_uniform", OodReason.NOISE),
        ("noise_gaussian", OodReason.NOISE),
        ("blank", OodReason.BLANK),
        ("white", OodReason.SATURATED),
        ("gradient", OodReason.NO_SPECKLE),
        ("saturated", OodReason.SATURATED),
        ("blurred", OodReason.NO_SPECKLE),
        ("dead_leaves", OodReason.NO_SPECKLE),
        ("cells", OodReason.NO_SPECKLE),
    ],
)
def test_statistics_name_the_reason(valid, kind, reason):
    make, _, needs = ood_set.OOD_KINDS[kind]
    rng = np.random.default_rng(1)
    for k in (0, 2, 3):  # frames with texture (a rib shadow leaves little to judge)
        img = make(rng, valid[k] if needs else None)
        assert check_frame(stats(img)) is reason, kind


def test_model_outputs_flag_flipped_and_unfamiliar_frames(valid):
    st = stats(valid[0])
    assert check_frame(st, flipped=0.9, novelty=0.5) is OodReason.FLIPPED
    assert check_frame(st, flipped=0.1, novelty=3.0) is OodReason.UNLIKE_TRAINING
    assert check_frame(st, flipped=0.1, novelty=0.5) is OodReason.NONE


def test_frozen_detector_needs_repeats_and_ignores_blank_frames(valid):
    det = FrozenFrameDetector(repeats=3)
    a, b = valid[0], valid[1]
    assert [det.update(f) for f in (a, a, a, a, a, b)] == [False] * 3 + [True, True, False]
    tol = FrozenFrameDetector(repeats=1, tolerance=1)
    assert not tol.update(a) and tol.update(np.clip(a.astype(int) + 1, 0, 255).astype(np.uint8))
    black = np.zeros((32, 32), np.uint8)
    det = FrozenFrameDetector(repeats=1)
    assert not any(det.update(black) for _ in range(5))


def test_degradation_factors_fall_with_blur_low_gain_and_saturation(valid):
    """On every valid frame: each factor falls over the levels (blur sigma 0, 1, 2, 4 px;
    gain 0, -10, -20, -30 dB; gain 0, +10, +20, +30 dB): strictly, or stays at 0."""
    for img in (valid[0], valid[2], valid[3], valid[5]):  # not the rib: all in shadow
        area = detect_imaging_area(img)
        fov = area.mask
        blur = [
            degradation(image_stats(augment.blur(img, s, fov), area)).blur for s in (0, 1, 2, 4)
        ]
        gain = [
            degradation(image_stats(augment.gain(img, g, 50, fov), area)).gain
            for g in (0, -10, -20, -30)
        ]
        sat = [
            degradation(image_stats(augment.gain(img, g, 50, fov), area)).saturation
            for g in (0, 10, 20, 30)
        ]
        for series in (blur, gain, sat):
            assert all(b < a or a == b == 0 for a, b in itertools.pairwise(series)), series


def test_augmentations_keep_the_background_and_dark_pixels(valid):
    img = valid[3]  # convex: black background around the sector
    area = detect_imaging_area(img)
    out = augment.gain(img, 10, 50, area.mask)
    assert np.all(out[~area.mask] == img[~area.mask])
    assert np.all(out[img == 0] == 0) and out.mean() > img.mean()
    flat = augment.dynamic_range(img, 50, 80)
    assert flat[img > 0].std() < img[img > 0].std()
    assert np.array_equal(augment.tgc(img, np.zeros(4)), img)
    assert augment.display_gamma(img, 2.0).mean() < img.mean()
    assert whole_frame(img.shape).fraction == 1.0


def test_result_extra_fields_pack_into_a_vector_and_back(valid):
    from perception.quality.assess import EXTRA_LEN, QualityResult
    from perception.quality.classes import QualityClass
    from perception.quality.features import ConfidenceFeatures

    st = stats(valid[0])
    conf = ConfidenceFeatures(0.5, np.ones(3), 0.1, coverage=0.7, coupled_mean=0.6)
    res = QualityResult(QualityClass.GOOD, 0.0, np.ones(4) / 4, conf, stats=st)
    res.mark_ood(OodReason.NO_SPECKLE)
    res.model_score, res.degradation, res.flipped, res.not_bmode = 0.8, 0.9, 0.1, 0.2
    vec = res.pack_extra()
    assert vec.shape == (EXTRA_LEN,)
    conf2 = ConfidenceFeatures(0.5, np.ones(3), 0.1)
    back = QualityResult(QualityClass.GOOD, 0.0, np.ones(4) / 4, conf2).unpack_extra(vec)
    assert back.ood and back.ood_reason == "no_speckle" and back.stats == st
    assert (back.model_score, back.degradation, back.flipped, back.not_bmode) == (
        0.8,
        0.9,
        0.1,
        0.2,
    )
    assert (back.confidence.coverage, back.confidence.coupled_mean) == (0.7, 0.6)
    assert np.isnan(back.novelty)
    assert res.to_dict()["ood_reason"] == "no_speckle"


def test_low_gain_does_not_sharpen_a_frame_with_a_dim_layer():
    """A convex frame with a dim layer (a fifth of its grey levels over a band of rows):
    at -10 dB the layer sinks under the display floor and the whole-area sharpness rises,
    but ``detail`` (the blur factor's statistic) stays, so the score's degradation factor
    falls with every gain step (gain 0, -10, -20, -30 dB)."""
    sim = small_sim("convex", 256)
    fov = sim.scan.fov_mask
    area = area_from_mask(fov)
    for theta, y in ((0.1, 0.03), (0.0, 0.05), (-0.2, 0.12)):
        img = sim.render(on_skin(theta, y), 4.0).image.copy()
        img[80:120] = (img[80:120] * 0.2).astype(np.uint8)
        st = [image_stats(augment.gain(img, g, 50, fov), area) for g in (0, -10, -20, -30)]
        assert st[1].sharpness > 1.1 * st[0].sharpness  # what made the score rise before
        assert st[1].detail == pytest.approx(st[0].detail, rel=0.05)
        factor = [degradation(s).factor for s in st]
        assert all(b < a for a, b in itertools.pairwise(factor)), factor
