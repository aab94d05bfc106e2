"""Ground truth the simulator knows about each frame, and the quality label derived from it
(the labels the quality model is trained and benchmarked on)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.quality.classes import QualityClass

#: Below this coupled fraction of the face, a frame is "no contact".
NO_CONTACT_BELOW = 0.15
#: Below this coupled fraction (and above NO_CONTACT_BELOW), a frame is "poor contact".
POOR_CONTACT_BELOW = 0.85
#: At or above this fraction of coupled scanlines hitting bone, a frame is "shadowed".
SHADOWED_FROM = 0.3


@dataclass
class SimTruth:
    """What the simulator knows about a frame: per-scanline coupling (0..1), the coupled
    fraction of the face, the fraction of coupled scanlines shadowed by bone, the usable
    fraction of the field of view (coupled, inside the body, not shadowed) and the penetration
    of the face centre into the skin (m, > 0 pressed in)."""

    line_coupling: np.ndarray
    coupled_fraction: float
    shadow_fraction: float
    usable_fraction: float
    indentation: float

    @property
    def quality(self) -> QualityClass:
        """The quality class this frame deserves."""
        return quality_label(self.coupled_fraction, self.shadow_fraction)

    @property
    def score(self) -> float:
        """The 0..1 quality score this frame deserves (its usable fraction)."""
        return self.usable_fraction


def quality_label(coupled_fraction: float, shadow_fraction: float) -> QualityClass:
    """Quality class from the coupled fraction of the face and the shadowed fraction of the
    coupled scanlines."""
    if coupled_fraction < NO_CONTACT_BELOW:
        return QualityClass.NO_CONTACT
    if coupled_fraction < POOR_CONTACT_BELOW:
        return QualityClass.POOR_CONTACT
    if shadow_fraction >= SHADOWED_FROM:
        return QualityClass.SHADOWED
    return QualityClass.GOOD
