"""Image-quality classes of an ultrasound frame, in the fixed order of a quality model's
output vector."""

from __future__ import annotations

from enum import StrEnum


class QualityClass(StrEnum):
    """What a frame shows, from the point of view of whether the scan can use it."""

    GOOD = "good"  # probe coupled across the face, no large acoustic shadow
    POOR_CONTACT = "poor_contact"  # part of the face lifted off: dark scanlines
    SHADOWED = "shadowed"  # coupled, but a bone shadow hides a large part of the image
    NO_CONTACT = "no_contact"  # probe (almost) entirely off the skin: no image


#: Model output order (index -> class).
CLASS_ORDER: tuple[QualityClass, ...] = (
    QualityClass.GOOD,
    QualityClass.POOR_CONTACT,
    QualityClass.SHADOWED,
    QualityClass.NO_CONTACT,
)
