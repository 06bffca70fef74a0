"""Opening a stage's input files: an :class:`~airshower.errors.InputFileError` that names the
file and what is wrong when one is missing or unreadable (rather than a bare OSError)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py

from airshower.errors import InputFileError


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


def open_hdf5(path: str | Path, what: str, stage: str | None = None) -> h5py.File:
    """An HDF5 file opened for reading (the caller closes it); missing or not HDF5: InputFileError."""
    path = require_file(path, what, stage)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"{path}: not a readable HDF5 file ({exc})") from exc
