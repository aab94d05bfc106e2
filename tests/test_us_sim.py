"""The B-mode simulator: anatomy labels, coupling, shadowing, stable speckle, force and
breathing, both probe geometries."""

import dataclasses

import cv2
import numpy as np
import pytest

from perception.quality.classes import QualityClass
from sim.ultrasound import phantom_volume as pv
from sim.ultrasound.phantom_volume import PhantomVolume
from sim.ultrasound.tissue import Tissue
from tests.us_helpers import GEOM, RIB_Y, on_skin, small_sim


def point_below_skin(theta, y, depth):
    p, n = GEOM.surface_point(theta, y)
    return p - depth * n


def test_volume_labels_layers_and_structures():
    vol = PhantomVolume(GEOM)
    pts = [
        point_below_skin(0.3, 0.05, 0.001),  # skin
        point_below_skin(0.3, 0.05, 0.007),  # fat
        point_below_skin(0.3, 0.05, 0.025),  # muscle
        point_below_skin(0.3, 0.05, 0.06),  # organ
        point_below_skin(pv.VESSELS[0].theta, 0.0, pv.VESSELS[0].depth),
        point_below_skin(pv.LESION.theta, pv.LESION.y, pv.LESION.depth),
        point_below_skin(0.0, RIB_Y, pv.RIB.depth),
        point_below_skin(0.0, 0.0, -0.01),  # above the skin
        [0.6, 0.0, -0.01],  # below the bed top
    ]
    want = [
        Tissue.SKIN,
        Tissue.FAT,
        Tissue.MUSCLE,
        Tissue.ORGAN,
        Tissue.VESSEL,
        Tissue.LESION,
        Tissue.BONE,
        Tissue.AIR,
        Tissue.BED,
    ]
    assert list(vol.labels(np.array(pts))) == [int(w) for w in want]


def test_breathing_moves_the_anatomy():
    vol = PhantomVolume(GEOM)
    p = point_below_skin(pv.LESION.theta, pv.LESION.y, pv.LESION.depth)
    assert vol.labels(p[None], dz=0.0)[0] == Tissue.LESION
    assert vol.labels(p[None], dz=0.02)[0] != Tissue.LESION
    assert vol.labels((p + np.array([0, 0, 0.02]))[None], dz=0.02)[0] == Tissue.LESION


def test_good_contact_frame():
    f = small_sim().render(on_skin(0.0, 0.02), force=5.0)
    assert f.image.shape == (96, 96) and f.image.dtype == np.uint8
    assert f.truth.coupled_fraction == 1.0
    assert f.truth.quality == QualityClass.GOOD
    assert f.truth.score > 0.9
    assert f.image[10:].mean() > 60  # tissue echoes below the skin


def test_lifted_probe_is_dark_with_reverberation():
    f = small_sim().render(on_skin(press=-0.01), force=0.0)
    assert f.truth.coupled_fraction == 0.0
    assert f.truth.quality == QualityClass.NO_CONTACT
    assert f.truth.score == 0.0
    assert f.image[20:].mean() < 5  # nothing below the lens reverberation
    assert f.image[:10].max() > 100  # reverberation bands near the face


def test_partial_contact_darkens_the_lifted_side():
    # roll tilts the array: +x end lifts, -x end presses in
    f = small_sim().render(on_skin(0.0, 0.03, roll=0.12, press=0.0), force=2.0)
    c = f.truth.line_coupling
    assert c[:10].min() == 1.0 and c[-10:].max() == 0.0
    assert f.truth.quality == QualityClass.POOR_CONTACT
    left, right = f.image[20:, :20].mean(), f.image[20:, -20:].mean()
    assert left > 40 and right < 3


def test_gel_bridges_a_small_gap():
    T = on_skin(0.0, 0.05, press=-0.0002)  # face 0.2 mm above the skin, no force
    assert small_sim().render(T, 0.0).truth.coupled_fraction == 1.0
    dry = small_sim(gel=False).render(T, 0.0)
    assert dry.truth.coupled_fraction == 0.0 and dry.image[20:].mean() < 5


def test_rib_shadow():
    sim = small_sim()
    across = sim.render(on_skin(0.0, RIB_Y, yaw=np.pi / 2), force=5.0)  # array along the rib
    assert across.truth.quality == QualityClass.SHADOWED
    assert across.truth.score < 0.5
    assert across.image[60:].mean() < 10  # dark below the bone
    along = sim.render(on_skin(0.0, RIB_Y), force=5.0)  # array across the rib
    assert 0.05 < along.truth.shadow_fraction < 0.3
    cols = along.image[60:].mean(axis=0)
    assert cols.min() < 5 and cols.max() > 40  # a shadow band between lit columns


def test_speckle_is_a_fixed_3d_field():
    sim = small_sim()
    T = on_skin(0.0, 0.05)
    a = sim.render(T, 5.0).image.astype(float)
    b = sim.render(T, 5.0).image.astype(float)
    assert np.abs(a - b).mean() < 1.0  # same pose, same image (noise below display floor)
    T_small = T.copy()
    T_small[:3, 3] += 0.0001 * T[:3, 1]  # 0.1 mm in elevation
    T_far = T.copy()
    T_far[:3, 3] += 0.005 * T[:3, 1]  # 5 mm in elevation: other scatterers
    c = sim.render(T_small, 5.0).image.astype(float)
    d = sim.render(T_far, 5.0).image.astype(float)

    def corr(u, v):  # of the speckle: the image minus its smooth (anatomy) part
        u, v = (w - cv2.GaussianBlur(w, (0, 0), 4) for w in (u, v))
        return np.corrcoef(u[20:].ravel(), v[20:].ravel())[0, 1]

    assert corr(a, c) > 0.7
    assert corr(a, d) < 0.3


def test_force_compresses_the_near_field():
    sim = small_sim()
    T = on_skin(0.3, 0.05)

    def muscle_row(force):
        lab = sim.render(T, force).labels[:, 48]
        return int(np.argmax(lab == Tissue.MUSCLE))

    assert muscle_row(10.0) < muscle_row(1.0)


def test_breathing_follows_the_probe():
    sim = small_sim()
    a = sim.render(on_skin(0.0, 0.05, dz=0.0), 5.0)
    b = sim.render(on_skin(0.0, 0.05, dz=0.003), 5.0, dz=0.003)
    assert np.array_equal(a.labels, b.labels)


def test_convex_sector_image():
    sim = small_sim("convex")
    f = sim.render(on_skin(0.0, 0.05), force=5.0)
    sx, sz = f.spacing_m
    assert sx == pytest.approx(sz)  # square pixels
    fov = sim.scan.fov_mask
    assert f.image[~fov].max() == 0 and f.image[fov].mean() > 40
    assert f.truth.quality == QualityClass.GOOD
    # light touch: the convex face's edges are not yet wrapped by the skin
    light = sim.render(on_skin(0.0, 0.05, press=0.0005), force=0.5)
    assert light.truth.coupled_fraction < 0.8


def test_bad_pose_is_rejected():
    with pytest.raises(ValueError, match="4x4"):
        small_sim().render(np.eye(3))


def test_convex_face_narrower_than_its_chord_is_rejected():
    from sim.ultrasound.bmode import BModeSimulator
    from tests.us_helpers import CFG

    probe = dataclasses.replace(CFG.probe, geometry="convex", convex_radius=0.02)
    with pytest.raises(ValueError, match="convex_radius"):
        BModeSimulator(CFG.ultrasound.sim, probe, GEOM)
