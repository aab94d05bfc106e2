"""Reading ``.npz`` array files safely (no pickles) with errors that name the file. The
arrays' headers can be read first (``npz_headers``), so a reader refuses a file that
declares more data than it accepts before anything is allocated or decompressed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

#: Most arrays (zip members) an ``.npz`` file may hold.
MAX_NPZ_MEMBERS = 64

_HEADER_READERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}


def read_npz(
    path: str | Path, what: str, error: type[Exception], max_bytes: int | None = None
) -> dict[str, np.ndarray]:
    """All arrays of the ``.npz`` file ``path`` (``what`` names it in messages, e.g. "scene
    file"); a missing or unreadable file raises ``error`` naming the path and the cause.
    With ``max_bytes``, a file whose arrays declare more bytes in total is refused from
    its headers, before any array is read."""
    path = Path(path)
    if max_bytes is not None:
        headers = npz_headers(path, what, error)
        total = sum(declared_bytes(shape, dtype) for shape, dtype in headers.values())
        if total > max_bytes:
            raise error(
                f"{path}: the arrays declare {total:,} bytes; a {what} may hold at most "
                f"{max_bytes:,}"
            )
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise error(f"{path}: not a readable .npz file ({exc})") from exc


def declared_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes an array of ``shape`` and ``dtype`` takes (Python integers: no overflow)."""
    n = 1
    for d in shape:
        n *= int(d)
    return n * dtype.itemsize


def npz_headers(
    path: str | Path, what: str, error: type[Exception]
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in the ``.npz`` file ``path``, read from the array
    headers only (a few hundred bytes of each member are decompressed); ``error`` names
    the file and the member that is not a plain ``.npy`` array."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_NPZ_MEMBERS:
                raise error(
                    f"{path}: holds {len(members)} arrays; a {what} may hold at most "
                    f"{MAX_NPZ_MEMBERS}"
                )
            for info in members:
                key = info.filename.removesuffix(".npy")
                with zf.open(info) as f:
                    version = npy_format.read_magic(f)
                    reader = _HEADER_READERS.get(version)
                    if reader is None:
                        raise error(f"{path}: '{key}' has unsupported .npy version {version}")
                    shape, _fortran, dtype = reader(f)
                if dtype.hasobject:
                    raise error(f"{path}: '{key}' holds Python objects (refused)")
                out[key] = (tuple(int(d) for d in shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, error):  # our own refusal above
            raise
        raise error(f"{path}: not a readable .npz file ({exc})") from exc
    return out
