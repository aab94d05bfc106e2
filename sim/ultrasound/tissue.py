"""Tissue labels of the simulated phantom and their acoustic properties.

Impedance in MRayl (10^6 kg m^-2 s^-1), attenuation in dB/(cm·MHz) (one way), echogenicity
as the relative amplitude of diffuse scattering (muscle ~ 1). Values are textbook
magnitudes (e.g. Szabo, *Diagnostic Ultrasound Imaging*), tuned for contrast, not a
calibrated tissue model.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Tissue(IntEnum):
    """Label of a point of the phantom volume (uint8 in label arrays)."""

    AIR = 0
    SKIN = 1
    FAT = 2
    MUSCLE = 3
    ORGAN = 4
    VESSEL = 5
    LESION = 6
    BONE = 7
    BED = 8


#: Tissue -> (impedance MRayl, attenuation dB/(cm·MHz), echogenicity).
PROPERTIES: dict[Tissue, tuple[float, float, float]] = {
    Tissue.AIR: (0.0004, 12.0, 0.0),
    Tissue.SKIN: (1.70, 1.5, 1.3),
    Tissue.FAT: (1.38, 0.6, 0.45),
    Tissue.MUSCLE: (1.70, 1.0, 0.8),
    Tissue.ORGAN: (1.65, 0.5, 0.65),
    Tissue.VESSEL: (1.61, 0.18, 0.02),
    Tissue.LESION: (1.72, 0.7, 2.2),
    Tissue.BONE: (7.80, 20.0, 1.2),
    Tissue.BED: (3.00, 5.0, 0.25),
}

#: Lookup tables indexed by label value.
IMPEDANCE = np.array([PROPERTIES[t][0] for t in Tissue], dtype=np.float32)
ATTENUATION_DB = np.array([PROPERTIES[t][1] for t in Tissue], dtype=np.float32)
ECHOGENICITY = np.array([PROPERTIES[t][2] for t in Tissue], dtype=np.float32)

#: Nominal soft-tissue attenuation that time-gain compensation undoes (dB/(cm·MHz)).
NOMINAL_ATTENUATION_DB = 0.7

#: Labels that are part of the patient (count towards the usable image area).
BODY = np.array([t not in (Tissue.AIR, Tissue.BED) for t in Tissue])
