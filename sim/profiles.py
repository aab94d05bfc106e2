"""Plant profiles (``sim.profile``): named bundles of ``sim`` settings that make the
simulated cell ideal, realistic or harsh. ``robot_us.config.load_config`` puts the chosen
bundle over the packaged defaults (which are the ideal plant) and under the user's files
and overrides, so any single key can still be set. The F/T device a bundle names
(``ft.device``) brings its data sheet first (``sim.ft_devices``); the bundle's own keys
win over the device's. Every value and its source: docs/simulation.md ("Plant profiles").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robot_us.core.registry import Registry


@dataclass(frozen=True)
class PlantProfile:
    """A named bundle of settings: dotted keys relative to ``sim`` -> values."""

    name: str
    doc: str
    settings: dict[str, Any] = field(default_factory=dict)


#: Plant profiles by ``sim.profile``.
PLANT_PROFILES: Registry[PlantProfile] = Registry("plant profile")
PLANT_PROFILES.register(
    "ideal",
    lambda: PlantProfile(
        name="ideal",
        doc="the packaged defaults: 1 kHz F/T without latency or drift, joints that follow "
        "the next step, linear uniform tissue, noiseless depth camera",
    ),
)
PLANT_PROFILES.register(
    "realistic",
    lambda: PlantProfile(
        name="realistic",
        doc="a Robotiq FT 300, the arm's own actuation profile, nonlinear viscoelastic "
        "tissue with stiff ribs, a stereo depth camera's noise",
        settings={
            "ft.device": "ft300",
            "ft.drift_rate": [0.002, 0.002, 0.005, 1e-4, 1e-4, 5e-5],
            "ft.drift_time_constant": 900.0,
            "actuation.model": "arm",
            "phantom.stiffness": 2000.0,
            "phantom.damping": 40.0,
            "phantom.lateral_friction": 0.25,
            "tissue.pressure": "distributed",
            "tissue.stiffening": 2.5,
            "tissue.relaxation": [0.15, 0.10],
            "tissue.relaxation_time": [0.5, 8.0],
            "tissue.rib_stiffness": 6000.0,
            "tissue.viscous_friction": 10.0,
            "tissue.presliding": 0.001,
            "camera.depth_noise_std": 0.0005,
            "camera.depth_noise_quadratic": 0.0025,
            "camera.dropout": 0.005,
            "camera.edge_dropout": 0.5,
            "camera.holes": 3,
        },
    ),
)
PLANT_PROFILES.register(
    "harsh",
    lambda: PlantProfile(
        name="harsh",
        doc="the worst of each: FT 300 at 100 Hz with 10 ms latency and fast drift, "
        "2 cycles of command latency and a 10 ms joint lag, stiff strongly stiffening "
        "tissue (10000 N/m over the ribs), friction 0.45, noisier depth",
        settings={
            "ft.device": "ft300",
            "ft.latency": 0.010,
            "ft.drift_rate": [0.005, 0.005, 0.02, 4e-4, 4e-4, 2e-4],
            "ft.drift_time_constant": 1800.0,
            "actuation.model": "arm",
            "actuation.latency_cycles": 2,
            "actuation.lag": 0.010,
            "phantom.stiffness": 6000.0,
            "phantom.damping": 40.0,
            "phantom.lateral_friction": 0.45,
            "tissue.pressure": "distributed",
            "tissue.stiffening": 4.0,
            "tissue.relaxation": [0.25, 0.15],
            "tissue.relaxation_time": [0.3, 5.0],
            "tissue.rib_stiffness": 10000.0,
            "tissue.viscous_friction": 20.0,
            "tissue.presliding": 0.002,
            "camera.depth_noise_std": 0.001,
            "camera.depth_noise_quadratic": 0.004,
            "camera.dropout": 0.02,
            "camera.edge_dropout": 0.9,
            "camera.holes": 8,
        },
    ),
)


def plant_profile(name: str) -> PlantProfile:
    """The registered plant profile ``name`` (error names the known profiles)."""
    return PLANT_PROFILES.create(name)
