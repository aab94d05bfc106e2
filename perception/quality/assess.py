"""Frame quality assessment: find the imaging area, check that the frame is a B-mode image
the model can judge (out-of-distribution checks with a reason), the learned model's class
and score on the imaging area, the score lowered by blur, low gain and saturation, and
the confidence-map features. Pure: arrays in, a result out.

Per frame: imaging area (given, e.g. by a tracker over a live source, else detected: the
lit part completed to its sector or rectangle, ``area_completion``) -> its scanline view
(a sector resampled to scanlines, ``sector.py``) -> model on the view -> image statistics
of the area -> out-of-distribution reason (an OOD frame scores 0; the model's flipped
output counts only when the area is not an upright sector, which shows the orientation
itself) -> score = model score x degradation factor -> confidence map of the view.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

from perception.quality.area_completion import detect_complete_area
from perception.quality.classes import QualityClass
from perception.quality.confidence import confidence_map
from perception.quality.config import QualityConfig
from perception.quality.degradation import degradation
from perception.quality.features import ConfidenceFeatures, confidence_features
from perception.quality.frozen import FrozenFrameDetector
from perception.quality.image_stats import ImageStats, image_stats
from perception.quality.imaging_area import ImagingArea, ImagingAreaTracker, whole_frame
from perception.quality.model import QualityModel
from perception.quality.ood import REASON_ORDER, THRESHOLDS, OodReason, check_frame
from perception.quality.sector import fit_sector, scanline_view

_NAN = float("nan")
#: Image statistics in a packed result, in this order.
_STATS = tuple(f.name for f in fields(ImageStats))
#: Length of ``QualityResult.pack_extra``'s vector.
EXTRA_LEN = 9 + len(_STATS)


@dataclass
class QualityResult:
    """Quality of one frame: class, score (0..1) and class probabilities (model), the
    confidence-map features (``None`` if not computed), and the frame's ``seq`` and time
    ``t`` (s) it belongs to. What a scan does about it is the scan's quality policy
    (``robot_us.scan.quality_policy``), not the assessor's.

    ``ood`` says the frame is not a B-mode image the model can judge, ``ood_reason`` why
    (an ``OodReason`` value); its score is then 0. ``model_score`` is the model's own
    score, ``degradation`` the factor blur, gain and saturation multiplied it by,
    ``stats`` the image statistics (None when not computed), ``flipped``, ``not_bmode``
    and ``novelty`` the model's optional outputs (NaN without them)."""

    quality: QualityClass
    score: float
    probs: np.ndarray
    confidence: ConfidenceFeatures | None
    seq: int = 0
    t: float = 0.0
    ood: bool = False
    ood_reason: str = ""
    model_score: float = _NAN
    degradation: float = 1.0
    stats: ImageStats | None = None
    flipped: float = _NAN
    novelty: float = _NAN
    not_bmode: float = _NAN

    @property
    def mean_confidence(self) -> float:
        """Mean confidence (0..1), NaN when the confidence map was not computed."""
        return self.confidence.mean if self.confidence is not None else _NAN

    def mark_ood(self, reason: OodReason | str) -> None:
        """Flag the frame out of distribution for ``reason`` (e.g. frozen, known only to
        the caller that sees the frame sequence): score 0."""
        self.ood = True
        self.ood_reason = str(reason)
        self.score = 0.0

    def to_dict(self) -> dict:
        """JSON-ready summary (class, score, OOD flag and reason, mean confidence,
        coverage, barycentre, probabilities, image statistics)."""
        c = self.confidence

        def r4(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) else round(float(x), 4)

        return {
            "seq": self.seq,
            "t": self.t,
            "class": self.quality.value,
            "score": round(self.score, 4),
            "ood": self.ood,
            "ood_reason": self.ood_reason,
            "model_score": r4(self.model_score),
            "degradation": r4(self.degradation),
            "mean_confidence": None if c is None else round(c.mean, 4),
            "coverage": None if c is None else r4(c.coverage),
            "coupled_confidence": None if c is None else r4(c.coupled_mean),
            "barycentre": None if c is None else round(c.barycentre, 4),
            "probs": [round(float(p), 4) for p in self.probs],
            "stats": None if self.stats is None else self.stats.as_dict(),
        }

    def pack_extra(self) -> np.ndarray:
        """The fields beyond class, score, probabilities and the confidence mean, per
        scanline and barycentre as a float64 vector of ``EXTRA_LEN`` (for shared memory)."""
        c = self.confidence
        st = self.stats
        return np.array(
            [
                float(self.ood),
                float(REASON_ORDER.index(OodReason(self.ood_reason))),
                self.model_score,
                self.degradation,
                self.flipped,
                self.novelty,
                _NAN if c is None else c.coverage,
                _NAN if c is None else c.coupled_mean,
                self.not_bmode,
                *(_NAN if st is None else getattr(st, k) for k in _STATS),
            ],
            dtype=np.float64,
        )

    def unpack_extra(self, vec: np.ndarray) -> QualityResult:
        """Set the fields ``pack_extra`` packed from ``vec``; returns self."""
        v = np.asarray(vec, dtype=np.float64)
        self.ood = bool(v[0])
        self.ood_reason = REASON_ORDER[int(v[1])].value
        self.model_score, self.degradation = float(v[2]), float(v[3])
        self.flipped, self.novelty = float(v[4]), float(v[5])
        if self.confidence is not None:
            self.confidence.coverage = float(v[6])
            self.confidence.coupled_mean = float(v[7])
        self.not_bmode = float(v[8])
        st = v[9 : 9 + len(_STATS)]
        self.stats = None if np.all(np.isnan(st)) else ImageStats(*map(float, st))
        return self


def _nan_if_none(x: float | None) -> float:
    return _NAN if x is None else float(x)


class QualityAssessor:
    """Scores frames: ``model`` for class and score on the imaging area, image statistics
    for the out-of-distribution checks and the degradation factor, a confidence map of
    the area decimated to ``cfg.confidence_size`` for the features. Construct once;
    ``assess`` per frame.

    It holds the state of the frame sequence it is fed (a live source, or frames in
    order): the imaging-area tracker (``cfg.imaging_area`` 'track') and the frozen-frame
    detector (``cfg.frozen_frames``). ``sequence=False`` makes it judge every frame on
    its own (independent frames: datasets, benchmarks)."""

    def __init__(self, cfg: QualityConfig, model: QualityModel, sequence: bool = True) -> None:
        self.cfg = cfg
        self.model = model
        heads = getattr(model, "head_thresholds", {})
        self.limits = dataclasses.replace(
            THRESHOLDS,
            flipped=heads.get("flipped", THRESHOLDS.flipped),
            not_bmode=heads.get("not_bmode", THRESHOLDS.not_bmode),
        )
        track = sequence and cfg.imaging_area == "track"
        self.tracker = ImagingAreaTracker(cfg.area_memory, detect_complete_area) if track else None
        frozen = sequence and cfg.frozen_frames > 0
        self.frozen = FrozenFrameDetector(cfg.frozen_frames) if frozen else None

    def reset(self) -> None:
        """Forget the frame sequence (a new source)."""
        if self.tracker is not None:
            self.tracker.reset()
        if self.frozen is not None:
            self.frozen.reset()

    def imaging_area(self, image: np.ndarray) -> ImagingArea:
        """The imaging area of the next frame of the sequence, as ``cfg.imaging_area``
        says (tracked, detected in the frame, or the whole frame)."""
        if self.cfg.imaging_area == "full":
            return whole_frame(image.shape)
        if self.tracker is not None:
            return self.tracker.update(image)
        return detect_complete_area(image)

    def assess(
        self,
        image: np.ndarray,
        width_m: float | None = None,
        with_confidence: bool = True,
        seq: int = 0,
        t: float = 0.0,
        area: ImagingArea | None = None,
    ) -> QualityResult:
        """Quality of the next frame (HxW uint8); ``width_m`` the imaged width (m) if known;
        ``area`` its imaging area if known (else tracked or detected, ``imaging_area``)."""
        img = np.asarray(image)
        if img.ndim != 2 or img.dtype != np.uint8 or min(img.shape) < 3:
            raise ValueError(
                f"quality assessment needs an HxW uint8 frame of at least 3x3, "
                f"got {img.dtype} {img.shape}"
            )
        frozen = self.frozen is not None and self.frozen.update(img)
        if area is None or area.mask.shape != img.shape:
            area = self.imaging_area(img)
        sector = fit_sector(area.mask) if area.found else None
        view, view_mask = scanline_view(img, area, sector)
        out = self.model(view)
        stats = image_stats(img, area)
        # an upright sector shows the orientation: the flipped head judges the rest
        flipped = None if sector is not None else out.flipped
        reason = (
            OodReason.FROZEN
            if frozen
            else check_frame(stats, flipped, out.novelty, self.limits, out.not_bmode)
        )
        deg = degradation(stats)
        score = 0.0 if reason is not OodReason.NONE else out.score * deg.factor
        feats = None
        if with_confidence:
            feats = self._confidence(view, view_mask, area, width_m)
        return QualityResult(
            quality=out.quality,
            score=float(score),
            probs=out.probs,
            confidence=feats,
            seq=seq,
            t=t,
            ood=reason is not OodReason.NONE,
            ood_reason=reason.value,
            model_score=out.score,
            degradation=deg.factor,
            stats=stats,
            flipped=_nan_if_none(out.flipped),
            novelty=_nan_if_none(out.novelty),
            not_bmode=_nan_if_none(out.not_bmode),
        )

    def _confidence(
        self, view: np.ndarray, view_mask: np.ndarray, area: ImagingArea, width_m: float | None
    ) -> ConfidenceFeatures:
        cfg = self.cfg
        n = cfg.confidence_size
        small = cv2.resize(view, (n, n), interpolation=cv2.INTER_AREA)
        conf = confidence_map(small, cfg.alpha, cfg.beta, cfg.gamma)
        mask = cv2.resize(view_mask.astype(np.uint8), (n, n), interpolation=cv2.INTER_NEAREST) > 0
        _, _, c0, c1 = area.bbox
        if width_m is not None and area.found:
            width_m *= (c1 - c0) / area.mask.shape[1]  # the area's share of the frame
        return confidence_features(conf, width_m, mask)
