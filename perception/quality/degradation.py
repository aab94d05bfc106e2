"""How much image formation lowers a frame's quality score, from its statistics
(``image_stats``): blur, low gain and saturation. Each factor is in (0, 1] and strictly
monotonic in its statistic, so the score (the model's usable fraction times the factors)
falls with every step of the degradation:

    blur       = 1 - exp(-detail / BLUR_SCALE)           (no texture to judge: 1)
    gain       = 1 - exp(-bright / GAIN_SCALE)            (bright: 90th percentile grey level)
    saturation = max(0, 1 - saturated / SATURATION_SCALE) (fraction of visible pixels white)

``detail`` is the sharpness of the pixels within 20 dB of the 90th percentile
(``image_stats``): gain shifts them all alike, so the blur factor stays put while gain
falls. The whole-area ``sharpness`` rises instead as a dim layer or the dark tail of the
speckle sinks under the display floor (the variance of what is left shrinks): by up to
8 % of the blur factor per -10 dB on the benchmark's frames, more than the gain factor
fell, so one frame in 50 scored higher at -10 dB than at 0 dB.

The scales were chosen on frames of the training presets so that each factor falls by
more than the model's own score moves over one step of the benchmark's degradation
series (blur sigma 1 px: the model moves by up to 2 %; gain -10 dB: up to 3 %, which the
gain factor exceeds for frames up to p90 = 220); the price is that sharp, well-exposed
valid frames keep about 0.9 of the model's score for blur and 0.93 for gain (0.87 for all
three together, mean over the benchmark's 50 held-out frames of class good). On that
series the worst frame's score falls by at least 4.1 % per gain step, 2.2 % per blur step
and 7 % per saturation step. Frames past the out-of-distribution limits (``ood``) score 0
anyway. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perception.quality.image_stats import ImageStats

#: Detail (sharpness, 1/px at the analysis size) at which the blur factor is 1 - 1/e.
BLUR_SCALE = 0.25
#: 90th-percentile grey level at which the gain factor is 1 - 1/e.
GAIN_SCALE = 60.0
#: Saturated fraction at which the saturation factor reaches 0.
SATURATION_SCALE = 0.25


@dataclass
class Degradation:
    """The factors (0..1] and their product."""

    blur: float
    gain: float
    saturation: float

    @property
    def factor(self) -> float:
        """The product of the factors: what the model's score is multiplied by."""
        return self.blur * self.gain * self.saturation


def degradation(stats: ImageStats) -> Degradation:
    """The degradation factors of a frame with statistics ``stats``."""
    sharp = stats.detail
    blur = 1.0 if math.isnan(sharp) else 1.0 - math.exp(-sharp / BLUR_SCALE)
    gain = 1.0 - math.exp(-max(stats.bright, 0.0) / GAIN_SCALE)
    saturation = max(0.0, 1.0 - stats.saturated / SATURATION_SCALE)
    return Degradation(blur=blur, gain=gain, saturation=saturation)
