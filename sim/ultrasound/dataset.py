"""Labelled simulated frames for training and benchmarking the quality model: probe poses
sampled over the phantom (in contact at various tilts and forces, over the rib, partly
lifted, lifted off, off the body), rendered by the B-mode simulator under a few imaging
settings, labelled from the simulator's ground truth. Deterministic for a given seed.

``FrameSampler`` renders the configured probe (linear and convex) on the configured
phantom, or, given probe presets and phantom variants (``sim.ultrasound.presets``), every
preset on the phantoms deep enough for it. ``QualityFrameGenerator`` turns rendered frames
into what the quality model sees on real scanners: scanner settings varied in image space
(gain, TGC curve, dynamic range, blur, display gamma; ``perception.quality.augment``),
shown raw or as a screen grab with burned-in interface (``sim.ultrasound.screen_grab``),
then cut to the imaging area (``perception.quality.imaging_area``), a sector resampled
to scanlines (``perception.quality.sector``), and resized to the model's input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from perception.quality import augment
from perception.quality.area_completion import detect_complete_area
from perception.quality.classes import CLASS_ORDER
from perception.quality.image_stats import ImageStats, image_stats
from perception.quality.imaging_area import ImagingArea, area_from_mask
from perception.quality.sector import scanline_view
from robot_us.core.probe import ProbeConfig
from sim.config import SimConfig
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.bmode import BModeSimulator, SimFrame
from sim.ultrasound.config import UltrasoundSimConfig
from sim.ultrasound.phantom_volume import RIB
from sim.ultrasound.presets import TRAIN_PHANTOMS, TRAIN_PRESETS, PhantomVariant, ProbePreset
from sim.ultrasound.screen_grab import compose_screen_grab

#: Imaging-setting variants the dataset mixes (overrides of ``ultrasound.sim``); each is
#: rendered with a linear and a convex probe.
SETTING_VARIANTS: tuple[dict, ...] = (
    {},
    {"gain": 6.0, "depth": 0.05, "frequency": 7.5e6},
    {"gain": -6.0, "depth": 0.08, "frequency": 3.5e6, "dynamic_range": 60.0},
)
#: Breathing shift range (m).
BREATHING = 0.004
#: Gain augmentation keeps the brightest pixel of a frame at least this bright.
VISIBLE = 60.0
#: A detected imaging area stands in for the true one in training when it covers this
#: fraction of it (a detection that cut off dark scanlines would make a poor-contact
#: frame look good).
MIN_COVER = 0.95


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
    the sampling family of each frame, its probe geometry (linear, convex), and where
    known its probe preset, phantom and whether it is a screen grab."""

    frames: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    family: list[str]
    probe: list[str]
    preset: list[str] = dataclasses.field(default_factory=list)
    phantom: list[str] = dataclasses.field(default_factory=list)
    screen: list[bool] = dataclasses.field(default_factory=list)
    stats: list[ImageStats] = dataclasses.field(default_factory=list)


@dataclass
class SimEntry:
    """One simulator of a sampler: probe geometry, simulator, phantom geometry, and the
    names of its preset and phantom."""

    kind: str
    sim: BModeSimulator
    geometry: PhantomGeometry
    preset: str
    phantom: str


@dataclass
class Rendered:
    """A rendered, labelled frame with where it came from."""

    frame: SimFrame
    family: str
    entry: SimEntry


class FrameSampler:
    """Samples probe poses over the phantom and renders labelled frames."""

    def __init__(
        self,
        sim: SimConfig,
        probe: ProbeConfig,
        us: UltrasoundSimConfig,
        variants: tuple[dict, ...] = SETTING_VARIANTS,
        presets: tuple[ProbePreset, ...] | None = None,
        phantoms: tuple[PhantomVariant, ...] | None = None,
    ) -> None:
        """Simulators for both probe geometries x ``variants`` (overrides of ``us``) on the
        configured phantom; or, with ``presets``, each preset x ``variants`` on each of
        ``phantoms`` (default: the configured phantom; each with its speckle seed)."""
        self.geometry = PhantomGeometry.from_config(sim.phantom, sim.bed)
        self.stiffness = sim.phantom.stiffness
        self.sims: list[SimEntry] = []
        if presets is None:
            for kind in ("linear", "convex"):
                kind_probe = dataclasses.replace(probe, geometry=kind)
                for v in variants:
                    variant = dataclasses.replace(us, **v)
                    s = BModeSimulator(variant, kind_probe, self.geometry)
                    self.sims.append(SimEntry(kind, s, self.geometry, kind, "configured"))
        else:
            bodies = [
                (p.name, p.geometry(sim.phantom, sim.bed), p.seed, p.height)
                for p in (phantoms or ())
            ] or [("configured", self.geometry, us.seed, sim.phantom.height)]
            for pre in presets:  # every body: a thin one puts the bed inside a deep view
                for name, geom, seed, _ in bodies:
                    for v in variants:
                        cfg = pre.sim_config(dataclasses.replace(us, seed=seed, **v))
                        s = BModeSimulator(cfg, pre.probe_config(probe), geom)
                        self.sims.append(SimEntry(pre.geometry, s, geom, pre.name, name))
        # family -> (sampler, weight); a sampler takes (rng, phantom geometry)
        self.families: dict[
            str, tuple[Callable[[np.random.Generator, PhantomGeometry], tuple], float]
        ] = {
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
    def _base(self, rng: np.random.Generator, g: PhantomGeometry, y: float | None = None) -> dict:
        """Common pose parameters; ``y`` (m) is relative to the phantom centre."""
        return {
            "theta": rng.uniform(-0.55, 0.55),
            "y": g.center_y + (rng.uniform(-0.16, 0.16) if y is None else y),
            "yaw": rng.uniform(0, np.pi),
            "roll": rng.normal(0, 0.02),
            "pitch": rng.normal(0, 0.04),
            "dz": rng.uniform(-BREATHING, BREATHING),
        }

    def _contact(self, rng, g=None):
        return self._base(rng, g or self.geometry), rng.uniform(0.5e-3, 5e-3)

    def _rib(self, rng, g=None):
        kw = self._base(rng, g or self.geometry, RIB.y + rng.uniform(-0.025, 0.025))
        kw["yaw"] = 0.5 * np.pi + rng.normal(0, 0.5)
        return kw, rng.uniform(0.5e-3, 5e-3)

    def _tilted(self, rng, g=None):
        kw = self._base(rng, g or self.geometry)
        kw["roll"] = rng.choice([-1, 1]) * rng.uniform(0.02, 0.45)
        return kw, rng.uniform(0.3e-3, 4e-3)

    def _lifted(self, rng, g=None):
        kw = self._base(rng, g or self.geometry)
        kw["roll"] = rng.normal(0, 0.1)
        return kw, -rng.uniform(1.5e-3, 0.03)

    def _body_end(self, rng, g=None):
        g = g or self.geometry
        end = rng.choice([-1, 1]) * (0.5 * g.length + rng.uniform(-0.03, 0.03))
        return self._base(rng, g, end), rng.uniform(0.5e-3, 4e-3)

    def _off_body(self, rng, g=None):
        g = g or self.geometry
        kw = self._base(rng, g)
        if rng.random() < 0.5:
            kw["theta"] = rng.choice([-1, 1]) * rng.uniform(g.theta_max, g.theta_max + 0.3)
        else:
            kw["y"] = g.center_y + rng.choice([-1, 1]) * rng.uniform(0.24, 0.4)
        return kw, -rng.uniform(0.0, 0.05)

    def settle(
        self, sim: BModeSimulator, kw: dict, press: float, geometry: PhantomGeometry | None = None
    ) -> tuple[np.ndarray, float]:
        """Pose from family parameters, moved along the face normal so that the deepest
        scanline element is pressed in by ``press`` (m; negative = that far off the skin);
        and the contact force (N) the tissue stiffness gives for that indentation."""
        g = geometry or self.geometry
        dz = kw["dz"]
        pose_kw = {k: v for k, v in kw.items() if k != "dz"}
        T = probe_pose_on_skin(g, press=0.0, dz=dz, **pose_kw)
        elems = sim.scan.origins @ T[:3, :3].T + T[:3, 3]
        gap = g.signed_distance(elems, dz)
        T[:3, 3] += (np.min(gap) + press) * T[:3, 2]
        elems = sim.scan.origins @ T[:3, :3].T + T[:3, 3]
        pen = np.maximum(-g.signed_distance(elems, dz), 0.0)
        on = np.abs(elems[:, 1] - g.center_y) <= 0.5 * g.length
        force = float(self.stiffness * np.mean(np.where(on, pen, 0.0)))
        return T, force

    def render(self, rng: np.random.Generator) -> Rendered:
        """One rendered frame of a random family and simulator."""
        name = list(self.families)[rng.choice(len(self.families), p=self._weights)]
        entry = self.sims[rng.integers(len(self.sims))]
        kw, press = self.families[name][0](rng, entry.geometry)
        T, force = self.settle(entry.sim, kw, press, entry.geometry)
        return Rendered(entry.sim.render(T, force, kw["dz"]), name, entry)

    def sample(self, rng: np.random.Generator) -> tuple[SimFrame, str, str]:
        """One rendered frame, its family name and probe geometry."""
        r = self.render(rng)
        return r.frame, r.family, r.entry.kind

    def generate(
        self, per_class: int, seed: int, size: tuple[int, int] | None = None
    ) -> LabelledFrames:
        """``per_class`` frames of every quality class (rejection sampling), seeded; frames
        resized to ``size`` (h, w) with area averaging if given."""

        def as_is(r: Rendered, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
            img = r.frame.image
            if size is not None and img.shape != size:
                img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            return img, False

        return balanced(self, per_class, seed, as_is)


def balanced(
    sampler: FrameSampler,
    per_class: int,
    seed: int,
    show: Callable[[Rendered, np.random.Generator], tuple[np.ndarray, bool]],
) -> LabelledFrames:
    """``per_class`` rendered frames of every class (rejection sampling), each turned into
    the stored image by ``show(rendered, rng) -> (image, is_screen_grab)``."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(CLASS_ORDER), int)
    out = LabelledFrames([], [], [], [], [], [], [], [])  # type: ignore[arg-type]
    limit = 40 * per_class * len(CLASS_ORDER)
    tries = 0
    while counts.min() < per_class:
        tries += 1
        if tries > limit:
            raise RuntimeError(f"could not sample {per_class} frames of every class")
        r = sampler.render(rng)
        k = CLASS_ORDER.index(r.frame.truth.quality)
        if counts[k] >= per_class:
            continue
        counts[k] += 1
        img, screen = show(r, rng)
        out.frames.append(img)
        out.labels.append(k)
        out.scores.append(r.frame.truth.score)
        out.family.append(r.family)
        out.probe.append(r.entry.kind)
        out.preset.append(r.entry.preset)
        out.phantom.append(r.entry.phantom)
        out.screen.append(screen)
    out.frames = np.stack(out.frames)
    out.labels = np.array(out.labels)
    out.scores = np.array(out.scores, dtype=np.float32)
    return out


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the image-space scanner settings a training frame gets (uniform draws):
    gain (dB), TGC knot gains (dB, 4 knots), dynamic range re-display (dB, from the
    simulated one), blur sigma (px of the simulated frame), display gamma; the fraction
    of frames shown as screen grabs, and of those whose imaging area the model input is
    cut from by single-frame detection (the rest: the true area with jitter)."""

    gain_db: tuple[float, float] = (-15.0, 8.0)
    tgc_db: float = 6.0
    dynamic_range: tuple[float, float] = (40.0, 75.0)
    blur_px: tuple[float, float] = (0.0, 2.0)
    gamma: tuple[float, float] = (0.8, 1.25)
    screen_fraction: float = 0.5
    detect_fraction: float = 0.3
    #: Largest jitter of the true imaging area's box, fraction of its size per edge.
    jitter: float = 0.02
    #: Use a detected area even where it misses part of the true one (a dark edge): the
    #: benchmark of single-frame detection. Training keeps only detections that cover the
    #: true area (``MIN_COVER``; the whole-frame fallback does), so labels stay right.
    detect_any: bool = False


#: No augmentation: frames as simulated, raw (benchmark of the plain simulator).
NO_AUGMENTATION = Augmentation(
    gain_db=(0.0, 0.0),
    tgc_db=0.0,
    dynamic_range=(0.0, 0.0),
    blur_px=(0.0, 0.0),
    gamma=(1.0, 1.0),
    screen_fraction=0.0,
    detect_fraction=0.0,
    jitter=0.0,
)


def augment_frame(
    image: np.ndarray, fov: np.ndarray | None, dr: float, aug: Augmentation, rng
) -> np.ndarray:
    """``image`` (log-compressed over ``dr`` dB) with random scanner settings (``aug``)."""
    img = image
    if aug.blur_px[1] > 0:
        img = augment.blur(img, rng.uniform(*aug.blur_px), fov)
    if aug.dynamic_range[1] > 0:
        new_dr = rng.uniform(*aug.dynamic_range)
        img = augment.dynamic_range(img, dr, new_dr, fov)
        dr = new_dr
    if aug.tgc_db > 0:
        img = augment.tgc(img, rng.uniform(-aug.tgc_db, aug.tgc_db, 4), dr, fov)
    if aug.gain_db[1] > aug.gain_db[0]:
        # an operator keeps the brightest echoes visible: never below VISIBLE grey levels
        floor = -(float(img.max()) - VISIBLE) * dr / 255.0
        img = augment.gain(img, max(rng.uniform(*aug.gain_db), min(0.0, floor)), dr, fov)
    if aug.gamma[1] > aug.gamma[0]:
        img = augment.display_gamma(img, rng.uniform(*aug.gamma), fov)
    return img


def _covers(detected: ImagingArea, true: ImagingArea) -> bool:
    n = true.mask.sum()
    return bool(n) and (detected.mask & true.mask).sum() >= MIN_COVER * n


def jitter_area(area: ImagingArea, frac: float, rng: np.random.Generator) -> ImagingArea:
    """The area with each edge of its box moved by up to ``frac`` of its size (in or out)."""
    if frac <= 0:
        return area
    h, w = area.mask.shape
    r0, r1, c0, c1 = area.bbox
    dh, dw = frac * (r1 - r0), frac * (c1 - c0)
    e = rng.uniform(-1, 1, 4)
    nr0, nr1 = int(np.clip(r0 + e[0] * dh, 0, h - 2)), int(np.clip(r1 + e[1] * dh, 2, h))
    nc0, nc1 = int(np.clip(c0 + e[2] * dw, 0, w - 2)), int(np.clip(c1 + e[3] * dw, 2, w))
    mask = np.zeros_like(area.mask)
    sub = area.mask[r0:r1, c0:c1].astype(np.uint8)
    if nr1 - nr0 >= 2 and nc1 - nc0 >= 2:
        mask[nr0:nr1, nc0:nc1] = cv2.resize(sub, (nc1 - nc0, nr1 - nr0), cv2.INTER_NEAREST) > 0
    return area_from_mask(mask) if mask.any() else area


class QualityFrameGenerator:
    """Model inputs as the quality pipeline sees them on a scanner (see the module doc):
    rendered frames, augmented, shown raw or as screen grabs, cropped to the imaging area
    and resized to ``size`` (h, w) with area averaging; with ``collect_stats`` the image
    statistics of each frame's imaging area are kept too (``stats``)."""

    def __init__(
        self,
        sampler: FrameSampler,
        aug: Augmentation,
        size: tuple[int, int],
        collect_stats: bool = False,
    ) -> None:
        self.sampler = sampler
        self.aug = aug
        self.size = size
        self.collect_stats = collect_stats
        self.stats: list[ImageStats] = []

    def show(self, r: Rendered, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """The screen image (raw or a screen grab) of a rendered frame and its imaging
        area (true area with jitter, or detected); returns (model input, screen grab?)."""
        image, area, screen = self.display(r, rng)
        detected = None
        if self.aug.detect_fraction > 0 and rng.random() < self.aug.detect_fraction:
            detected = detect_complete_area(image)
        if detected is not None and (self.aug.detect_any or _covers(detected, area)):
            area = detected
        else:
            area = jitter_area(area, self.aug.jitter, rng)
        if self.collect_stats:
            self.stats.append(image_stats(image, area))
        view, _ = scanline_view(image, area)
        h, w = self.size
        return cv2.resize(view, (w, h), interpolation=cv2.INTER_AREA), screen

    def display(
        self, r: Rendered, rng: np.random.Generator
    ) -> tuple[np.ndarray, ImagingArea, bool]:
        """The augmented frame, raw or on a screen: (image, true imaging area, screen?)."""
        sim = r.entry.sim
        fov = sim.scan.fov_mask
        img = augment_frame(r.frame.image, fov, sim.cfg.dynamic_range, self.aug, rng)
        if self.aug.screen_fraction > 0 and rng.random() < self.aug.screen_fraction:
            grab = compose_screen_grab(img, r.frame.spacing_m, fov, rng)
            return grab.image, area_from_mask(grab.area_mask), True
        mask = fov if fov is not None else np.ones(img.shape, bool)
        return img, area_from_mask(mask), False

    def generate(self, per_class: int, seed: int) -> LabelledFrames:
        """``per_class`` model inputs of every class, seeded."""
        self.stats = []
        out = balanced(self.sampler, per_class, seed, self.show)
        out.stats = self.stats
        self.stats = []
        return out


def quality_training_frames(
    sim: SimConfig,
    probe: ProbeConfig,
    us: UltrasoundSimConfig,
    per_class: int,
    seed: int,
    size: tuple[int, int],
    presets: tuple[ProbePreset, ...] = TRAIN_PRESETS,
    phantoms: tuple[PhantomVariant, ...] = TRAIN_PHANTOMS,
    aug: Augmentation | None = None,
) -> LabelledFrames:
    """The quality model's training (or test) inputs: ``presets`` on ``phantoms`` under
    ``SETTING_VARIANTS``, augmented (``aug``, default ``Augmentation()``), raw and as
    screen grabs, cropped to their imaging area, resized to ``size``; with the image
    statistics of every frame."""
    sampler = FrameSampler(sim, probe, us, presets=presets, phantoms=phantoms)
    gen = QualityFrameGenerator(sampler, aug or Augmentation(), size, collect_stats=True)
    return gen.generate(per_class, seed)
