"""Configuration of tracked 3D ultrasound reconstruction (``[reconstruction]``): the voxel
grid, how frames are compounded and which are left out, hole filling, the image-to-pose
time lag, and the anechoic-vessel mapping."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param


@dataclass(frozen=True)
class ReconstructionConfig:
    """Compounding a sweep's frames into a volume (``perception.reconstruction``)."""

    spacing: float = param(5e-4, lo=1e-4, hi=5e-3, unit="m", doc="voxel edge length")
    interpolation: str = param(
        "nearest",
        choices=("nearest", "linear"),
        doc="pixel splatting: into the nearest voxel, or trilinear over the 8 around it",
    )
    fill_distance: float = param(
        1.5e-3,
        lo=0.0,
        hi=0.02,
        unit="m",
        doc="fill voxels no frame reached up to this distance from imaged ones (0 = no filling)",
    )
    min_score: float = param(
        0.6,
        lo=0.0,
        hi=1.0,
        doc="frames whose quality score is below this, or whose class is not good, are left out",
    )
    time_lag: float = param(
        0.0,
        lo=-0.5,
        hi=0.5,
        unit="s",
        doc="image timestamps run late by this: the frame stamped t shows the probe at t - lag",
    )
    compression_correction: bool = param(
        True,
        doc="undo the probe's tissue compression, calibrated from the settle ramp's frames "
        "and scaled by each frame's force (skipped, with the reason, when not calibratable)",
    )
    estimate_lag: bool = param(
        False, doc="estimate the time lag from the sweep itself and apply it (else time_lag)"
    )
    lag_search: float = param(
        0.2, lo=0.01, hi=0.5, unit="s", doc="largest lag magnitude the estimate considers"
    )
    vessel_threshold: float = param(
        0.35,
        lo=0.01,
        hi=1.0,
        doc="anechoic vessel cores: darker than this fraction of the volume's median grey "
        "level after smoothing",
    )
    vessel_grow_threshold: float = param(
        0.6,
        lo=0.01,
        hi=1.0,
        doc="vessels grow from their cores into connected voxels darker than this fraction",
    )
    vessel_smoothing: float = param(
        7.5e-4,
        lo=0.0,
        hi=5e-3,
        unit="m",
        doc="Gaussian sigma of the smoothing before the threshold",
    )
    vessel_min_length: float = param(
        0.01, lo=0.0, hi=0.5, unit="m", doc="shortest anechoic structure mapped as a vessel"
    )
    vessel_min_radius: float = param(
        1e-3, lo=0.0, hi=0.02, unit="m", doc="thinnest anechoic structure mapped as a vessel"
    )
