"""Contact detection with time hysteresis on the axial (probe z) pressing force: contact
when the force stays above ``detect_force`` for ``detect_time``; lost when it stays below
``loss_force`` for ``loss_time``.

Real-time contract: scalar arithmetic only, no allocation; the ``ContactChange`` members
are bound to module constants (reading a member off an Enum class costs ~0.2 us in
Python 3.11).
"""

from __future__ import annotations

from enum import IntEnum


class ContactChange(IntEnum):
    """What one detector update found."""

    NONE = 0
    MADE = 1
    LOST = 2


_NONE, _MADE, _LOST = ContactChange.NONE, ContactChange.MADE, ContactChange.LOST


class ContactDetector:
    """Debounced contact state from the filtered axial force (N), one update per cycle."""

    def __init__(
        self,
        detect_force: float,
        detect_time: float,
        loss_force: float,
        loss_time: float,
        dt: float,
    ) -> None:
        if loss_force >= detect_force:
            raise ValueError(
                f"contact loss force {loss_force} N must be below the detect force {detect_force} N"
            )
        self.detect_force = detect_force
        self.loss_force = loss_force
        self.detect_cycles = max(1, round(detect_time / dt))
        self.loss_cycles = max(1, round(loss_time / dt))
        self.in_contact = False
        self._count = 0

    def reset(self, *, in_contact: bool) -> None:
        """Force the state (e.g. after a retract: not in contact)."""
        self.in_contact = in_contact
        self._count = 0

    def update(self, axial_force: float) -> ContactChange:
        """Feed the filtered axial pressing force (N); returns MADE or LOST on a change."""
        if self.in_contact:
            self._count = self._count + 1 if axial_force < self.loss_force else 0
            if self._count >= self.loss_cycles:
                self.in_contact = False
                self._count = 0
                return _LOST
        else:
            self._count = self._count + 1 if axial_force > self.detect_force else 0
            if self._count >= self.detect_cycles:
                self.in_contact = True
                self._count = 0
                return _MADE
        return _NONE
