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
lens/phantom manifold to one point: then F = k * d exactly, in every orientation, with the
law's own stiffness and damping given to pybullet.
See docs/simulation.md for the measurements.
"""

from __future__ import annotations

import pybullet as p

#: pybullet ``contactBreakingThreshold``: a factor on each shape's bounding radius
#: (default 0.02). 2.5 x the lens's ~32 mm radius = 80 mm > the 60 mm face.
CONTACT_BREAKING_FACTOR = 2.5


def apply_contact_law(
    client: int, body: int, stiffness: float, damping: float, friction: float
) -> None:
    """Make ``body`` push back with ``stiffness`` (N/m) and ``damping`` (N·s/m) on
    the indentation of the one manifold point of each contact, with Coulomb ``friction``."""
    p.changeDynamics(
        body,
        -1,
        contactStiffness=stiffness,
        contactDamping=damping,
        lateralFriction=friction,
        spinningFriction=0.0,
        rollingFriction=0.0,
        physicsClientId=client,
    )
