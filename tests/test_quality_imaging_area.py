"""Imaging-area detection on raw frames and screen grabs, the tracker over a sequence, and
the probe presets and screen grabs the quality model trains on."""

import dataclasses

import cv2
import numpy as np
import pytest

from perception.quality.imaging_area import (
    ImagingAreaTracker,
    area_from_mask,
    background_level,
    crop_to_area,
    detect_imaging_area,
)
from sim.ultrasound.bmode import BModeSimulator
from sim.ultrasound.presets import HELD_OUT_PRESETS, TRAIN_PHANTOMS, TRAIN_PRESETS
from sim.ultrasound.screen_grab import compose_screen_grab
from tests.us_helpers import CFG, GEOM, on_skin, small_sim


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def preset_sim(name, size=128):
    pre = {p.name: p for p in TRAIN_PRESETS + HELD_OUT_PRESETS}[name]
    us = dataclasses.replace(pre.sim_config(CFG.ultrasound.sim), width_px=size, height_px=size)
    phantom = TRAIN_PHANTOMS[1] if pre.depth > 0.09 else TRAIN_PHANTOMS[0]
    geom = phantom.geometry(CFG.sim.phantom, CFG.sim.bed)
    return BModeSimulator(us, pre.probe_config(CFG.probe), geom), geom


def test_presets_span_the_geometries_and_hold_some_out():
    train = {p.name for p in TRAIN_PRESETS}
    held = {p.name for p in HELD_OUT_PRESETS}
    assert not train & held
    fans = [p.fan_deg for p in TRAIN_PRESETS + HELD_OUT_PRESETS if p.geometry == "convex"]
    depths = [p.depth for p in TRAIN_PRESETS + HELD_OUT_PRESETS]
    assert min(fans) == pytest.approx(40.0) and max(fans) == pytest.approx(90.0)
    assert min(depths) == pytest.approx(0.04) and max(depths) == pytest.approx(0.20)
    assert {p.geometry for p in HELD_OUT_PRESETS} == {"linear", "convex"}


@pytest.mark.parametrize("name", ["convex_40deg_20cm", "linear_45mm_5cm", "convex_90deg_15cm"])
def test_screen_grab_area_is_found_without_the_interface(name):
    sim, geom = preset_sim(name)
    frame = sim.render(_pose(geom), 4.0)
    rng = np.random.default_rng(3)
    for _ in range(3):
        grab = compose_screen_grab(frame.image, frame.spacing_m, sim.scan.fov_mask, rng)
        area = detect_imaging_area(grab.image)
        assert area.found and iou(area.mask, grab.area_mask) > 0.85
        # the interface (text, bars) stays outside; a ruler line next to the image may not
        near = cv2.dilate(grab.area_mask.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
        ui = (grab.image > 100) & ~near
        assert (ui & area.mask).sum() <= 0.05 * ui.sum()


def _pose(geom):
    from sim.ultrasound.dataset import probe_pose_on_skin

    return probe_pose_on_skin(geom, 0.05, geom.center_y + 0.02, 0.0, press=0.003)


def test_raw_convex_frame_area_is_its_sector_and_a_flat_background_is_ignored():
    sim = small_sim("convex", 128)
    img = sim.render(on_skin(), 4.0).image
    area = detect_imaging_area(img)
    assert iou(area.mask, sim.scan.fov_mask) > 0.85
    grey = np.where(sim.scan.fov_mask, img, 20).astype(np.uint8)  # a grey screen background
    assert background_level(grey) == 20
    assert iou(detect_imaging_area(grey).mask, sim.scan.fov_mask) > 0.85
    crop = crop_to_area(grey, area)
    assert crop.shape == (area.bbox[1] - area.bbox[0], area.bbox[3] - area.bbox[2])
    assert np.all(crop[~area.mask[area.bbox[0] : area.bbox[1], area.bbox[2] : area.bbox[3]]] == 0)


def test_no_area_in_a_dark_frame_and_the_tracker_keeps_a_lifted_edge():
    sim = small_sim("linear", 96)
    lifted = sim.render(on_skin(press=-0.01), 0.0).image  # reverberation bands only
    assert not detect_imaging_area(lifted).found
    tilted = sim.render(on_skin(roll=0.3, press=0.0005), 1.0).image  # one edge dark
    single = detect_imaging_area(tilted)
    assert single.fraction < 0.8  # one frame cannot tell a dark edge from the image edge
    tracker = ImagingAreaTracker(memory=5)
    tracker.update(sim.render(on_skin(), 4.0).image)
    assert tracker.update(tilted).fraction > 0.95
    for _ in range(5):
        area = tracker.update(tilted)
    assert area.fraction < 0.8  # forgotten after ``memory`` frames


def test_area_from_mask_and_bad_input():
    m = np.zeros((10, 12), bool)
    m[2:5, 3:9] = True
    assert area_from_mask(m).bbox == (2, 5, 3, 9)
    assert not area_from_mask(np.zeros((4, 4), bool)).found
    with pytest.raises(ValueError, match="uint8"):
        detect_imaging_area(np.zeros((8, 8), np.float32))
    assert GEOM.radius > 0


@pytest.mark.parametrize("name", ["convex_40deg_20cm", "convex_84deg_6cm", "convex_90deg_15cm"])
def test_sector_is_fitted_and_resampled_to_scanlines(name):
    from perception.quality.sector import fit_sector, scanline_view

    sim, geom = preset_sim(name)
    fov = sim.scan.fov_mask
    pre = {p.name: p for p in TRAIN_PRESETS + HELD_OUT_PRESETS}[name]
    sector = fit_sector(fov)
    assert sector.fan_deg == pytest.approx(pre.fan_deg, abs=1.0)
    assert sector.apex[1] < 0  # the centre of curvature lies above the image
    assert fit_sector(fov[::-1]) is None  # upside down: no sector (the model says flipped)
    img = sim.render(_pose(geom), 4.0).image
    view, inside = scanline_view(img, area_from_mask(fov))
    assert inside.mean() > 0.97  # scanlines fill the view: no black corners
    assert view[inside].mean() > 40
    # an upside-down frame shows its scanlines upside down
    down, _ = scanline_view(np.ascontiguousarray(img[::-1]), area_from_mask(fov[::-1]))
    assert np.array_equal(down, view[::-1])


def test_linear_area_is_its_box():
    from perception.quality.sector import fit_sector, scanline_view

    img = small_sim("linear", 96).render(on_skin(), 4.0).image
    area = area_from_mask(np.ones(img.shape, bool))
    assert fit_sector(area.mask) is None
    view, inside = scanline_view(img, area)
    assert np.array_equal(view, img) and inside.all()
