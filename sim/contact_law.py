"""The tissue contact law and how pybullet is tuned to follow it: F = k d (N), d the
indentation of the probe face below the undeformed skin (m), k = ``sim.phantom.stiffness``.

pybullet turns a body's ``contactStiffness``/``contactDamping`` into a soft constraint per
contact point (ERP = dt k / (dt k + c), CFM = 1 / (dt k + c)), which at rest pushes back
with k_point * depth at EVERY point of the contact manifold. Measured with pybullet's
default contact breaking threshold (factor 0.02): a lens pressed 5 mm into the phantom
with the array along the body axis (a line contact) collects 4 manifold points of equal
depth, 39.9 N instead of 10 N, and 1 point when the array lies across the body; the count
depends on the approach history. Bullet replaces a cached manifold point by a new one
when they lie within the manifold's breaking threshold (shape size x factor), so a factor
``CONTACT_BREAKING_FACTOR`` large enough to span the whole lens collapses every
lens/phantom manifold to one point: then F = k_point * d exactly, in every orientation.
The per-point stiffness is the law's stiffness divided by ``POINTS_PER_CONTACT`` (1).
See docs/simulation.md for the measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

import pybullet as p

#: Effective number of manifold points carrying a lens/phantom contact (measured, with
#: ``CONTACT_BREAKING_FACTOR``).
POINTS_PER_CONTACT = {"linear": 1.0, "convex": 1.0}
#: pybullet ``contactBreakingThreshold``: a factor on each shape's bounding radius
#: (default 0.02). 2.5 x the lens's ~32 mm radius = 80 mm > the 60 mm face.
CONTACT_BREAKING_FACTOR = 2.5


@dataclass(frozen=True)
class ContactLaw:
    """Linear force-indentation law and the pybullet parameters that realise it."""

    stiffness: float  # N/m, the law
    damping: float  # N·s/m, the law
    point_stiffness: float  # N/m per manifold point, given to pybullet
    point_damping: float  # N·s/m per manifold point

    @classmethod
    def for_probe(cls, tool, stiffness: float, damping: float) -> ContactLaw:
        """The law ``F = stiffness * d + damping * d'`` for the probe ``tool``."""
        n = POINTS_PER_CONTACT[tool.geometry]
        return cls(stiffness, damping, stiffness / n, damping / n)

    def force(self, indentation: float) -> float:
        """Static contact force (N) at ``indentation`` (m); 0 outside the skin."""
        return self.stiffness * max(indentation, 0.0)

    def apply(self, client: int, body: int, friction: float, link: int = -1) -> None:
        """Give ``body``'s link these contact parameters and the friction coefficient."""
        p.changeDynamics(
            body,
            link,
            contactStiffness=self.point_stiffness,
            contactDamping=self.point_damping,
            lateralFriction=friction,
            spinningFriction=0.0,
            rollingFriction=0.0,
            physicsClientId=client,
        )
