"""The probe's configuration section, shared by the controller, the simulator and the
ultrasound image geometry: flange -> F/T sensor -> holder -> probe face (m, kg)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_us.core.config_schema import ConfigError, param


@dataclass(frozen=True)
class ProbeConfig:
    """The ultrasound probe and its mount: flange -> F/T sensor -> holder -> probe tip.
    Probe frame: origin at the centre of the face, z out of the face, x along the array."""

    geometry: str = param("linear", choices=("linear", "convex"), doc="probe type")
    width: float = param(0.06, lo=0.01, hi=0.12, unit="m", doc="face length along the array (x)")
    thickness: float = param(0.015, lo=0.005, hi=0.05, unit="m", doc="elevation size (y)")
    length: float = param(0.08, lo=0.03, hi=0.2, unit="m", doc="probe body length (z)")
    convex_radius: float = param(
        0.045, lo=0.01, hi=0.2, unit="m", doc="radius of curvature of a convex probe's face"
    )
    sensor_thickness: float = param(
        0.0375, lo=0.0, hi=0.1, unit="m", doc="flange to the sensor's measuring plane"
    )
    holder_length: float = param(
        0.02, lo=0.0, hi=0.2, unit="m", doc="sensor plane to the back of the probe"
    )
    mass: float = param(
        0.25, lo=0.01, hi=3.0, unit="kg", doc="mass carried by the sensor (holder + probe)"
    )
    com: tuple[float, ...] = param(
        (0.0, 0.0, 0.05),
        length=3,
        lo=-0.3,
        hi=0.3,
        unit="m",
        doc="centre of mass of the carried mass in the sensor frame",
    )
    image_origin: tuple[float, ...] = param(
        (0.0, 0.0, 0.0),
        length=3,
        lo=-0.3,
        hi=0.3,
        unit="m",
        doc="image-to-probe calibration: probe-frame point of the middle of the image's top "
        "edge (the simulated linear probe's image starts at the face centre)",
    )
    image_spacing: tuple[float, ...] = param(
        (0.0, 0.0),
        length=2,
        lo=0.0,
        hi=0.01,
        unit="m/px",
        doc="image-to-probe calibration: (lateral, axial) pixel spacing "
        "(0 = the spacing recorded with each frame)",
    )

    @property
    def sensor_to_tip(self) -> float:
        """Sensor measuring plane to probe face distance along z (m)."""
        return self.holder_length + self.length

    @property
    def tip_offset(self) -> float:
        """Flange to probe face distance along the flange z axis (m)."""
        return self.sensor_thickness + self.sensor_to_tip

    def T_probe_image(self, width_px: int, frame_spacing: tuple[float, float]) -> np.ndarray:
        """Image-to-probe calibration (4x4): maps pixel coordinates (column, row, 0, 1), 0 at
        the centre of the first pixel, to the probe frame (m). Columns run along probe x,
        rows along probe z (depth), the image centred on ``image_origin`` laterally and
        starting there axially; ``frame_spacing`` (m/px) stands in for a zero
        ``image_spacing``."""
        sx = self.image_spacing[0] or frame_spacing[0]
        sy = self.image_spacing[1] or frame_spacing[1]
        ox, oy, oz = self.image_origin
        T = np.zeros((4, 4))
        T[0, 0], T[2, 1], T[3, 3] = sx, sy, 1.0
        T[:3, 3] = (ox - 0.5 * (width_px - 1) * sx, oy, oz + 0.5 * sy)
        return T

    def validate(self, prefix: str) -> None:
        """Cross-field check: a convex face's arc must span the face width."""
        if self.geometry == "convex" and self.convex_radius < 0.5 * self.width:
            raise ConfigError(
                f"config key '{prefix}.convex_radius' ({self.convex_radius} m) must be at "
                f"least half of '{prefix}.width' ({self.width} m) for the arc to span the face"
            )
