"""Out-of-distribution checks: is this frame a B-mode ultrasound image the quality model
can judge, and if not, why. The first check that fires names the reason:

- ``frozen``: the same frame again from a live source (``frozen.FrozenFrameDetector``): a
  frozen scanner or grabber;
- ``blank``: the whole frame has (almost) one grey level: no signal, a blank screen;
- ``saturated``: too much of the area's visible pixels is white: gain far too high, an
  all-white frame;
- ``noise``: textured, but neighbouring pixels are uncorrelated: noise, no image;
- ``no_speckle``: textured, but without speckle (too smooth or piecewise flat): heavy
  blur, a gradient, a drawing;
- ``flipped``: the model's optional ``flipped`` output says upside down (the assessor
  passes it only when the imaging area is not an upright sector);
- ``not_bmode``: the model's optional ``not_bmode`` output says the frame lacks the
  statistics of B-mode speckle (a texture, a picture);
- ``unlike_training``: the model's optional ``novelty`` output is above 1: not an
  ultrasound image, or one far from anything the model was trained on.

Texture checks (``noise``, ``no_speckle``, ``not_bmode``, ``unlike_training``) apply only
when at least
``MIN_TEXTURED`` of the imaging area is neither dark nor white (a dark no-contact frame is
a valid frame, judged by the model).

The thresholds lie beyond the range of the statistics (``image_stats``) of 1 500 valid
training frames (training presets and phantoms, augmented, raw and screen grabs; seed 0):
a lower bound is 0.8 x the 0.1 % quantile, an upper bound 2 x the 99.9 % quantile of the
frames with texture (``robot-us train-quality`` records the quantiles in the model's
report). No threshold was tuned on out-of-distribution frames. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from perception.quality.image_stats import ImageStats


class OodReason(StrEnum):
    """Why a frame is out of distribution ('' = it is not)."""

    NONE = ""
    FROZEN = "frozen"
    BLANK = "blank"
    SATURATED = "saturated"
    NOISE = "noise"
    NO_SPECKLE = "no_speckle"
    FLIPPED = "flipped"
    NOT_BMODE = "not_bmode"
    UNLIKE_TRAINING = "unlike_training"


#: Order of the reasons in a packed result (index = code); ``NONE`` is 0.
REASON_ORDER: tuple[OodReason, ...] = tuple(OodReason)


@dataclass(frozen=True)
class OodThresholds:
    """Limits of the checks (see the module doc for how they were set)."""

    #: Largest grey-level spread (max - min) of a blank frame.
    blank_spread: float = 4.0
    #: Largest fraction of white pixels among the visible ones (99.9 % of valid: 0.092).
    saturated: float = 0.18
    #: Least fraction of the area with texture for the texture checks.
    min_textured: float = 0.3
    #: Least lag-1 pixel correlation (0.1 % of valid: 0.544).
    correlation: float = 0.435
    #: Least sharpness, 1/px at 128 px (0.1 % of valid: 0.250).
    sharpness: float = 0.20
    #: Largest fraction of flat pixels (99.9 % of valid: 0.040).
    flat: float = 0.08
    #: ``flipped`` model output above which the frame is upside down (a model's metadata
    #: ``flipped_threshold`` replaces it).
    flipped: float = 0.5
    #: ``not_bmode`` model output above which the frame is not B-mode (a model's metadata
    #: ``not_bmode_threshold`` replaces it).
    not_bmode: float = 0.5
    #: ``novelty`` model output above which the frame is unlike the training frames.
    novelty: float = 1.0


#: The default limits.
THRESHOLDS = OodThresholds()
#: Least textured fraction for the texture checks (``OodThresholds.min_textured``).
MIN_TEXTURED = THRESHOLDS.min_textured


def check_frame(
    stats: ImageStats,
    flipped: float | None = None,
    novelty: float | None = None,
    limits: OodThresholds = THRESHOLDS,
    not_bmode: float | None = None,
) -> OodReason:
    """The reason a frame is out of distribution, or ``OodReason.NONE``: ``stats`` of the
    frame, the model's optional ``flipped`` and ``not_bmode`` probabilities and
    ``novelty`` (None: no such output)."""
    if stats.spread <= limits.blank_spread:
        return OodReason.SATURATED if stats.bright >= 245 else OodReason.BLANK
    if stats.saturated > limits.saturated:
        return OodReason.SATURATED
    if stats.textured >= limits.min_textured:
        if not np.isnan(stats.correlation) and stats.correlation < limits.correlation:
            return OodReason.NOISE
        smooth = not np.isnan(stats.sharpness) and stats.sharpness < limits.sharpness
        if smooth or (not np.isnan(stats.flat) and stats.flat > limits.flat):
            return OodReason.NO_SPECKLE
    if flipped is not None and flipped > limits.flipped:
        return OodReason.FLIPPED
    textured = stats.textured >= limits.min_textured  # speckle needs texture to judge
    if textured and not_bmode is not None and not_bmode > limits.not_bmode:
        return OodReason.NOT_BMODE
    if textured and novelty is not None and novelty > limits.novelty:
        return OodReason.UNLIKE_TRAINING
    return OodReason.NONE
