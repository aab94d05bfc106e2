"""Labelled simulated frames for training and benchmarking the quality model: probe poses
sampled over the phantom (in contact at various tilts and forces, over the rib, partly
lifted, lifted off, off the body), rendered by the B-mode simulator under a few imaging
settings, labelled from the simulator's ground truth. Deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from perception.quality.classes import CLASS_ORDER
from robot_us.core.probe import ProbeConfig
from sim.config import SimConfig
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.bmode import BModeSimulator, SimFrame
from sim.ultrasound.config import UltrasoundSimConfig
from sim.ultrasound.phantom_volume import RIB

#: Imaging-setting variants the dataset mixes (overrides of ``ultrasound.sim``); each is
#: rendered with a linear and a convex probe.
SETTING_VARIANTS: tuple[dict, ...] = (
    {},
    {"gain": 6.0, "depth": 0.05, "frequency": 7.5e6},
    {"gain": -6.0, "depth": 0.08, "frequency": 3.5e6, "dynamic_range": 60.0},
)
#: Breathing shift range (m).
BREATHING = 0.004


def probe_pose_on_skin(
    geometry: PhantomGeometry,
    theta: float,
    y: float,
    yaw: float,
    roll: float = 0.0,
    pitch: float = 0.0,
    press: float = 0.0,
    dz: float = 0.0,
) -> np.ndarray:
    """T_base_probe with the face centre on the skin at (``theta`` rad, ``y`` m), pushed in
    by ``press`` (m, negative = lifted) along the inward normal, the array (x) at ``yaw``
    (rad) from the body axis, then tilted by ``roll`` (about probe y, rad) and ``pitch``
    (about probe x, rad)."""
    p, n = geometry.surface_point(theta, y, dz)
    z = -n
    axis = np.array([0.0, 1.0, 0.0])
    across = np.cross(axis, z)
    x = np.cos(yaw) * axis + np.sin(yaw) * across
    yv = np.cross(z, x)
    R = np.stack([x, yv, z], axis=1)
    cr, sr, cp, spp = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch)
    R = R @ np.array([[cr, 0, sr], [0, 1, 0], [-sr, 0, cr]])
    R = R @ np.array([[1, 0, 0], [0, cp, -spp], [0, spp, cp]])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = p + press * z
    return T


@dataclass
class LabelledFrames:
    """Frames (N x H x W uint8), class indices in ``CLASS_ORDER`` (N), scores (N, 0..1),
    the sampling family of each frame and its probe geometry."""

    frames: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    family: list[str]
    probe: list[str]


class FrameSampler:
    """Samples probe poses over the phantom and renders labelled frames."""

    def __init__(
        self,
        sim: SimConfig,
        probe: ProbeConfig,
        us: UltrasoundSimConfig,
        variants: tuple[dict, ...] = SETTING_VARIANTS,
    ) -> None:
        """Simulators for both probe geometries x ``variants`` (overrides of ``us``)."""
        self.geometry = PhantomGeometry.from_config(sim.phantom, sim.bed)
        self.stiffness = sim.phantom.stiffness
        self.sims: list[tuple[str, BModeSimulator]] = []
        for kind in ("linear", "convex"):
            kind_probe = dataclasses.replace(probe, geometry=kind)
            for v in variants:
                variant = dataclasses.replace(us, **v)
                self.sims.append((kind, BModeSimulator(variant, kind_probe, self.geometry)))
        # family -> (sampler, weight)
        self.families: dict[str, tuple[Callable[[np.random.Generator], tuple], float]] = {
            "contact": (self._contact, 0.2),
            "rib": (self._rib, 0.3),
            "tilted": (self._tilted, 0.2),
            "lifted": (self._lifted, 0.1),
            "body_end": (self._body_end, 0.1),
            "off_body": (self._off_body, 0.1),
        }
        w = np.array([v[1] for v in self.families.values()])
        self._weights = w / w.sum()

    # --- pose families: each returns (pose parameters, press of the deepest element (m)) ---
    def _base(self, rng: np.random.Generator, y: float | None = None) -> dict:
        """Common pose parameters; ``y`` (m) is relative to the phantom centre."""
        g = self.geometry
        return {
            "theta": rng.uniform(-0.55, 0.55),
            "y": g.center_y + (rng.uniform(-0.16, 0.16) if y is None else y),
            "yaw": rng.uniform(0, np.pi),
            "roll": rng.normal(0, 0.02),
            "pitch": rng.normal(0, 0.04),
            "dz": rng.uniform(-BREATHING, BREATHING),
        }

    def _contact(self, rng):
        return self._base(rng), rng.uniform(0.5e-3, 5e-3)

    def _rib(self, rng):
        kw = self._base(rng, RIB.y + rng.uniform(-0.025, 0.025))
        kw["yaw"] = 0.5 * np.pi + rng.normal(0, 0.5)
        return kw, rng.uniform(0.5e-3, 5e-3)

    def _tilted(self, rng):
        kw = self._base(rng)
        kw["roll"] = rng.choice([-1, 1]) * rng.uniform(0.02, 0.45)
        return kw, rng.uniform(0.3e-3, 4e-3)

    def _lifted(self, rng):
        kw = self._base(rng)
        kw["roll"] = rng.normal(0, 0.1)
        return kw, -rng.uniform(1.5e-3, 0.03)

    def _body_end(self, rng):
        g = self.geometry
        end = rng.choice([-1, 1]) * (0.5 * g.length + rng.uniform(-0.03, 0.03))
        return self._base(rng, end), rng.uniform(0.5e-3, 4e-3)

    def _off_body(self, rng):
        g = self.geometry
        kw = self._base(rng)
        if rng.random() < 0.5:
            kw["theta"] = rng.choice([-1, 1]) * rng.uniform(g.theta_max, g.theta_max + 0.3)
        else:
            kw["y"] = g.center_y + rng.choice([-1, 1]) * rng.uniform(0.24, 0.4)
        return kw, -rng.uniform(0.0, 0.05)

    def settle(self, sim: BModeSimulator, kw: dict, press: float) -> tuple[np.ndarray, float]:
        """Pose from family parameters, moved along the face normal so that the deepest
        scanline element is pressed in by ``press`` (m; negative = that far off the skin);
        and the contact force (N) the tissue stiffness gives for that indentation."""
        dz = kw["dz"]
        pose_kw = {k: v for k, v in kw.items() if k != "dz"}
        T = probe_pose_on_skin(self.geometry, press=0.0, dz=dz, **pose_kw)
        elems = sim.scan.origins @ T[:3, :3].T + T[:3, 3]
        gap = self.geometry.signed_distance(elems, dz)
        T[:3, 3] += (np.min(gap) + press) * T[:3, 2]
        elems = sim.scan.origins @ T[:3, :3].T + T[:3, 3]
        pen = np.maximum(-self.geometry.signed_distance(elems, dz), 0.0)
        on = np.abs(elems[:, 1] - self.geometry.center_y) <= 0.5 * self.geometry.length
        force = float(self.stiffness * np.mean(np.where(on, pen, 0.0)))
        return T, force

    def sample(self, rng: np.random.Generator) -> tuple[SimFrame, str, str]:
        """One rendered frame, its family name and probe geometry."""
        name = list(self.families)[rng.choice(len(self.families), p=self._weights)]
        kind, sim = self.sims[rng.integers(len(self.sims))]
        kw, press = self.families[name][0](rng)
        T, force = self.settle(sim, kw, press)
        return sim.render(T, force, kw["dz"]), name, kind

    def generate(
        self, per_class: int, seed: int, size: tuple[int, int] | None = None
    ) -> LabelledFrames:
        """``per_class`` frames of every quality class (rejection sampling), seeded; frames
        resized to ``size`` (h, w) with area averaging if given."""
        rng = np.random.default_rng(seed)
        counts = np.zeros(len(CLASS_ORDER), int)
        frames, labels, scores, fams, kinds = [], [], [], [], []
        limit = 40 * per_class * len(CLASS_ORDER)
        tries = 0
        while counts.min() < per_class:
            tries += 1
            if tries > limit:
                raise RuntimeError(f"could not sample {per_class} frames of every class")
            frame, fam, kind = self.sample(rng)
            k = CLASS_ORDER.index(frame.truth.quality)
            if counts[k] >= per_class:
                continue
            counts[k] += 1
            img = frame.image
            if size is not None and img.shape != size:
                img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            frames.append(img)
            labels.append(k)
            scores.append(frame.truth.score)
            fams.append(fam)
            kinds.append(kind)
        return LabelledFrames(
            frames=np.stack(frames),
            labels=np.array(labels),
            scores=np.array(scores, dtype=np.float32),
            family=fams,
            probe=kinds,
        )
