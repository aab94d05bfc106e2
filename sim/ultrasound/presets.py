"""Probe presets and phantom variants of the simulated scanner: linear probes of several
widths and convex probes with fields of view from 40 to 90 degrees, imaging 4 to 20 cm
deep, each with the frequency and point-spread function such a probe has. The quality
model trains on ``TRAIN_PRESETS`` and is tested on ``HELD_OUT_PRESETS`` (geometries it
never saw) and on ``HELD_OUT_PHANTOM`` (a body and a speckle field it never saw).

A preset turns the configured probe and ``ultrasound.sim`` section into the probe of that
preset (``probe_config``, ``sim_config``); the image keeps the simulator's layout (linear:
the scanline data, convex: a sector with square pixels). ``sim.ultrasound.screen_grab``
shows a frame as a scanner's screen would.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from robot_us.core.probe import ProbeConfig
from sim.config import BedConfig, PhantomConfig
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.config import UltrasoundSimConfig


@dataclass(frozen=True)
class ProbePreset:
    """A probe and its imaging settings: ``geometry`` (linear, convex), face chord
    ``width`` (m), ``convex_radius`` (m, convex only), imaging ``depth`` (m), centre
    ``frequency`` (Hz) and PSF sigmas (m)."""

    name: str
    geometry: str
    width: float
    depth: float
    frequency: float
    psf_axial: float
    psf_lateral: float
    convex_radius: float = 0.045

    @property
    def fan_deg(self) -> float:
        """Field of view of a convex probe (degrees); 0 for a linear probe."""
        if self.geometry != "convex":
            return 0.0
        return math.degrees(2.0 * math.asin(min(1.0, 0.5 * self.width / self.convex_radius)))

    def probe_config(self, probe: ProbeConfig) -> ProbeConfig:
        """``probe`` with this preset's geometry, width and radius."""
        return dataclasses.replace(
            probe, geometry=self.geometry, width=self.width, convex_radius=self.convex_radius
        )

    def sim_config(self, us: UltrasoundSimConfig, **overrides: float) -> UltrasoundSimConfig:
        """``us`` with this preset's depth, frequency and PSF (then ``overrides``)."""
        return dataclasses.replace(
            us,
            depth=self.depth,
            frequency=self.frequency,
            psf_axial=self.psf_axial,
            psf_lateral=self.psf_lateral,
            **overrides,
        )


def _convex(name: str, fan_deg: float, radius: float, depth: float, f_mhz: float, psf: tuple):
    width = 2.0 * radius * math.sin(math.radians(0.5 * fan_deg))
    return ProbePreset(name, "convex", width, depth, f_mhz * 1e6, *psf, convex_radius=radius)


def _linear(name: str, width: float, depth: float, f_mhz: float, psf: tuple) -> ProbePreset:
    return ProbePreset(name, "linear", width, depth, f_mhz * 1e6, *psf)


#: Presets the quality model is trained on.
TRAIN_PRESETS: tuple[ProbePreset, ...] = (
    _linear("linear_38mm_4cm", 0.038, 0.04, 7.5, (1.5e-4, 2.8e-4)),
    _linear("linear_60mm_6cm", 0.060, 0.06, 5.0, (2.0e-4, 3.5e-4)),
    _linear("linear_50mm_9cm", 0.050, 0.09, 4.0, (2.5e-4, 5.0e-4)),
    _convex("convex_50deg_12cm", 50.0, 0.060, 0.12, 3.5, (3.0e-4, 7.0e-4)),
    _convex("convex_70deg_18cm", 70.0, 0.055, 0.18, 2.5, (4.0e-4, 1.0e-3)),
    _convex("convex_84deg_6cm", 83.6, 0.045, 0.06, 5.0, (2.0e-4, 3.5e-4)),
    _convex("convex_90deg_15cm", 90.0, 0.040, 0.15, 3.0, (3.5e-4, 8.0e-4)),
)
#: Geometries never trained on (benchmark ``macro_accuracy_held_out_geometry``).
HELD_OUT_PRESETS: tuple[ProbePreset, ...] = (
    _linear("linear_45mm_5cm", 0.045, 0.05, 6.0, (1.8e-4, 3.0e-4)),
    _convex("convex_40deg_20cm", 40.0, 0.060, 0.20, 2.0, (4.5e-4, 1.2e-3)),
    _convex("convex_60deg_10cm", 60.0, 0.050, 0.10, 3.5, (3.0e-4, 6.0e-4)),
)


@dataclass(frozen=True)
class PhantomVariant:
    """A simulated patient: body radius and height above the bed (m) and the seed of its
    speckle (scatterer) field."""

    name: str
    radius: float
    height: float
    seed: int

    def geometry(self, phantom: PhantomConfig, bed: BedConfig) -> PhantomGeometry:
        """The phantom geometry of this variant (position and length as configured)."""
        cfg = dataclasses.replace(phantom, radius=self.radius, height=self.height)
        return PhantomGeometry.from_config(cfg, bed)


#: Patients the model is trained on: the default phantom (only 10 cm thick: deep views
#: show the bed) and a larger, deeper body.
TRAIN_PHANTOMS: tuple[PhantomVariant, ...] = (
    PhantomVariant("default", 0.20, 0.10, 1234),
    PhantomVariant("deep", 0.30, 0.24, 2345),
)
#: A patient never trained on: another body shape and scatterer field.
HELD_OUT_PHANTOM = PhantomVariant("held_out", 0.25, 0.20, 4321)
