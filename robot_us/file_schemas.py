"""Typed schemas of the JSON files the perception commands read (formats in
docs/formats.md): ``hand_eye.json`` (robot poses and their images for the eye-to-hand
calibration) and ``calibration.json`` (camera pose and intrinsics). Decoding checks every
type at the boundary (``robot_us.core.typed_json``); the meaning (shapes, rigidity,
plausible values) is checked by the readers after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from robot_us.core.typed_json import read_json_file, to_plain

#: Largest hand_eye.json / calibration.json read (bytes); real ones are a few kB.
MAX_CALIBRATION_BYTES = 4 * 1024 * 1024

Matrix = list[list[float]]


class HandEyePose(msgspec.Struct):
    """One robot pose: the flange in the base frame (4x4, m) and its image file."""

    T_base_flange: Matrix
    image: str


class HandEyeDocument(msgspec.Struct):
    """``hand_eye.json``."""

    poses: list[HandEyePose]


class IntrinsicsDocument(msgspec.Struct):
    """The ``intrinsics`` of ``calibration.json``."""

    width: int
    height: int
    K: Matrix
    dist: list[float] = []


class CalibrationDocument(msgspec.Struct, omit_defaults=True):
    """``calibration.json``."""

    format: str = "robot-us-camera-calibration"
    version: int = 1
    T_base_camera: Matrix | None = None
    intrinsics: IntrinsicsDocument | None = None
    hand_eye: dict[str, Any] = {}
    intrinsics_report: dict[str, Any] = {}


def read_hand_eye_document(path: str | Path) -> dict[str, Any]:
    """``hand_eye.json`` type-checked, as plain dicts and lists."""
    return to_plain(read_json_file(path, HandEyeDocument, "hand-eye", MAX_CALIBRATION_BYTES))


def read_calibration_document(path: str | Path) -> dict[str, Any]:
    """``calibration.json`` type-checked, as plain dicts and lists (absent keys absent)."""
    doc = read_json_file(path, CalibrationDocument, "calibration", MAX_CALIBRATION_BYTES)
    return {k: v for k, v in to_plain(doc).items() if v is not None}
