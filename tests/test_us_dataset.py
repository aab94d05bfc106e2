"""Training/benchmark frames: every class represented, labels from ground truth, seeded."""

import dataclasses

import numpy as np

from perception.quality.classes import CLASS_ORDER
from robot_us.config import Config
from sim.ultrasound.dataset import FrameSampler
from sim.ultrasound.phantom_volume import RIB


def sections(cfg):
    return cfg.sim, cfg.probe, cfg.ultrasound.sim


def small_cfg():
    cfg = Config()
    us = dataclasses.replace(cfg.ultrasound.sim, width_px=48, height_px=48)
    return dataclasses.replace(cfg, ultrasound=dataclasses.replace(cfg.ultrasound, sim=us))


def test_generate_is_balanced_and_deterministic():
    sampler = FrameSampler(*sections(small_cfg()), variants=({},))
    a = sampler.generate(per_class=2, seed=3, size=(32, 32))
    b = sampler.generate(per_class=2, seed=3, size=(32, 32))
    assert a.frames.shape == (8, 32, 32) and a.frames.dtype == np.uint8
    assert np.bincount(a.labels, minlength=len(CLASS_ORDER)).tolist() == [2, 2, 2, 2]
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.scores, b.scores)
    assert set(a.probe) <= {"linear", "convex"}
    no_contact = a.scores[a.labels == CLASS_ORDER.index("no_contact")]
    assert np.all(no_contact < 0.15)


def test_rib_family_lies_over_the_rib_of_an_off_centre_phantom():
    cfg = small_cfg()
    cfg = dataclasses.replace(
        cfg,
        sim=dataclasses.replace(
            cfg.sim, phantom=dataclasses.replace(cfg.sim.phantom, center_xy=(0.6, 0.1))
        ),
    )
    sampler = FrameSampler(*sections(cfg), variants=({},))
    rng = np.random.default_rng(0)
    ys = [sampler._rib(rng)[0]["y"] for _ in range(20)]
    assert np.all(np.abs(np.array(ys) - (0.1 + RIB.y)) <= 0.025)
