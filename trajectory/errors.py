"""Planning errors: every rejection names its cause and, where it has one, the arc-length
span of the path (mm from the start) where it happens."""

from __future__ import annotations

from enum import StrEnum

import numpy as np


class FailureReason(StrEnum):
    """Why a path (or a part of it) cannot be planned."""

    TOO_SHORT = "too short"
    TOO_LONG = "too long"
    WORKSPACE = "outside the workspace"
    FOLD_BACK = "folds back on itself"
    CURVATURE = "too sharply curved"
    SMOOTHING = "smoothing moves it too far"
    ORIENTATION_RATE = "probe orientation changes too fast"
    NORMAL = "normal not usable"
    OUT_OF_REACH = "out of reach"
    JOINT_LIMIT = "joint limit"
    NEAR_SINGULAR = "near-singular"
    DISCONTINUITY = "discontinuity"
    JOINT_SPEED = "joints too fast at this speed"
    START_STATE = "start configuration not usable"


class PlanningError(ValueError):
    """A path cannot be planned. ``reason`` is the first cause, ``span_m`` the arc-length
    span (start, end) in metres from the path start where it fails (None if global),
    ``flip_feasible`` True when the same path is feasible with the probe turned 180 deg."""

    def __init__(
        self,
        reason: FailureReason,
        message: str,
        span_m: tuple[float, float] | None = None,
        flip_feasible: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.span_m = span_m
        self.flip_feasible = flip_feasible


def first_run(mask: np.ndarray) -> tuple[int, int]:
    """First and last index of the first run of True in the 1-D ``mask`` (which has one)."""
    i = int(np.argmax(mask))
    j = i
    while j + 1 < len(mask) and mask[j + 1]:
        j += 1
    return i, j


def span_text(s0: float, s1: float) -> str:
    """An arc-length span (m) as operators read it: 'between 12.0 and 30.0 mm from the
    start' (or 'at 12.0 mm from the start' for a single point)."""
    if abs(s1 - s0) < 1e-9:
        return f"at {s0 * 1e3:.1f} mm from the start"
    return f"between {s0 * 1e3:.1f} and {s1 * 1e3:.1f} mm from the start"
