"""Wiring of the imaging side for a lockstep scan on the simulated cell: the cell's
ultrasound source (or the configured one from ``ULTRASOUND_SOURCES``, given the simulated
world), the quality model and assessor from ``[ultrasound.quality]``, and the recorder's
quality samples."""

from __future__ import annotations

from typing import Any

from robot_us.config import Config
from robot_us.core.backends import Cell
from robot_us.scan.lockstep_imaging import LockstepImaging


def make_lockstep_imaging(
    cfg: Config, cell: Cell, scan: Any, recorder: Any | None
) -> LockstepImaging:
    """Frames from the cell's ultrasound source at ``ultrasound.rate_hz`` of loop time,
    assessed synchronously by the configured quality model."""
    from perception.quality.assess import QualityAssessor
    from robot_us.core.backends import ULTRASOUND_SOURCES
    from robot_us.imaging import quality_sample
    from robot_us.quality_models import load_quality_model

    source = cell.ultrasound
    if source is None:
        source = ULTRASOUND_SOURCES.create(cfg.ultrasound.source, cfg, cell.sim)
    qcfg = cfg.ultrasound.quality
    assessor = QualityAssessor(qcfg, load_quality_model(qcfg.model))
    return LockstepImaging(
        source,
        assessor,
        cfg.ultrasound.rate_hz,
        scan,
        recorder,
        to_quality_sample=quality_sample,
    )
