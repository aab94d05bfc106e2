"""A folder of image files (PNG, JPEG, BMP, TIFF) as an ultrasound frame source, in file-name
order. Frame times are ``index / rate_hz`` unless a sidecar ``frames.json`` gives them:
``{"frames": {"<file name>": {"t": s, "T_base_probe": 4x4, "wrench": [6]}}}`` (each key
optional), which also supplies the probe pose and wrench where known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np

from hardware_drivers.frame_files import FrameFileError, as_gray_u8
from robot_us.core.backends import UltrasoundSource
from robot_us.core.typed_json import SchemaError, read_json_file, to_plain
from robot_us.core.types import UltrasoundFrame

#: File name suffixes read as frames.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
SIDECAR = "frames.json"
#: Largest sidecar read (bytes).
MAX_SIDECAR_BYTES = 64 * 1024 * 1024


class FrameInfo(msgspec.Struct):
    """One frame's entry in ``frames.json`` (every key optional)."""

    t: float | None = None  # s
    T_base_probe: list[list[float]] | None = None  # 4x4, m
    wrench: list[float] | None = None  # [fx fy fz tx ty tz] (N, N m)


class Sidecar(msgspec.Struct):
    """``frames.json``: file name -> its frame's time, probe pose and wrench."""

    frames: dict[str, FrameInfo]


class ImageFolderSource(UltrasoundSource):
    """Frames from the images of ``folder`` (grey, or colour converted to grey)."""

    def __init__(
        self,
        folder: str | Path,
        rate_hz: float = 30.0,
        spacing_m: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FrameFileError(f"frame folder not found: {self.folder}")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise FrameFileError(
                f"no image files ({', '.join(IMAGE_SUFFIXES)}) in frame folder {self.folder}"
            )
        self._period = 1.0 / rate_hz
        self._spacing = tuple(spacing_m)
        self._meta = self._read_sidecar()
        self._next = 0

    def _read_sidecar(self) -> dict[str, dict]:
        path = self.folder / SIDECAR
        if not path.is_file():
            return {}
        try:  # every type checked here: a wrong one names the field
            doc = read_json_file(path, Sidecar, "frame sidecar", MAX_SIDECAR_BYTES)
        except SchemaError as exc:
            raise FrameFileError(str(exc)) from exc
        return {
            name: {k: v for k, v in to_plain(info).items() if v is not None}
            for name, info in doc.frames.items()
        }

    def __len__(self) -> int:
        return len(self.files)

    def grab(self) -> UltrasoundFrame | None:
        """The next image as a frame, or None after the last file."""
        if self._next >= len(self.files):
            return None
        i = self._next
        self._next += 1
        path = self.files[i]
        image = as_gray_u8(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), str(path))
        info: dict[str, Any] = self._meta.get(path.name, {})
        T = info.get("T_base_probe")
        wrench = info.get("wrench")
        try:
            T = None if T is None else np.asarray(T, dtype=np.float64).reshape(4, 4)
            wrench = None if wrench is None else np.asarray(wrench, dtype=np.float64).reshape(6)
            t = float(info.get("t", i * self._period))
        except (TypeError, ValueError) as exc:
            raise FrameFileError(
                f"{self.folder / SIDECAR}: bad entry for {path.name}: {exc}"
            ) from exc
        return UltrasoundFrame(
            t=t,
            image=image,
            spacing_m=self._spacing,
            seq=i,
            T_base_probe=T,
            wrench=wrench,
            meta={"source": "folder", "name": path.name},
        )


def make_folder_source(cfg: Any, world: Any = None) -> ImageFolderSource:
    """The folder source of a root ``Config`` (``ultrasound.uri`` = the folder)."""
    us = cfg.ultrasound
    return ImageFolderSource(us.uri, us.rate_hz, tuple(us.pixel_spacing))
