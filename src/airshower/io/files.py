"""A stage's files: an input that is missing or unreadable raises
:class:`~airshower.errors.InputFileError`, an output that cannot be written where asked
:class:`~airshower.errors.OutputFileError`, each naming the file and what is wrong (rather
than a bare OSError, and for outputs before any work is done)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from airshower.errors import InputFileError, OutputFileError


def require_file(path: str | Path, what: str, stage: str | None = None) -> Path:
    """``path`` as a Path; ``<path>: <what> not found (run `airshower <stage>` first)`` when it is no file."""
    path = Path(path)
    if not path.is_file():
        hint = f" (run `airshower {stage}` first)" if stage else ""
        raise InputFileError(f"{path}: {what} not found{hint}")
    return path


def read_json(path: str | Path, what: str, stage: str | None = None) -> Any:
    """The content of a JSON file (UTF-8); missing file as in :func:`require_file`, bad JSON named."""
    path = require_file(path, what, stage)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: not valid JSON ({exc})") from exc


def open_hdf5(path: str | Path, what: str, stage: str | None = None) -> Any:
    """An HDF5 file (``h5py.File``) opened for reading (the caller closes it); missing or not HDF5: InputFileError."""
    import h5py  # here: the simulate stage's environment has no h5py

    path = require_file(path, what, stage)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"{path}: not a readable HDF5 file ({exc})") from exc


def require_writable(path: str | Path, what: str, directory: bool = False) -> Path:
    """``path`` as a Path once it is clear that the stage can write it; creates nothing.

    ``directory``: ``path`` is the folder the outputs go into. The nearest folder of the path
    that exists must be a folder in which a file can be created (probed with a temporary file,
    removed again); the stage makes the missing folders below it when it writes. Raises
    :class:`OutputFileError` naming the path otherwise, or when a file is to replace a folder.
    """
    path = Path(path)
    if not directory and path.is_dir():
        raise OutputFileError(f"{path}: the {what} would replace a folder; give a file name")
    existing = (path if directory else path.parent).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputFileError(f"{path}: cannot write the {what} there ({existing} is a file, not a folder)")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".airshower-write-test-"):
            pass
    except OSError as exc:
        raise OutputFileError(f"{path}: cannot write the {what} there ({exc.strerror or exc})") from exc
    return path
