"""The kinds of data source and the dataset keys each one reads (``datasets.<name>.source``).

What the config check needs, without importing any source (whose readers need uproot,
awkward or json parsers): :mod:`airshower.sources.registry` maps each kind to its class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airshower.errors import ConfigError

DEFAULT_SOURCE = "simulate"
BUILT_IN = ("simulate", "files", "auger_opendata")
# kind -> the keys of a dataset entry it reads besides `source`
OPTIONS: dict[str, tuple[str, ...]] = {
    "simulate": ("events", "shards", "seed", "simulation"),
    "files": ("paths", "positions", "position_tolerance_m"),
    "auger_opendata": ("paths", "summary", "position_tolerance_m"),
}
# kinds whose events carry no Monte-Carlo truth (measured data): reconstructed, never trained or evaluated on
NO_TRUTH = frozenset({"auger_opendata"})


def source_kind(entry: Mapping[str, Any]) -> str:
    """The ``source`` of a dataset entry (``simulate`` when absent)."""
    return str(entry.get("source", DEFAULT_SOURCE))


def has_reference(entry: Mapping[str, Any]) -> bool:
    """Whether a dataset's events carry reference values: the Auger open data with the summary CSV
    (the fluorescence detector's Xmax and energy of hybrid events)."""
    return source_kind(entry) == "auger_opendata" and bool(entry.get("summary"))


def source_options(kind: str) -> tuple[str, ...]:
    """The dataset keys a source kind reads besides ``source`` (ConfigError for an unknown kind)."""
    if kind not in OPTIONS:
        raise ConfigError(f"source {kind!r}: choose one of {sorted(OPTIONS)}")
    return OPTIONS[kind]
