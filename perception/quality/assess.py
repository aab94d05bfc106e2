"""Frame quality assessment: the learned model's class and score plus confidence-map
features, and the action the scan should take. Pure: arrays in, a result out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.quality.classes import QualityClass
from perception.quality.confidence import confidence_at_size
from perception.quality.config import QualityConfig
from perception.quality.features import ConfidenceFeatures, confidence_features
from perception.quality.model import QualityModel


@dataclass
class QualityResult:
    """Quality of one frame: class, score (0..1) and class probabilities (model), the
    confidence-map features (``None`` if not computed), and the frame's ``seq`` and time
    ``t`` (s) it belongs to. What a scan does about it is the scan's quality policy
    (``robot_us.scan.quality_policy``), not the assessor's."""

    quality: QualityClass
    score: float
    probs: np.ndarray
    confidence: ConfidenceFeatures | None
    seq: int = 0
    t: float = 0.0

    @property
    def mean_confidence(self) -> float:
        """Mean confidence (0..1), NaN when the confidence map was not computed."""
        return self.confidence.mean if self.confidence is not None else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready summary (class, score, mean confidence, barycentre, probabilities)."""
        c = self.confidence
        return {
            "seq": self.seq,
            "t": self.t,
            "class": self.quality.value,
            "score": round(self.score, 4),
            "mean_confidence": None if c is None else round(c.mean, 4),
            "barycentre": None if c is None else round(c.barycentre, 4),
            "probs": [round(float(p), 4) for p in self.probs],
        }


class QualityAssessor:
    """Scores frames: ``model`` for class and score, a confidence map decimated to
    ``cfg.confidence_size`` for the features. Construct once; ``assess`` per frame."""

    def __init__(self, cfg: QualityConfig, model: QualityModel) -> None:
        self.cfg = cfg
        self.model = model

    def assess(
        self,
        image: np.ndarray,
        width_m: float | None = None,
        with_confidence: bool = True,
        seq: int = 0,
        t: float = 0.0,
    ) -> QualityResult:
        """Quality of one frame (HxW uint8); ``width_m`` the imaged width (m) if known."""
        out = self.model(image)
        feats = None
        if with_confidence:
            cfg = self.cfg
            conf = confidence_at_size(image, cfg.confidence_size, cfg.alpha, cfg.beta, cfg.gamma)
            feats = confidence_features(conf, width_m)
        return QualityResult(
            quality=out.quality,
            score=out.score,
            probs=out.probs,
            confidence=feats,
            seq=seq,
            t=t,
        )
