"""The events file contract (ROOT, written with uproot): what the array saw, plus Monte-Carlo truth.

One ROOT file per shard, ``data/sim/{dataset}/{shard}.root``:

* TTree ``events``, one entry per (event-triggered) event;
* TObjString ``airshower_meta``: JSON with ``schema_version``, ``trace_bins`` (T),
  ``bin_ns``, ``hadronic_models`` (code -> name), ``n_thrown`` (events simulated,
  triggered or not), the simulation config, the dataset name/seed/shard and package version.

Branches (units in brackets). Per-station quantities are records of jagged arrays that
share one length per event: ``station.<field>`` (observables) and ``mc_station.<field>``
(truth). Observables, what a real reconstruction sees:

==========================  =========  ================================================
``event_id``                int64      unique within a dataset
``event_t5``                bool       6T5: all six neighbours of the hottest station work
``station.id``              int32      index into the array (:mod:`airshower.detector`)
``station.x/.y/.z``         float32    station position [m] (array frame; z above sea level)
``station.signal``          float32    total signal [VEM] (after saturation)
``station.start_time``      float64    trace start time [ns], relative to the event's first
``station.saturated``       bool       high- and low-gain saturation flag
``station.triggered``       bool       station trigger (threshold or ToT)
``station.working``         bool       False for dead stations (which carry a zero trace)
``station_trace``           float32    jagged, flattened per event: nstation x T [VEM/bin]
==========================  =========  ================================================

Stations stored: every triggered station and every dead station within
:data:`DEAD_RECORD_RADIUS_M` of the core. Lattice cells inside the array that are not
stored are working but silent (as in real data, where silent stations are implicit).

Monte-Carlo truth, in fields whose names start with ``mc_`` (never an input):
``mc_mass`` (int32, A), ``mc_energy`` [eV], ``mc_zenith``/``mc_azimuth`` [rad],
``mc_core_x``/``mc_core_y`` [m], ``mc_xmax`` [g/cm2], ``mc_rmu`` (muon content relative to a
proton shower, global scale included), ``mc_muon_scale``, ``mc_hadronic_model`` (int8 code),
``mc_curvature_radius`` [m]; per station ``mc_station.signal_muon/.signal_em/.signal_em_mu/
.signal_em_had`` [VEM], the expected signal of each component.

uproot cannot write a ``var * T * float32`` branch that reads back, hence the flattened trace
with T in the metadata; :func:`read_events` restores the (event, station, T) shape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from airshower.errors import InputFileError

SCHEMA_VERSION = 1
TREE = "events"
META_KEY = "airshower_meta"
DEAD_RECORD_RADIUS_M = 12_000.0
HADRONIC_MODELS = {0: "EPOS-LHC", 1: "QGSJetII-04"}

EVENT_FIELDS: dict[str, str] = {
    "event_id": "int64",
    "event_t5": "bool",
    "mc_mass": "int32",
    "mc_energy": "float64",
    "mc_zenith": "float64",
    "mc_azimuth": "float64",
    "mc_core_x": "float64",
    "mc_core_y": "float64",
    "mc_xmax": "float64",
    "mc_rmu": "float32",
    "mc_muon_scale": "float32",
    "mc_hadronic_model": "int8",
    "mc_curvature_radius": "float32",
}
STATION_FIELDS: dict[str, str] = {
    "id": "int32",
    "x": "float32",
    "y": "float32",
    "z": "float32",
    "signal": "float32",
    "start_time": "float64",
    "saturated": "bool",
    "triggered": "bool",
    "working": "bool",
}
MC_STATION_FIELDS: dict[str, str] = {
    "signal_muon": "float32",
    "signal_em": "float32",
    "signal_em_mu": "float32",
    "signal_em_had": "float32",
}


def _jagged(values: np.ndarray, counts: np.ndarray, dtype: str) -> ak.Array:
    return ak.unflatten(np.asarray(values, dtype=dtype), np.asarray(counts, dtype=np.int64))


def build_chunk(
    events: Mapping[str, np.ndarray],
    counts: np.ndarray,
    stations: Mapping[str, np.ndarray],
    mc_stations: Mapping[str, np.ndarray],
    traces: np.ndarray,
) -> dict[str, Any]:
    """Assemble one chunk for :class:`EventWriter` from flat numpy arrays.

    ``events``: per-event arrays (keys of :data:`EVENT_FIELDS`); ``counts``: stations per
    event; ``stations``/``mc_stations``: flat per-station arrays (keys of
    :data:`STATION_FIELDS` / :data:`MC_STATION_FIELDS`), events one after the other;
    ``traces``: (total stations, T) [VEM/bin].
    """
    counts = np.asarray(counts, dtype=np.int64)
    missing = (set(EVENT_FIELDS) - set(events)) | {f"station_{k}" for k in set(STATION_FIELDS) - set(stations)}
    missing |= {f"mc_station_{k}" for k in set(MC_STATION_FIELDS) - set(mc_stations)}
    if missing:
        raise ValueError(f"build_chunk: missing fields {sorted(missing)}")
    n_total = int(counts.sum())
    if traces.ndim != 2 or traces.shape[0] != n_total:
        raise ValueError(f"build_chunk: traces of shape {traces.shape}, expected ({n_total}, T)")
    chunk: dict[str, Any] = {k: np.asarray(events[k], dtype=t) for k, t in EVENT_FIELDS.items()}
    chunk["station"] = ak.zip({k: _jagged(stations[k], counts, t) for k, t in STATION_FIELDS.items()})
    chunk["mc_station"] = ak.zip({k: _jagged(mc_stations[k], counts, t) for k, t in MC_STATION_FIELDS.items()})
    chunk["station_trace"] = _jagged(traces.reshape(-1), counts * traces.shape[1], "float32")
    return chunk


class EventWriter:
    """Writes one events file in chunks, atomically: a temporary name, renamed on success.

    Use as a context manager; if the block raises (or the process dies), no file is left
    under the final name, and the temporary file is removed where possible.
    """

    def __init__(self, path: str | Path, meta: Mapping[str, Any], compression: Any = None) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.meta = {"schema_version": SCHEMA_VERSION, "hadronic_models": HADRONIC_MODELS, **dict(meta)}
        if "trace_bins" not in self.meta or "bin_ns" not in self.meta:
            raise ValueError("EventWriter: meta needs 'trace_bins' and 'bin_ns'")
        self.compression = compression if compression is not None else uproot.ZLIB(1)
        self._file: Any = None
        self._tree: Any = None

    def __enter__(self) -> EventWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = uproot.recreate(self.tmp, compression=self.compression)
        return self

    def write(self, chunk: Mapping[str, Any]) -> None:
        """Append one chunk (from :func:`build_chunk`)."""
        if len(chunk["event_id"]) == 0:
            return
        if self._tree is None:
            self._file[TREE] = dict(chunk)
            self._tree = self._file[TREE]
        else:
            self._tree.extend(dict(chunk))

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            if exc_type is None:
                if self._tree is None:  # no event triggered: an empty but valid tree
                    self._file.mktree(TREE, _empty_branch_types())
                self._file[META_KEY] = json.dumps(self.meta, sort_keys=True)
            self._file.close()
        finally:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            elif self.tmp.exists():
                self.tmp.unlink()


def _empty_branch_types() -> dict[str, Any]:
    types: dict[str, Any] = dict(EVENT_FIELDS)
    for k, t in STATION_FIELDS.items():
        types[f"station_{k}"] = f"var * {t}"
    for k, t in MC_STATION_FIELDS.items():
        types[f"mc_station_{k}"] = f"var * {t}"
    types["station_trace"] = "var * float32"
    return types


def read_meta(path: str | Path) -> dict[str, Any]:
    """The metadata of an events file; checks that it is ROOT and of a known schema version."""
    path = Path(path)
    try:
        with uproot.open(path) as handle:
            if META_KEY not in handle:
                raise InputFileError(f"{path}: no '{META_KEY}' metadata: not an airshower events file")
            meta = json.loads(str(handle[META_KEY]))
            if TREE not in handle:
                raise InputFileError(f"{path}: no TTree '{TREE}'")
    except InputFileError:
        raise
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except Exception as exc:  # uproot raises many types for non-ROOT or truncated files
        raise InputFileError(f"{path}: cannot be read as a ROOT file ({type(exc).__name__}: {exc})") from exc
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputFileError(
            f"{path}: events schema version {version!r}, this reader knows version {SCHEMA_VERSION}"
        )
    return meta


def read_events(path: str | Path, entry_start: int | None = None, entry_stop: int | None = None) -> ak.Array:
    """Read (a range of) one events file into memory, traces shaped (event, station, T).

    Meant for tests, validation and small files; bulk conversion streams with uproot.iterate.
    """
    meta = read_meta(path)
    with uproot.open(path) as handle:
        arrays = handle[TREE].arrays(entry_start=entry_start, entry_stop=entry_stop)
    return with_trace_shape(arrays, int(meta["trace_bins"]))


def with_trace_shape(arrays: ak.Array, trace_bins: int) -> ak.Array:
    """Replace the flattened ``station_trace`` by one of shape (event, station, T)."""
    flat = arrays["station_trace"]
    counts = ak.num(flat, axis=1)
    per_station = ak.unflatten(ak.flatten(flat), trace_bins)
    traces = ak.unflatten(per_station, counts // trace_bins)
    return ak.with_field(arrays, traces, "station_trace")


def iterate_events(
    paths: Sequence[str | Path], step_size: int = 10_000, filter_name: Any = None
) -> Iterator[tuple[ak.Array, dict[str, Any]]]:
    """Stream events of several files in chunks of at most ``step_size`` events.

    Yields (arrays, meta) with flattened traces (``station_trace``: nstation*T per event).
    """
    for path in paths:
        meta = read_meta(path)
        with uproot.open(path) as handle:
            for arrays in handle[TREE].iterate(step_size=step_size, filter_name=filter_name):
                yield arrays, meta
