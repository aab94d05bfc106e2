"""Reading ``.npz`` array files safely (no pickles) with errors that name the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


def read_npz(path: str | Path, what: str, error: type[Exception]) -> dict[str, np.ndarray]:
    """All arrays of the ``.npz`` file ``path`` (``what`` names it in messages, e.g. "scene
    file"); a missing or unreadable file raises ``error`` naming the path and the cause."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise error(f"{path}: not a readable .npz file ({exc})") from exc
