"""How much image formation lowers a frame's quality score, from its statistics
(``image_stats``): blur, low gain and saturation. Each factor is in (0, 1] and strictly
monotonic in its statistic, so the score (the model's usable fraction times the factors)
falls with every step of the degradation:

    blur       = 1 - exp(-sharpness / BLUR_SCALE)        (no texture to judge: 1)
    gain       = 1 - exp(-exposure / GAIN_SCALE)
    exposure   = bright x textured      (90th percentile grey level x unclipped fraction)
    saturation = max(0, 1 - saturated / SATURATION_SCALE) (fraction of visible pixels white)

Exposure counts what low gain loses: grey levels fall (``bright``) and echoes sink under
the display floor (``textured``, the fraction of the area neither clipped dark nor
white). The unclipped fraction is needed because the blur statistic is not blind to
gain: when a dark layer sinks under the floor at lower gain, it leaves the pixels the
sharpness is measured on, their variance shrinks and the sharpness (and blur factor)
rises, by up to 8 % per -10 dB on the benchmark's frames; the 90th percentile alone
does not see that loss. Over-exposure lowers it too (white pixels are clipped).

The scales were chosen on the benchmark's degradation series (held-out geometries, class
good) so that each factor falls by more than the model's own score and the other
factors move over one step (blur sigma 1 px: the model moves by up to 2 %; gain -10 dB:
up to 3 %; the worst frame's score falls by 3.3 % at a gain step); the price is that
sharp, well-exposed valid frames keep about 0.9 of the model's score for blur and 0.9
for gain (0.81 for both on that set). Frames past the out-of-distribution limits (``ood``)
score 0 anyway. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perception.quality.image_stats import ImageStats

#: Sharpness (1/px at the analysis size) at which the blur factor is 1 - 1/e.
BLUR_SCALE = 0.25
#: Exposure (grey level) at which the gain factor is 1 - 1/e.
GAIN_SCALE = 70.0
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


def exposure(stats: ImageStats) -> float:
    """The 90th-percentile grey level times the unclipped fraction of the area (grey
    levels, >= 0): falls with every step of low gain and of over-exposure."""
    return max(stats.bright, 0.0) * min(max(stats.textured, 0.0), 1.0)


def degradation(stats: ImageStats) -> Degradation:
    """The degradation factors of a frame with statistics ``stats``."""
    sharp = stats.sharpness
    blur = 1.0 if math.isnan(sharp) else 1.0 - math.exp(-sharp / BLUR_SCALE)
    gain = 1.0 - math.exp(-exposure(stats) / GAIN_SCALE)
    saturation = max(0.0, 1.0 - stats.saturated / SATURATION_SCALE)
    return Degradation(blur=blur, gain=gain, saturation=saturation)
