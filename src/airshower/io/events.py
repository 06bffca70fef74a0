"""The events file contract (ROOT, written with uproot): what the array saw, plus Monte-Carlo truth.

One ROOT file per shard, ``data/{study}/sim/{dataset}/{shard}.root`` for the simulator (the
contract for other producers: docs/events-format.md):

* TTree ``events``, one entry per (event-triggered) event;
* compression: LZ4 level 1 by default (:func:`default_compression`); the readers take any
  of ROOT's codecs (ZLIB, LZMA, LZ4, ZSTD), as each page names its own;
* TObjString ``airshower_meta``: JSON with ``schema_version``, ``trace_bins`` (T),
  ``bin_ns``, ``hadronic_models`` (code -> name), ``n_thrown`` (events simulated,
  triggered or not), the simulation config, the dataset name/seed/shard and package version.

Branches (units in brackets). Per-station quantities are records of jagged arrays that
share one length per event: ``station.<field>`` (observables) and ``mc_station.<field>``
(truth). Observables, what a real reconstruction sees:

==========================  =========  ================================================
``event_id``                int64      unique within a dataset
``event_t5``                bool       6T5: all six neighbours of the hottest station work
``station.id``              int32      index into the SD-1500 array (:func:`airshower.detector.array.sd1500`);
                                       a producer's own ids with ``positions: site`` (docs/events-format.md)
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
``mc_core_x``/``mc_core_y`` [m], ``mc_xmax`` [g/cm2], ``mc_rmu`` (muon content relative to an
EPOS-LHC proton shower of the same energy and zenith, ``muon_scale`` included),
``mc_muon_scale`` (the data/simulation factor at the event's energy), ``mc_hadronic_model`` (int8 code),
``mc_curvature_radius`` [m]; per station ``mc_station.signal_muon/.signal_em/.signal_em_mu/
.signal_em_had`` [VEM], the expected signal of each component.

uproot cannot write a ``var * T * float32`` branch that reads back, hence the flattened trace
with T in the metadata; :func:`read_events` restores the (event, station, T) shape.

Reading side: :func:`read_meta` (ROOT? known schema version?), :func:`read_events` and
:func:`iterate_events` (awkward arrays, for tests and small files), and
:func:`iterate_station_chunks`, the bulk reader of the converter: bounded chunks of flat
numpy arrays, cut on the file's cluster boundaries (so that no page is inflated twice),
each checked against the contract (branches present, station arrays of one
length per event, trace length = nstation * T, unique station ids per event, ids on the
array, finite values) with errors that name the file, the entries and the event.
Note: uproot writes the tree with record fields ``station.<field>``; files of an older
writer whose empty trees held flat ``station_<field>`` names are read too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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


def default_compression() -> Any:
    """The events files' compression: ``uproot.LZ4(1)``.

    Inflating ZLIB level 1 was the largest cost of the convert stage; with LZ4 reading takes
    less than half the CPU time (12.6 against 27.0 us per event; ZSTD(1) 17.1), for files
    1/3 larger (100 000 simulated events: 320 MB against 240 MB; ZSTD(1) 227 MB). Writing is
    faster too (1.7 against 7.4 CPU s for those events). Figures: docs/benchmarks.md.
    Readers take any of ROOT's algorithms: uproot reads the codec from each page header.
    uproot >= 5.3 (the package's floor) inflates LZ4 with cramjam and checks its pages with
    xxhash, both requirements of uproot itself.
    """
    return uproot.LZ4(1)


class EventWriter:
    """Writes one events file in chunks, atomically: a temporary name, renamed on success.

    Use as a context manager; if the block raises (or the process dies), no file is left
    under the final name, and the temporary file is removed where possible. ``compression``:
    an uproot compression (``uproot.ZLIB(1)``, ``uproot.ZSTD(1)``...); default
    :func:`default_compression` (LZ4 level 1). Each :meth:`write` becomes one cluster of
    the file, the unit a reader decompresses.
    """

    def __init__(self, path: str | Path, meta: Mapping[str, Any], compression: Any = None) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.meta = {"schema_version": SCHEMA_VERSION, "hadronic_models": HADRONIC_MODELS, **dict(meta)}
        if "trace_bins" not in self.meta or "bin_ns" not in self.meta:
            raise ValueError("EventWriter: meta needs 'trace_bins' and 'bin_ns'")
        self.compression = compression if compression is not None else default_compression()
        self._file: Any = None
        self._tree: Any = None

    def __enter__(self) -> EventWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = uproot.recreate(self.tmp, compression=self.compression)
        return self

    def write(self, chunk: Mapping[str, Any]) -> None:
        """Append one chunk (from :func:`build_chunk`)."""
        if len(chunk["event_id"]) == 0 and self._tree is not None:
            return
        if self._tree is None:
            self._file[TREE] = dict(chunk)
            self._tree = self._file[TREE]
        else:
            self._tree.extend(dict(chunk))

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            if exc_type is None:
                if self._tree is None:  # no event triggered: an empty tree of the same layout
                    self.write(empty_chunk(int(self.meta["trace_bins"])))
                self._file[META_KEY] = json.dumps(self.meta, sort_keys=True)
            self._file.close()
        finally:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            elif self.tmp.exists():
                self.tmp.unlink()


def empty_chunk(trace_bins: int) -> dict[str, Any]:
    """A chunk of zero events (same branch layout as a full one)."""
    no_station = np.zeros(0)
    return build_chunk(
        {k: np.zeros(0) for k in EVENT_FIELDS},
        np.zeros(0, dtype=np.int64),
        {k: no_station for k in STATION_FIELDS},
        {k: no_station for k in MC_STATION_FIELDS},
        np.zeros((0, trace_bins), dtype=np.float32),
    )


def _short(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def read_meta(path: str | Path) -> dict[str, Any]:
    """The metadata of an events file; checks that it is ROOT and of a known schema version."""
    path = Path(path)
    try:
        with uproot.open(path) as handle:
            if META_KEY not in handle:
                raise InputFileError(f"{path}: no '{META_KEY}' metadata: not an airshower events file")
            text = str(handle[META_KEY])
            if TREE not in handle:
                raise InputFileError(f"{path}: no TTree '{TREE}'")
    except InputFileError:
        raise
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except Exception as exc:  # uproot raises many types for non-ROOT or truncated files
        raise InputFileError(
            f"{path}: cannot be read as a ROOT file: not ROOT, truncated or damaged ({_short(exc)})"
        ) from exc
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: '{META_KEY}' is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise InputFileError(f"{path}: '{META_KEY}' must be a JSON object, got {type(meta).__name__}")
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
    values = ak.to_numpy(ak.flatten(flat))
    per_station = ak.from_numpy(values.reshape(-1, trace_bins), regulararray=False)
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


# --- bulk reading with validation ----------------------------------------------------------


@dataclass
class StationChunk:
    """A bounded chunk of one events file as flat numpy arrays, validated against the contract.

    ``events``: per-event arrays (n,); ``counts``: stations per event (n,) int64;
    ``stations``: per-station arrays, events one after the other (sum(counts),);
    ``traces``: (sum(counts), T) float32 [VEM/bin], or None when not read;
    ``entry_start``: index of the chunk's first event in the file; ``event_paths``: the file
    of every event where a chunk spans several files (sources with one file per event), so
    that messages name the right one.
    """

    path: Path
    entry_start: int
    events: dict[str, np.ndarray]
    counts: np.ndarray
    stations: dict[str, np.ndarray]
    traces: np.ndarray | None
    event_paths: Sequence[Path] | None = None

    @property
    def n_events(self) -> int:
        return int(self.counts.size)

    def station_event(self) -> np.ndarray:
        """(sum(counts),) int64: the event (0..n-1 within the chunk) of every station."""
        return np.repeat(np.arange(self.n_events, dtype=np.int64), self.counts)

    def where(self, event: int) -> str:
        """'<file>: entry <i> (event_id <id>)' for messages about one event of the chunk
        ('<file> (event_id <id>)' with ``event_paths``)."""
        ids = self.events.get("event_id")
        label = f" (event_id {int(ids[event])})" if ids is not None and ids.size > event else ""
        if self.event_paths is not None:
            return f"{self.event_paths[int(event)]}{label}"
        entry = self.entry_start + int(event)
        return f"{self.path}: entry {entry}{label}"


def _layout(keys: set[str], path: Path) -> str:
    """'record' (station.<field>, RNTuple) or 'flat' (station_<field>, TTree)."""
    if "station.id" in keys or "station" in keys:
        return "record"
    if "station_id" in keys:
        return "flat"
    raise InputFileError(f"{path}: tree '{TREE}' has no station branches ('station.id' or 'station_id')")


def truth_present(path: str | Path, fields: Sequence[str]) -> bool:
    """Whether the events file holds the Monte-Carlo truth ``fields``: all (True) or none (False).

    Truth is optional (real data have none); a file with some but not all of them breaks the
    contract: :class:`InputFileError` naming the missing branches.
    """
    path = Path(path)
    try:
        with uproot.open(path) as handle:
            keys = set(handle[TREE].keys())
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input here
        raise InputFileError(f"{path}: cannot read tree '{TREE}' ({_short(exc)})") from exc
    missing = [f for f in fields if f not in keys]
    if missing and len(missing) < len(fields):
        raise InputFileError(f"{path}: tree '{TREE}' holds part of the Monte-Carlo truth; it lacks {missing} "
                             "(a file has all truth fields or none)")
    return not missing


def _branch_names(keys: set[str], path: Path, event_fields: Sequence[str], station_fields: Sequence[str]) -> list[str]:
    """Names to read for these fields; raises InputFileError naming every missing branch."""
    layout = _layout(keys, path)
    sep = "." if layout == "record" else "_"
    wanted = list(event_fields) + [f"station{sep}{f}" for f in station_fields] + ["station_trace"]
    missing = [w for w in wanted if w not in keys]
    if missing:
        raise InputFileError(f"{path}: tree '{TREE}' lacks the branch(es) {missing}")
    names = list(event_fields) + ["station_trace"]
    names += ["station"] if layout == "record" else [f"station_{f}" for f in station_fields]
    return names


def cluster_starts(tree: Any, names: Sequence[str] = ()) -> list[int]:
    """Entries where the tree's clusters (RNTuple) or common basket boundaries (TTree) start.

    Ascending, from 0, without the end. uproot inflates whole clusters (baskets) to read any
    entry of them, so ranges that begin and end on these boundaries inflate every page once;
    ``[0]`` where the layout is unknown. ``names``: the branches to be read (TTree only).
    """
    summaries = getattr(tree, "cluster_summaries", None)
    if summaries is not None:
        starts = [int(c.num_first_entry) for c in summaries]
    elif hasattr(tree, "common_entry_offsets"):
        starts = [int(x) for x in tree.common_entry_offsets(filter_name=list(names) or None)[:-1]]
    else:
        starts = []
    return sorted({0, *starts})


def entry_ranges(starts: Sequence[int], n_entries: int, step_size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most ``step_size`` entries covering ``0..n_entries``, each
    ending on a cluster boundary of ``starts`` where one lies within reach (greedy: as many
    whole clusters as fit); a cluster larger than ``step_size`` is cut into pieces of
    ``step_size`` (uproot then inflates it once per piece)."""
    if step_size < 1:
        raise ValueError(f"step_size must be >= 1, got {step_size}")
    bounds = np.unique(np.clip(np.asarray([*starts, n_entries], dtype=np.int64), 0, n_entries))
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < n_entries:
        reach = np.searchsorted(bounds, start + step_size, side="right") - 1  # last boundary <= start + step
        stop = int(bounds[reach]) if bounds[reach] > start else min(start + step_size, n_entries)
        ranges.append((start, stop))
        start = stop
    return ranges


@contextmanager
def open_events_tree(path: Path) -> Iterator[tuple[Any, set[str], int]]:
    """(the tree ``events``, its branch names, its number of entries) of an events file, open for
    reading (no array cache); InputFileError naming the file when it is not ROOT or has no such tree."""
    try:
        handle = uproot.open(path, array_cache=None)
    except Exception as exc:  # uproot raises many types for non-ROOT or truncated files
        raise InputFileError(f"{path}: cannot be read as a ROOT file ({_short(exc)})") from exc
    with handle:
        try:
            tree = handle[TREE]
            keys = set(tree.keys())
            n_entries = int(tree.num_entries)
        except Exception as exc:
            raise InputFileError(f"{path}: cannot read tree '{TREE}' ({_short(exc)})") from exc
        yield tree, keys, n_entries


def iterate_station_chunks(
    path: str | Path,
    step_size: int,
    event_fields: Sequence[str],
    station_fields: Sequence[str] = tuple(STATION_FIELDS),
    meta: Mapping[str, Any] | None = None,
    n_stations: int | None = None,
) -> Iterator[StationChunk]:
    """Stream one events file in chunks of at most ``step_size`` events, each flattened to
    numpy and validated (see :func:`validate_chunk`).

    Chunks end on the file's cluster boundaries where possible (:func:`entry_ranges`), so
    that no compressed page is inflated twice; their sizes therefore vary (e.g. five of the
    simulator's clusters of ~996 events for a step of 5000). Only the named event fields, the station fields and
    the traces are read. Raises :class:`InputFileError` naming the file (and entry/event)
    for anything off-contract. ``n_stations``: size of the array the station ids index (ids
    outside 0..n_stations-1 are refused; None: not checked here).
    """
    path = Path(path)
    meta = dict(meta) if meta is not None else read_meta(path)
    trace_bins = meta.get("trace_bins")
    if not isinstance(trace_bins, int) or isinstance(trace_bins, bool) or trace_bins < 1:
        raise InputFileError(f"{path}: metadata 'trace_bins' = {trace_bins!r}, expected a positive integer")
    if step_size < 1:
        raise ValueError(f"step_size must be >= 1, got {step_size}")
    with open_events_tree(path) as (tree, keys, n_entries):
        names = _branch_names(keys, path, event_fields, station_fields)
        if n_entries == 0:
            return
        try:
            starts = cluster_starts(tree, names)
        except Exception as exc:
            raise InputFileError(f"{path}: cannot read the cluster layout of tree '{TREE}' ({_short(exc)})") from exc
        for start, stop in entry_ranges(starts, n_entries, step_size):
            try:
                arrays = tree.arrays(filter_name=names, entry_start=start, entry_stop=stop)
            except Exception as exc:  # decompression / deserialisation errors of damaged files
                raise InputFileError(
                    f"{path}: cannot read the events from entry {start} of {n_entries} "
                    f"({_short(exc)}); truncated or damaged file?"
                ) from exc
            yield _flatten(arrays, path, start, trace_bins, event_fields, station_fields, n_stations)


def _station_field(arrays: ak.Array, name: str) -> ak.Array:
    return arrays["station", name] if "station" in arrays.fields else arrays[f"station_{name}"]


def _flatten(
    arrays: ak.Array,
    path: Path,
    entry_start: int,
    trace_bins: int,
    event_fields: Sequence[str],
    station_fields: Sequence[str],
    n_stations: int | None = None,
) -> StationChunk:
    events = {f: np.asarray(ak.to_numpy(arrays[f])) for f in event_fields}
    counts = None
    stations: dict[str, np.ndarray] = {}
    lengths: dict[str, np.ndarray] = {}
    for f in station_fields:
        jagged = _station_field(arrays, f)
        lengths[f] = np.asarray(ak.num(jagged, axis=1), dtype=np.int64)
        stations[f] = np.asarray(ak.to_numpy(ak.flatten(jagged, axis=1)))
        if counts is None:
            counts = lengths[f]
    if counts is None:
        counts = np.zeros(len(arrays), dtype=np.int64)
    flat_traces = arrays["station_trace"]
    trace_len = np.asarray(ak.num(flat_traces, axis=1), dtype=np.int64)
    values = np.asarray(ak.to_numpy(ak.flatten(flat_traces, axis=1)), dtype=np.float32)
    chunk = StationChunk(path, entry_start, events, counts, stations, None)
    validate_chunk(chunk, lengths, trace_len, trace_bins, n_stations)
    chunk.traces = values.reshape(-1, trace_bins)
    check_finite_traces(chunk)
    return chunk


def check_station_lengths(chunk: StationChunk, lengths: Mapping[str, np.ndarray]) -> None:
    """Every station field has ``chunk.counts`` entries per event (``lengths``: field -> entries
    per event); InputFileError naming the file, entry, event and field otherwise."""
    for name, n in lengths.items():
        bad = np.flatnonzero(n != chunk.counts)
        if bad.size:
            e = int(bad[0])
            raise InputFileError(
                f"{chunk.where(e)}: station arrays disagree in length: 'station.{name}' has {int(n[e])} "
                f"entries, 'station.id' {int(chunk.counts[e])}"
            )


def validate_chunk(
    chunk: StationChunk,
    lengths: Mapping[str, np.ndarray],
    trace_len: np.ndarray,
    trace_bins: int,
    n_stations: int | None = None,
    nan_allowed: Sequence[str] = (),
) -> None:
    """Check one chunk against the contract; raise InputFileError naming file, entry and event.

    ``lengths``: stations per event of each station field; ``trace_len``: values of the
    flattened trace per event. Checks: station arrays of one length per event, trace length
    = nstation * T, station ids unique within an event and on the array, finite positions,
    signals and (for working stations) start times, finite float event fields.
    ``n_stations``: ids must lie in 0..n_stations-1 (None: only >= 0); ``nan_allowed``: float
    event fields where NaN means "none" (a source's reference values), only +-inf refused.
    """
    counts = chunk.counts
    check_station_lengths(chunk, lengths)
    bad = np.flatnonzero(trace_len != counts * trace_bins)
    if bad.size:
        e = int(bad[0])
        raise InputFileError(
            f"{chunk.where(e)}: station_trace holds {int(trace_len[e])} values, expected nstation x T = "
            f"{int(counts[e])} x {trace_bins} = {int(counts[e]) * trace_bins}"
        )
    st = chunk.stations
    ev = chunk.station_event()
    if "id" in st and st["id"].size:
        ids = st["id"].astype(np.int64)
        limit = np.iinfo(np.int64).max if n_stations is None else int(n_stations)
        off = np.flatnonzero((ids < 0) | (ids >= limit))
        if off.size:
            s = int(off[0])
            span = "a non-negative index" if n_stations is None else f"0..{limit - 1}"
            raise InputFileError(f"{chunk.where(int(ev[s]))}: station id {int(ids[s])} is not on the array ({span})")
        span = int(ids.max()) + 1
        key = np.sort(ev * span + ids)
        dup = np.flatnonzero(key[1:] == key[:-1])
        if dup.size:
            k = int(key[dup[0]])
            raise InputFileError(f"{chunk.where(k // span)}: station id {k % span} appears twice")
    working = st.get("working")
    for name in ("x", "y", "z", "signal", "start_time"):
        if name not in st:
            continue
        values = st[name]
        bad_mask = ~np.isfinite(values)
        if name == "start_time" and working is not None:
            bad_mask &= working  # a dead station has no start time
        bad = np.flatnonzero(bad_mask)
        if bad.size:
            s = int(bad[0])
            raise InputFileError(
                f"{chunk.where(int(ev[s]))}: station {int(st['id'][s]) if 'id' in st else s} has "
                f"station.{name} = {float(values[s])} (NaN or infinite)"
            )
    for name, values in chunk.events.items():
        if np.issubdtype(values.dtype, np.floating):
            bad = np.flatnonzero(np.isinf(values) if name in nan_allowed else ~np.isfinite(values))
            if bad.size:
                e = int(bad[0])
                raise InputFileError(f"{chunk.where(e)}: {name} = {float(values[e])} (NaN or infinite)")


def check_finite_traces(chunk: StationChunk) -> None:
    """Raise InputFileError naming the first station whose trace holds NaN or inf."""
    traces = chunk.traces
    if traces is None or traces.size == 0 or np.isfinite(traces.sum(axis=1)).all():
        return  # one pass: a NaN or inf anywhere shows in its row's sum
    bad = np.flatnonzero(~np.isfinite(traces).all(axis=1))
    if bad.size == 0:
        return  # a row sum overflowed on finite values
    row = int(bad[0])
    sid = int(chunk.stations["id"][row]) if "id" in chunk.stations else row
    raise InputFileError(
        f"{chunk.where(int(chunk.station_event()[row]))}: station {sid} has NaN or infinite values in its trace"
    )
