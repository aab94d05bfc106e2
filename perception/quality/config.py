"""Configuration of ultrasound image-quality assessment: confidence map parameters, the
quality model, the score thresholds the scan acts on, and where the assessment runs."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import param


@dataclass(frozen=True)
class QualityConfig:
    """Image-quality assessment (``perception.quality``)."""

    model: str = param("", doc="quality model ONNX file ('' = the model shipped in the package)")
    alpha: float = param(
        2.0, lo=0.0, hi=10.0, doc="confidence map: attenuation coefficient (per image depth)"
    )
    beta: float = param(90.0, lo=1.0, hi=1000.0, doc="confidence map: edge weight sensitivity")
    gamma: float = param(
        0.05, lo=0.0, hi=1.0, doc="confidence map: penalty on horizontal/diagonal edges"
    )
    confidence_size: int = param(
        64, lo=16, hi=256, unit="px", doc="side of the square image the confidence map solves on"
    )
    worker: str = param(
        "thread", choices=("thread", "process"), doc="where assessment runs beside the caller"
    )
    imaging_area: str = param(
        "track",
        choices=("track", "frame", "full"),
        doc="where the image is: 'track' the union of detections over recent frames, "
        "'frame' detected in each frame, 'full' the whole frame",
    )
    area_memory: int = param(
        300,
        lo=1,
        hi=100000,
        unit="frames",
        doc="frames a tracked imaging area is remembered without being detected again",
    )
    frozen_frames: int = param(
        3,
        lo=0,
        hi=1000,
        unit="frames",
        doc="identical frames in a row after which the source counts as frozen (0 = off)",
    )
