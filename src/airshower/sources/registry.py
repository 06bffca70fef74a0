"""Which class reads each kind of data source, and what a dataset reads.

:func:`input_files` lists the files of a dataset (the workflow's inputs of its convert job);
:func:`open_source` makes the :class:`~airshower.sources.base.EventSource` the converter
reads; :func:`register` adds a source from user code (docs/extending.md).
"""

from __future__ import annotations

import glob
import importlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airshower import layout
from airshower.errors import ConfigError
from airshower.sources.kinds import BUILT_IN, OPTIONS, source_kind

if TYPE_CHECKING:  # the interface imports numpy: listing a dataset's files (the workflow, planning) needs none
    from airshower.sources.base import EventSource

# kind -> its EventSource subclass, as "module:Class" (imported on use, so that reading one
# kind never imports another's dependencies) or the class itself (registered at run time)
CLASSES: dict[str, str | type[EventSource]] = {
    "simulate": "airshower.sources.root_files:SimulatedSource",
    "files": "airshower.sources.root_files:RootEventsSource",
    "auger_opendata": "airshower.sources.auger_opendata:AugerOpenDataSource",
}


def register(cls: type[EventSource]) -> None:
    """Add a source for the running process under ``cls.kind`` (its dataset keys: ``cls.options``).

    The workflow validates its config with the schema file, which lists the built-in kinds;
    a source meant for the workflow goes into :data:`CLASSES`, :data:`airshower.sources.kinds.OPTIONS`
    and that file's enum instead.
    """
    from airshower.sources.base import EventSource

    if not (isinstance(cls, type) and issubclass(cls, EventSource)):
        raise TypeError(f"register: {cls!r} is not an EventSource subclass")
    CLASSES[cls.kind] = cls
    OPTIONS[cls.kind] = tuple(cls.options)


def unregister(kind: str) -> None:
    """Remove a source added with :func:`register` (built-in kinds stay)."""
    if kind in BUILT_IN:
        raise ValueError(f"unregister: {kind!r} is built in")
    CLASSES.pop(kind, None)
    OPTIONS.pop(kind, None)


def _shard_key(path: Path) -> tuple[int, int | str]:
    """Numbered files in numeric order (0, 1, 2, ..., 10), then the others by name."""
    return (0, int(path.stem)) if re.fullmatch(r"\d+", path.stem) else (1, path.stem)


def expand_paths(patterns: Sequence[str], what: str) -> list[Path]:
    """Files matching ``patterns`` (paths or globs, relative to the working folder), patterns in
    order, the matches of each in shard order, each file once. ConfigError naming a pattern
    that matches nothing (``what``: the config key, for the message)."""
    files: list[Path] = []
    seen: set[Path] = set()
    for pattern in patterns:
        matches = sorted((Path(m) for m in glob.glob(str(pattern), recursive=True)), key=_shard_key)
        matches = [m for m in matches if m.is_file()]
        if not matches:
            raise ConfigError(f"{what}: {pattern!r} matches no file (paths are relative to {Path.cwd()})")
        for m in matches:
            if m not in seen:
                seen.add(m)
                files.append(m)
    return files


def input_files(study: str, dataset: str, entry: Mapping[str, Any]) -> list[Path]:
    """Every file the dataset's events are read from, in order (the convert job's inputs)."""
    kind = source_kind(entry)
    where = f"datasets.{dataset}"
    if kind == "simulate":
        return [layout.shard_file(study, dataset, s) for s in range(int(entry.get("shards", 1)))]
    if kind not in CLASSES:
        raise ConfigError(f"{where}.source = {kind!r}: choose one of {sorted(CLASSES)}")
    if "paths" not in entry:
        raise ConfigError(f"{where}: source {kind!r} needs 'paths' (files or globs)")
    files = expand_paths(entry["paths"], f"{where}.paths")
    if entry.get("summary"):
        summary = Path(entry["summary"])
        if not summary.is_file():
            raise ConfigError(f"{where}.summary = {str(summary)!r}: no such file")
        files.append(summary)
    return files


def source_class(kind: str) -> type[EventSource]:
    """The :class:`EventSource` subclass of a ``source`` kind (imported on use)."""
    if kind not in CLASSES:
        raise ConfigError(f"source {kind!r}: choose one of {sorted(CLASSES)}")
    target = CLASSES[kind]
    if isinstance(target, type):
        return target
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def open_source(entry: Mapping[str, Any], files: Sequence[str | Path]) -> EventSource:
    """The source of a dataset entry over ``files`` (what :func:`input_files` listed)."""
    return source_class(source_kind(entry)).from_entry(files, entry)
