"""A recorded stack of frames in one ``.npz`` file as an ultrasound frame source.

Keys: ``frames`` (N x H x W uint8, required); optional ``t`` (N, s), ``T_base_probe``
(N x 4 x 4), ``wrench`` (N x 6, N and N·m), ``spacing_m`` (2: lateral, axial m/px)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hardware_drivers.frame_files import FrameFileError
from robot_us.core.backends import UltrasoundSource
from robot_us.core.npz_file import read_npz
from robot_us.core.types import UltrasoundFrame

#: Optional per-frame arrays and their shape after the frame axis.
OPTIONAL_KEYS = {"t": (), "T_base_probe": (4, 4), "wrench": (6,)}


def load_frame_stack(path: str | Path) -> dict[str, np.ndarray]:
    """The validated arrays of a frame-stack ``.npz`` (errors name the file and the key)."""
    path = Path(path)
    data = read_npz(path, "frame stack", FrameFileError)
    if "frames" not in data:
        raise FrameFileError(f"{path}: no 'frames' array (has {sorted(data) or 'nothing'})")
    frames = data["frames"]
    if frames.ndim != 3 or frames.shape[0] == 0 or min(frames.shape[1:]) < 2:
        raise FrameFileError(f"{path}: 'frames' must be N x H x W (N >= 1), got {frames.shape}")
    if frames.dtype != np.uint8:
        raise FrameFileError(f"{path}: 'frames' must be uint8, got {frames.dtype}")
    n = frames.shape[0]
    for key, tail in OPTIONAL_KEYS.items():
        if key in data:
            a = data[key]
            if a.shape != (n, *tail) or not np.issubdtype(a.dtype, np.number):
                raise FrameFileError(
                    f"{path}: '{key}' must be numeric with shape {(n, *tail)}, got "
                    f"{a.dtype} {a.shape}"
                )
    if "spacing_m" in data and data["spacing_m"].shape != (2,):
        raise FrameFileError(f"{path}: 'spacing_m' must have 2 values")
    return data


class NpzStackSource(UltrasoundSource):
    """Frames of a ``.npz`` stack, in order; times ``t`` or ``index / rate_hz``."""

    def __init__(self, path: str | Path, rate_hz: float = 30.0) -> None:
        self.path = Path(path)
        self._data = load_frame_stack(path)
        self._period = 1.0 / rate_hz
        sp = self._data.get("spacing_m")
        self._spacing = (0.0, 0.0) if sp is None else (float(sp[0]), float(sp[1]))
        self._next = 0

    def __len__(self) -> int:
        return int(self._data["frames"].shape[0])

    def grab(self) -> UltrasoundFrame | None:
        """The next frame of the stack, or None after the last one."""
        i = self._next
        if i >= len(self):
            return None
        self._next += 1
        d = self._data
        return UltrasoundFrame(
            t=float(d["t"][i]) if "t" in d else i * self._period,
            image=np.ascontiguousarray(d["frames"][i]),
            spacing_m=self._spacing,
            seq=i,
            T_base_probe=d["T_base_probe"][i].astype(np.float64) if "T_base_probe" in d else None,
            wrench=d["wrench"][i].astype(np.float64) if "wrench" in d else None,
            meta={"source": "npz", "name": f"{self.path.name}[{i}]"},
        )


def make_npz_source(cfg: Any, world: Any = None) -> NpzStackSource:
    """The frame-stack source of a root ``Config`` (``ultrasound.uri`` = the .npz file)."""
    return NpzStackSource(cfg.ultrasound.uri, cfg.ultrasound.rate_hz)
