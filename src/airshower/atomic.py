"""Write a file under a temporary name and rename it into place, so nothing partial is left behind.

The temporary file lies beside the target (same folder, so the rename is atomic on POSIX):
``.<name>.tmp-<pid>-<n><suffix>``. A reader, or a run killed half-way, sees the old file or
the new one, never a partial one. With ``durable=True`` the new file's data is flushed to disk
(fsync) before the rename and the folder after it, so that this holds after a power loss too
(checkpoints, provenance records).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_COUNTER = itertools.count()  # distinct temporary names for concurrent writes within one process


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Flush a folder's entries (the rename) to disk; skipped where the platform cannot."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, suffix: str = "", *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    ``suffix`` is appended to the temporary name (matplotlib picks the format from it).
    Parent folders are created. ``durable``: fsync the file before and its folder after the
    rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{next(_COUNTER)}{suffix}")
    try:
        yield tmp
        if durable:
            _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if durable:
        _fsync_dir(path.parent)


def write_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path` for ``durable``)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
