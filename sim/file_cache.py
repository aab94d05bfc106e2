"""A per-user, content-addressed cache of generated files (the arm-with-probe URDF and
its meshes), safe against files planted by others: the folder is the user's own
(``$ROBOT_US_CACHE``, else ``$XDG_CACHE_HOME/robot-us``, else ``~/.cache/robot-us``),
created with mode 0700 and refused if another user owns it or others may write to it;
a file's name carries the SHA-256 of its content, and an existing file is used only if
its bytes hash to that name (else it is rewritten, atomically)."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

#: Hex digits of the content hash in a cached file's name.
HASH_CHARS = 32


class CacheDirError(PermissionError):
    """The cache folder is not safely the user's own (message names it and why)."""


def cache_dir() -> Path:
    """The user's cache folder for robot-us, created (0700) and checked."""
    env = os.environ.get("ROBOT_US_CACHE")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "robot-us"
    return checked_dir(path)


def checked_dir(path: Path) -> Path:
    """``path`` created with mode 0700 if missing; refused if it is not a folder owned by
    this user, and made private (0700) if others could write to it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise CacheDirError(f"cache {path} is not a folder")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise CacheDirError(f"cache folder {path} belongs to another user; not using it")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        os.chmod(path, 0o700)
    return path


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def cached_file(folder: Path, stem: str, suffix: str, content: bytes) -> Path:
    """The path of ``content`` in ``folder`` as ``<stem>-<hash><suffix>``: an existing
    file is used only if its bytes hash to the name, otherwise it is written anew
    (atomically, so parallel processes never read half a file)."""
    path = folder / f"{stem}-{_digest(content)}{suffix}"
    try:
        if (
            path.is_file()
            and not path.is_symlink()
            and _digest(path.read_bytes()) == _digest(content)
        ):
            return path
    except OSError:
        pass  # unreadable: rewrite it below
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
