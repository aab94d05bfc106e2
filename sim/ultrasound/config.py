"""Configuration of the B-mode ultrasound simulator: imaging settings (depth, gain,
dynamic range, frequency), point-spread function, speckle, coupling and compression."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param


@dataclass(frozen=True)
class UltrasoundSimConfig:
    """The simulated scanner. The image plane is the probe's x-z plane; rows are depth."""

    depth: float = param(0.06, lo=0.02, hi=0.2, unit="m", doc="imaging depth below the face")
    width_px: int = param(256, lo=32, hi=1024, unit="px", doc="image width (lateral)")
    height_px: int = param(256, lo=32, hi=1024, unit="px", doc="image height (axial)")
    n_scanlines: int = param(0, lo=0, hi=1024, doc="scanlines per frame (0 = one per image column)")
    frequency: float = param(
        5.0e6, lo=1.0e6, hi=20.0e6, unit="Hz", doc="centre frequency (scales attenuation)"
    )
    gain: float = param(0.0, lo=-40.0, hi=40.0, unit="dB", doc="overall receive gain")
    tgc: float = param(
        0.8,
        lo=0.0,
        hi=1.5,
        doc="time-gain compensation as a fraction of nominal soft-tissue attenuation",
    )
    dynamic_range: float = param(
        50.0, lo=20.0, hi=100.0, unit="dB", doc="log-compression dynamic range shown"
    )
    psf_axial: float = param(
        2.0e-4, lo=5e-5, hi=2e-3, unit="m", doc="axial point-spread function sigma"
    )
    psf_lateral: float = param(
        3.5e-4, lo=5e-5, hi=4e-3, unit="m", doc="lateral point-spread function sigma"
    )
    scatterer_size: float = param(
        1.5e-4, lo=5e-5, hi=1e-3, unit="m", doc="voxel size of the fixed 3D scatterer field"
    )
    scatterer_grid: int = param(
        128, lo=32, hi=256, unit="voxels", doc="edge of the (tiled) scatterer field cube"
    )
    seed: int = param(1234, lo=0, hi=2**31 - 1, doc="seed of the scatterer field and noise")
    noise: float = param(
        -60.0, lo=-120.0, hi=0.0, unit="dB", doc="electronic noise level re. tissue echo"
    )
    gel: bool = param(True, doc="coupling gel on the skin (bridges gaps up to coupling_gap)")
    coupling_gap: float = param(
        5e-4, lo=0.0, hi=5e-3, unit="m", doc="face-to-skin gap beyond which a scanline is dark"
    )
    conform_force: float = param(
        4.0,
        lo=0.1,
        hi=50.0,
        unit="N",
        doc="contact force at which the skin wraps the whole face (convex set-back + margin)",
    )
    conform_margin: float = param(
        1.5e-3, lo=0.0, hi=0.01, unit="m", doc="extra gap the pressed skin closes around the face"
    )
    near_field: float = param(
        0.03, lo=0.005, hi=0.1, unit="m", doc="depth of the layer that contact force compresses"
    )
    strain_per_newton: float = param(
        0.01, lo=0.0, hi=0.1, unit="1/N", doc="near-field compressive strain per newton"
    )
    max_strain: float = param(0.3, lo=0.0, hi=0.6, doc="largest near-field compressive strain")
    latency: float = param(
        0.0,
        lo=0.0,
        hi=0.5,
        unit="s",
        doc="image latency: the frame stamped t shows the probe at t - latency (tests the "
        "temporal calibration)",
    )
