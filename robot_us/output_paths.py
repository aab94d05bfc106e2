"""Where commands write, one policy for all of them: output never silently replaces an
earlier run and a folder never mixes two runs.

- A command that writes one file (``map-stroke``, ``plan``, ``calibrate``, ``sim-scene``,
  ``quality``, ``train-quality``) refuses an ``--out`` that exists, naming it, unless
  ``--overwrite`` is given. The file is written beside its target under a temporary name
  and renamed onto it only once complete, so a failed or interrupted command never leaves
  a half-written file nor destroys the earlier one.
- A command that writes a folder (``demo``, ``recording export``) refuses an ``--out``
  that exists and is not empty, naming what is in it. There is no overwrite for folders:
  choose a new folder or remove the old one.

A refusal is an ``OutputExistsError`` (an input error: the command line exits with 2).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: Entries of an occupied folder named in a refusal (the rest are counted).
MAX_NAMED = 5


class OutputExistsError(ValueError):
    """The output would replace an earlier run's files (the message names them)."""


def add_overwrite_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--overwrite`` flag of a command that writes one file."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output file (default: refuse)",
    )


def check_new_file(path: str | Path, overwrite: bool = False) -> Path:
    """``path`` as an output file: refused if it is a folder, or exists and ``overwrite``
    is False. Missing parent folders are created."""
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"output {path} is a folder; give a file name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputExistsError(
            f"output file {path} already exists; give another name or --overwrite"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def new_file(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Write an output file safely: checks ``path`` (``check_new_file``), yields a
    temporary path in the same folder with the same suffix, and renames it onto ``path``
    when the block ends without an error (without replacing a file that appeared
    meanwhile, unless ``overwrite``); on an error the temporary file is removed."""
    path = check_new_file(path, overwrite)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {path}")
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _link_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path``, refusing if ``path`` exists (atomic where hard links work)."""
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise OutputExistsError(
            f"output file {path} appeared while it was being written; left unchanged"
        ) from exc
    except OSError:  # no hard links on this file system: check, then rename
        if path.exists():
            raise OutputExistsError(f"output file {path} already exists") from None
        os.replace(tmp, path)


def new_folder(path: str | Path) -> Path:
    """``path`` as the folder of a new run: created (with its parents) if missing,
    accepted if empty, refused if it is a file or holds anything."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"output folder {path} is a file")
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir())
        if entries:
            named = ", ".join(entries[:MAX_NAMED])
            more = f" and {len(entries) - MAX_NAMED} more" if len(entries) > MAX_NAMED else ""
            raise OutputExistsError(
                f"output folder {path} already holds an earlier run ({named}{more}); "
                "give a new folder or remove it"
            )
    path.mkdir(parents=True, exist_ok=True)
    return path
