"""Completing one frame's lit part to its whole imaging area (a lifted edge, poor contact,
a shadow), and what the assessor makes of such valid frames and of flipped ones."""

import dataclasses
import math
from functools import lru_cache

import numpy as np
import pytest

from perception.quality.area_completion import complete_area, detect_complete_area
from perception.quality.assess import QualityAssessor
from perception.quality.config import QualityConfig
from perception.quality.imaging_area import ImagingAreaTracker, detect_imaging_area
from perception.quality.sector import fit_sector
from robot_us.imaging.models import load_quality_model
from sim.ultrasound.bmode import BModeSimulator
from sim.ultrasound.dataset import probe_pose_on_skin
from sim.ultrasound.presets import HELD_OUT_PRESETS, TRAIN_PHANTOMS
from sim.ultrasound.screen_grab import compose_screen_grab
from tests.us_helpers import CFG

PRESETS = {p.name: p for p in HELD_OUT_PRESETS}


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@lru_cache(maxsize=4)
def held_out_sim(name):
    """A 256 px simulator of a held-out probe preset and its phantom geometry."""
    pre = PRESETS[name]
    us = dataclasses.replace(pre.sim_config(CFG.ultrasound.sim), width_px=256, height_px=256)
    phantom = TRAIN_PHANTOMS[1] if pre.depth > 0.09 else TRAIN_PHANTOMS[0]
    geom = phantom.geometry(CFG.sim.phantom, CFG.sim.bed)
    return BModeSimulator(us, pre.probe_config(CFG.probe), geom), geom


def lifted(name, roll=0.3):
    """A frame with one edge of the probe lifted (dark scanlines on that side) and the
    true imaging area."""
    sim, geom = held_out_sim(name)
    pose = probe_pose_on_skin(geom, 0.05, geom.center_y + 0.02, 0.0, roll=roll, press=0.0005)
    frame = sim.render(pose, 2.0)
    fov = sim.scan.fov_mask
    return frame, (fov if fov is not None else np.ones(frame.image.shape, bool))


@pytest.fixture(scope="module")
def assessor():
    cfg = QualityConfig(imaging_area="frame")
    return QualityAssessor(cfg, load_quality_model(), sequence=False)


@pytest.mark.parametrize("name", ["convex_60deg_10cm", "convex_40deg_20cm"])
@pytest.mark.parametrize("roll", [0.3, -0.3])
def test_a_partly_lit_convex_sector_completes_to_its_sector(name, roll):
    frame, fov = lifted(name, roll)
    hull = detect_imaging_area(frame.image)
    done = detect_complete_area(frame.image)
    assert iou(hull.mask, fov) < 0.8  # the lit part alone misses the lifted edge
    assert iou(done.mask, fov) > 0.93
    sector = fit_sector(done.mask)
    assert sector is not None and sector.fan_deg == pytest.approx(PRESETS[name].fan_deg, abs=3)
    rng = np.random.default_rng(3)
    for _ in range(3):  # on a screen, smaller, with the interface around it
        grab = compose_screen_grab(frame.image, frame.spacing_m, fov, rng)
        assert iou(detect_complete_area(grab.image).mask, grab.area_mask) > 0.88


def test_a_partly_lit_linear_frame_completes_to_a_rectangle():
    frame, fov = lifted("linear_45mm_5cm")
    assert iou(detect_imaging_area(frame.image).mask, fov) < 0.9
    assert detect_complete_area(frame.image).mask.all()  # a raw linear frame is all image
    rng = np.random.default_rng(4)
    for _ in range(3):
        grab = compose_screen_grab(frame.image, frame.spacing_m, None, rng)
        done = detect_complete_area(grab.image)
        assert iou(done.mask, grab.area_mask) > 0.9
        r0, r1, c0, c1 = done.bbox
        assert done.mask[r0:r1, c0:c1].mean() > 0.98  # a rectangle, not a hull


def shadowed_linear():
    """A raw linear frame under a bone: everything below its top at 30 % depth dark over
    the left 70 % of the width (the shadow's edge a vertical scanline)."""
    sim, geom = held_out_sim("linear_45mm_5cm")
    img = sim.render(probe_pose_on_skin(geom, 0.05, geom.center_y, 0.0), 4.0).image.copy()
    h, w = img.shape
    img[int(0.3 * h) :, : int(0.7 * w)] = 0
    return img


def test_a_valid_shadowed_frame_is_not_flagged_and_a_flipped_one_is(assessor):
    shadow = shadowed_linear()
    assert iou(detect_imaging_area(shadow).mask, np.ones(shadow.shape, bool)) < 0.9
    assert detect_complete_area(shadow).mask.all()
    frames = [shadow] + [lifted(n)[0].image for n in ("convex_60deg_10cm", "convex_40deg_20cm")]
    for img in frames:
        res = assessor.assess(img, with_confidence=False)
        assert not res.ood, res.ood_reason
        down = assessor.assess(np.ascontiguousarray(img[::-1]), with_confidence=False)
        assert down.ood and down.ood_reason == "flipped"


def test_an_upright_sector_needs_no_flipped_head_but_an_upside_down_one_does():
    frame, _ = lifted("convex_40deg_20cm")
    upright = detect_complete_area(frame.image)
    assert fit_sector(upright.mask) is not None
    down = detect_complete_area(np.ascontiguousarray(frame.image[::-1]))
    assert fit_sector(down.mask) is None  # edges closing downwards: left to the model


def test_what_is_neither_a_sector_nor_a_rectangle_is_not_completed():
    h, w = 120, 160
    yy, xx = np.mgrid[:h, :w]
    sector = (np.abs(xx - 80) <= 10 + 0.5 * (yy - 10)) & (yy >= 10) & (yy < 110)
    assert complete_area(sector, (h, w)) is not None
    assert complete_area(sector[::-1], (h, w)) is None  # upside down
    strip = (np.abs(xx - 40 - 0.6 * yy) <= 8) & (yy >= 10) & (yy < 110)  # slanted, parallel
    assert complete_area(strip, (h, w)) is None
    box = (xx >= 30) & (xx < 100) & (yy >= 20) & (yy < 90)
    done = complete_area(box, (2 * h, 2 * w))  # in a frame twice the working size
    assert done is not None and done.bbox == pytest.approx((39, 181, 59, 201), abs=2)
    with pytest.raises(ValueError, match="lit mask"):
        complete_area(np.zeros((h, w), bool), (h, w))
    assert math.isfinite(done.fraction)


def test_the_tracker_takes_the_completing_detector():
    frame, _ = lifted("linear_45mm_5cm")
    tracker = ImagingAreaTracker(memory=5, detect=detect_complete_area)
    assert tracker.update(frame.image).mask.all()
    assert ImagingAreaTracker(memory=5).update(frame.image).fraction < 0.95
