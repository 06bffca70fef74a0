"""Convert the events files of a dataset into one hex-grid tensor file (the ``convert`` stage).

For every event, a window of G x G axial cells (:mod:`airshower.hexgrid`) is centred on the
hottest station: the triggered working station of largest total signal (ties: lowest
station id). Each cell gets

* its state (:class:`~airshower.io.tensors.StationState`): ABSENT where the array has no
  station, DEAD for stored stations that are not working, SILENT for lattice cells inside
  the array that are not stored (silent stations are implicit, as in real data) and for
  stored working untriggered ones, TRIGGERED, or SATURATED (triggered and saturated);
* its trace [VEM/bin] (stored working stations only), its start time relative to the
  hottest station [ns] (0 without a trace) and its position relative to the hottest
  station [m] (stored: the file's x, y, z; implicit silent: the array's; absent: 0).

Targets come from the Monte-Carlo truth fields only, each as its definition in
:mod:`airshower.targets` says: xmax = mc_xmax [g/cm2], lg_energy = log10(mc_energy / eV),
axis = (sin th cos ph, sin th sin ph, cos th) of mc_zenith th and mc_azimuth ph (the direction
the shower comes from; azimuth counter-clockwise from +x, the convention of the events file),
core = (mc_core_x, mc_core_y) minus the hottest station's (x, y) [m], ln_a = ln(mc_mass), and
the truth-only mass = mc_mass (A). No input reads a truth field, and truth is optional:
events files without it (measured data) convert to a tensor file without targets.

Everything is array operations on bounded chunks (at most ``convert.chunk_events`` events,
cut on the events file's cluster boundaries): no Python loop over events or stations.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airshower import layout
from airshower.detector.array import Array, sd1500
from airshower.errors import ConfigError, InputFileError
from airshower.hexgrid import check_grid_size, window_cells, window_index, xy_to_axial
from airshower.io.events import StationChunk
from airshower.io.files import require_writable
from airshower.io.tensors import (
    FLOAT16_MAX,
    META,
    TARGETS,
    TRACE_DTYPES,
    StationState,
    TensorChunk,
    TensorWriter,
    nonfinite_rows,
)
from airshower.sources.base import EventSource
from airshower.sources.kinds import source_kind
from airshower.sources.registry import input_files, open_source
from airshower.sources.root_files import RootEventsSource
from airshower.targets import truth_columns, truth_fields

EVENT_INPUT_FIELDS = ("event_id", "event_t5")
POSITION_TOLERANCE_M = 0.01  # float32 rounding of lattice positions in the file (~1e-4 m) is ignored


def hottest_station(chunk: StationChunk) -> np.ndarray:
    """(n,) index into the chunk's station arrays of each event's hottest station.

    The hottest station is the triggered working station of largest ``signal``; ties go to
    the lowest station id. Raises InputFileError for an event without a triggered station.
    """
    st = chunk.stations
    counts = chunk.counts
    candidate = st["triggered"] & st["working"]
    has = np.zeros(chunk.n_events, dtype=bool)
    ev = chunk.station_event()
    has[ev[candidate]] = True
    if not has.all():
        e = int(np.flatnonzero(~has)[0])
        raise InputFileError(f"{chunk.where(e)}: no triggered station; the events file holds triggered events only")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    signal = np.where(candidate, st["signal"].astype(np.float64), -np.inf)
    peak = np.maximum.reduceat(signal, starts)  # every event has >= 1 station here
    top = candidate & (signal == peak[ev])
    big = np.iinfo(np.int64).max
    ids = st["id"].astype(np.int64)
    lowest = np.minimum.reduceat(np.where(top, ids, big), starts)
    index = np.flatnonzero(top & (ids == lowest[ev]))  # ids are unique per event: one per event
    return index


def convert_chunk(
    chunk: StationChunk,
    grid_size: int,
    source: int | np.ndarray = 0,
    array: Array | None = None,
    trace_dtype: str = "float32",
    truth: bool = True,
    reference: Sequence[str] = (),
) -> TensorChunk:
    """Scatter the stations of one chunk into G x G windows around their hottest stations.

    ``source``: index of the chunk's file in the dataset (``meta/source``), one for the chunk
    or one per event; ``array``: the station layout the ids index (default SD-1500);
    ``trace_dtype``: type of the trace rows (float16 overflow raises InputFileError naming
    the event); ``truth``: compute the truth columns (the chunk holds the Monte-Carlo
    fields); ``reference``: per-event fields copied to the ``reference/`` group.
    """
    array = array if array is not None else sd1500()
    g = check_grid_size(grid_size)
    n = chunk.n_events
    st = chunk.stations
    if chunk.traces is None:
        raise ValueError("convert_chunk needs a chunk read with its traces")
    if n == 0:
        return _empty_chunk(g, chunk.traces.shape[1], trace_dtype)
    ev = chunk.station_event()
    ids = st["id"].astype(np.int64)
    working = st["working"].astype(bool)
    triggered = st["triggered"].astype(bool) & working
    saturated = st["saturated"].astype(bool)
    x = st["x"].astype(np.float64)
    y = st["y"].astype(np.float64)
    z = st["z"].astype(np.float64)
    q, r = array.q[ids], array.r[ids]

    cq, cr = xy_to_axial(x, y)
    off = np.flatnonzero((cq != q) | (cr != r))
    if off.size:
        s = int(off[0])
        offset = float(np.hypot(x[s] - array.x[ids[s]], y[s] - array.y[ids[s]]))
        raise InputFileError(
            f"{chunk.where(int(ev[s]))}: station {int(ids[s])} at ({x[s]:.0f}, {y[s]:.0f}) m lies in lattice "
            f"cell ({int(cq[s])}, {int(cr[s])}), but the array puts station {int(ids[s])} at ({int(q[s])}, {int(r[s])}), "
            f"{offset:.0f} m away"
        )

    hot = hottest_station(chunk)
    hid = ids[hot]
    hq, hr = q[hot], r[hot]
    hx, hy, hz = x[hot], y[hot], z[hot]
    ht = st["start_time"][hot].astype(np.float64)

    # every cell from the array: absent or (implicitly) silent, at its lattice position
    template = window_template(array, g)
    state = template.state[hid]
    on_array = state != StationState.ABSENT
    position = template.position[hid]  # relative to the hottest station's lattice position
    shift = np.stack([array.x[hid] - hx, array.y[hid] - hy, array.z[hid] - hz], axis=-1)
    moved = np.flatnonzero((np.abs(shift) > POSITION_TOLERANCE_M).any(axis=1))  # hottest stored off its lattice point
    if moved.size:
        position[moved] += np.where(on_array[moved, :, None], shift[moved, None, :], 0.0).astype(np.float32)
    start_time = np.zeros((n, g * g), dtype=np.float32)

    # stored stations inside the window overwrite their cell
    i, j, inside = window_index(q - hq[ev], r - hr[ev], g)
    cell = i * g + j
    flat = ev * (g * g) + cell
    sel = np.flatnonzero(inside)
    code = np.where(
        ~working,
        StationState.DEAD,
        np.where(triggered, np.where(saturated, StationState.SATURATED, StationState.TRIGGERED), StationState.SILENT),
    ).astype(np.int8)
    fs, es = flat[sel], ev[sel]
    state.reshape(-1)[fs] = code[sel]
    pos_flat = position.reshape(-1, 3)
    pos_flat[fs] = np.stack([x[sel] - hx[es], y[sel] - hy[es], z[sel] - hz[es]], axis=-1)
    rows = sel[working[sel]]
    start_time.reshape(-1)[flat[rows]] = st["start_time"][rows] - ht[ev[rows]]

    trace_cell = cell[rows].astype(np.int16)
    trace_count = np.bincount(ev[rows], minlength=n).astype(np.int64)
    trace_values = _to_trace_dtype(chunk, np.take(chunk.traces, rows, axis=0), trace_count, trace_dtype)
    n_outside = np.bincount(ev[triggered & ~inside], minlength=n).astype(np.int32)

    targets = event_targets(chunk, hx, hy) if truth else {}
    meta = {
        "event_id": chunk.events["event_id"].astype(np.int64),
        "source": np.broadcast_to(np.asarray(source, dtype=np.int32), (n,)).copy(),
        "n_outside": n_outside,
        "t5": chunk.events["event_t5"].astype(bool),
        "hottest_station": ids[hot].astype(np.int32),
    }
    return TensorChunk(
        trace_values, trace_cell, trace_count, start_time.reshape(n, g, g), state.reshape(n, g, g),
        position.reshape(n, g, g, 3), targets, meta,
        {k: np.asarray(chunk.events[k], dtype=np.float64) for k in reference},
    )


def _empty_chunk(g: int, trace_bins: int, trace_dtype: str) -> TensorChunk:
    return TensorChunk(
        np.zeros((0, trace_bins), dtype=trace_dtype), np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int64),
        np.zeros((0, g, g), dtype=np.float32),
        np.zeros((0, g, g), dtype=np.int8),
        np.zeros((0, g, g, 3), dtype=np.float32),
        {k: np.zeros((0, *shape), dtype=dtype) for k, (shape, dtype) in TARGETS.items()},
        {k: np.zeros((0, *shape), dtype=dtype) for k, (shape, dtype) in META.items()},
    )


@dataclass(frozen=True)
class WindowTemplate:
    """The window around every station of an array, before any event: what the lattice holds.

    ``state`` (n_stations, G*G) int8: SILENT where the array has a station, else ABSENT;
    ``position`` (n_stations, G*G, 3) float32 [m]: lattice position of each cell relative
    to the centre station (0 where absent). Indexing by the hottest station's id gives an
    event's background window (a gather instead of per-cell geometry).
    """

    state: np.ndarray
    position: np.ndarray


_TEMPLATES: dict[tuple[int, int], tuple[Array, WindowTemplate]] = {}


def window_template(array: Array, grid_size: int) -> WindowTemplate:
    """The (cached) :class:`WindowTemplate` of ``array`` for windows of ``grid_size``."""
    key = (id(array), int(grid_size))
    if key not in _TEMPLATES:
        g = check_grid_size(grid_size)
        wq, wr = window_cells(array.q, array.r, g)  # (n_stations, G, G)
        lattice = array.station_at(wq, wr).reshape(array.n, g * g)
        on = lattice >= 0
        lid = np.where(on, lattice, 0)
        state = np.where(on, np.int8(StationState.SILENT), np.int8(StationState.ABSENT)).astype(np.int8)
        position = np.stack(
            [np.where(on, c[lid] - c[:, None], 0.0) for c in (array.x, array.y, array.z)], axis=-1
        ).astype(np.float32)
        for a in (state, position):
            a.setflags(write=False)
        _TEMPLATES[key] = (array, WindowTemplate(state, position))  # keeps the array alive: ids stay unique
    return _TEMPLATES[key][1]


def event_targets(chunk: StationChunk, hot_x: np.ndarray, hot_y: np.ndarray) -> dict[str, np.ndarray]:
    """The per-event truth columns (:data:`airshower.targets.TRUTH_COLUMNS`) from the truth fields.

    Raises InputFileError naming the event where the energy or the mass number is not positive,
    or where a truth column is not finite (naming the target).
    """
    e = chunk.events
    for name, what in (("mc_energy", "eV"), ("mc_mass", "A")):
        values = np.asarray(e[name], dtype=np.float64)
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            k = int(bad[0])
            raise InputFileError(f"{chunk.where(k)}: {name} = {float(values[k])} {what}, expected > 0")
    columns = truth_columns(e, hot_x, hot_y)
    for name, values in columns.items():
        bad = np.flatnonzero(nonfinite_rows(values))
        if bad.size:
            k = int(bad[0])
            raise InputFileError(f"{chunk.where(k)}: the truth of target {name!r} is {values[k]} (not finite)")
    return columns


def _to_trace_dtype(chunk: StationChunk, values: np.ndarray, trace_count: np.ndarray, trace_dtype: str) -> np.ndarray:
    """Trace rows in the storage type; values beyond the float16 range are refused by event."""
    if trace_dtype == "float32" or values.size == 0:
        return values.astype(np.float32, copy=False)
    if values.max() > FLOAT16_MAX or values.min() < -FLOAT16_MAX:
        row = int(np.flatnonzero(np.abs(values).max(axis=1) > FLOAT16_MAX)[0])
        event = int(np.searchsorted(np.cumsum(trace_count), row, side="right"))
        raise InputFileError(
            f"{chunk.where(event)}: a trace holds {float(np.abs(values[row]).max()):.6g} VEM in one bin, "
            f"beyond float16 (max {FLOAT16_MAX:.0f}); set convert.trace_dtype: float32"
        )
    return values.astype(np.float16)


def file_record(path: Path) -> dict[str, Any]:
    """Path, size [bytes] and sha256 of an input file (provenance of the tensor file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return {"path": str(path), "size": path.stat().st_size, "sha256": digest.hexdigest()}


class EventIds:
    """The event ids seen so far in a dataset, to refuse an id that repeats (across files too)."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)
        self._ids = np.zeros(0, dtype=np.int64)  # sorted
        self._file = np.zeros(0, dtype=np.int32)  # file index of each, in the same order

    def add(self, ids: np.ndarray, file_index: np.ndarray, chunk: StationChunk) -> None:
        """Record a chunk's ids; InputFileError naming both files (and the event) at a repeat."""
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        inner = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if inner.size:
            a, b = order[inner[0]], order[inner[0] + 1]
            raise InputFileError(
                f"{chunk.where(int(max(a, b)))}: event_id {int(ids[a])} appears twice "
                f"(also in {self.files[int(file_index[min(a, b)])]}); event ids must be unique within a dataset"
            )
        pos = np.minimum(np.searchsorted(self._ids, sorted_ids), self._ids.size - 1)
        hit = self._ids[pos] == sorted_ids if self._ids.size else np.zeros(0, dtype=bool)
        if hit.any():
            k = int(np.flatnonzero(hit)[0])
            first = self.files[int(self._file[pos[k]])]
            raise InputFileError(
                f"{chunk.where(int(order[k]))}: event_id {int(sorted_ids[k])} appears twice (also in {first}); "
                "event ids must be unique within a dataset"
            )
        merged = np.concatenate([self._ids, sorted_ids])
        files = np.concatenate([self._file, np.asarray(file_index, dtype=np.int32)[order]])
        keep = np.argsort(merged, kind="stable")
        self._ids, self._file = merged[keep], files[keep]


def convert_source(
    source: EventSource,
    output: str | Path,
    grid_size: int,
    chunk_events: int,
    trace_dtype: str,
    config: Mapping[str, Any],
    compression: str = "gzip",
    trace_compression: str = "none",
) -> dict[str, Any]:
    """Convert the events of a data source into one tensor file; returns a summary.

    ``output``: the tensor file, written under a temporary name and renamed when complete
    (nothing is left on error); ``config``: stored as the file's ``config`` attribute;
    ``compression`` / ``trace_compression``: HDF5 filters (:data:`airshower.io.tensors.COMPRESSIONS`)
    of the dense datasets / the trace rows (the stage's defaults: gzip-1 / none, the fastest
    pair; ``trace_compression="lzf"`` makes files ~1/3 smaller for ~40 % more CPU time, see
    docs/benchmarks.md). A source without Monte-Carlo truth (measured data) makes a tensor
    file without targets; the source's reference fields go to ``reference/``.
    Raises InputFileError for events that break the contract (docs/events-format.md), event
    ids that repeat within the dataset, or no events at all; ConfigError for bad settings.
    """
    started = time.perf_counter()
    output = Path(output)
    require_writable(output, "tensor file")
    try:
        g = check_grid_size(grid_size)
    except ValueError as exc:
        raise ConfigError(f"convert.grid_size = {grid_size!r}: {exc}") from exc
    if trace_dtype not in TRACE_DTYPES:
        raise ConfigError(f"convert.trace_dtype = {trace_dtype!r}: choose one of {list(TRACE_DTYPES)}")
    if int(chunk_events) < 1:
        raise ConfigError(f"convert.chunk_events = {chunk_events!r}: must be >= 1")
    paths = list(source.files)
    if not paths:
        raise InputFileError(f"{output}: no events files to convert")
    fmt = source.trace_format()
    truth = source.has_truth()
    reference = source.reference_fields()
    fields = EVENT_INPUT_FIELDS + (truth_fields() if truth else ()) + tuple(reference)
    records = [file_record(p) for p in paths]
    array = source.array()
    ids = EventIds(paths)
    per_file = np.zeros(len(paths), dtype=np.int64)
    fit = source.site_lattice()
    site = None if fit is None else {
        "station_id": fit.station_ids, "x": fit.array.x, "y": fit.array.y, "angle_rad": fit.angle_rad,
        "origin_m": fit.origin,
    }
    with TensorWriter(
        output, g, fmt.trace_bins, fmt.bin_ns, trace_dtype, records, config, compression, trace_compression,
        truth=truth, reference=reference, site=site,
    ) as writer:
        for file_index, chunk in source.chunks(int(chunk_events), fields):
            converted = convert_chunk(chunk, g, file_index, array, trace_dtype, truth, tuple(reference))
            ids.add(chunk.events["event_id"], file_index, chunk)
            writer.append(converted)
            per_file += np.bincount(file_index, minlength=len(paths))
        for record, count in zip(writer.sources, per_file):
            record["events"] = int(count)
        if writer.n_events == 0:
            raise InputFileError(f"{output}: the events files hold no events ({', '.join(map(str, paths))})")
        n_events, n_rows = writer.n_events, writer.n_rows
    seconds = time.perf_counter() - started
    return {
        "output": str(output),
        "source": source.kind,
        "events": n_events,
        "trace_rows": n_rows,
        "files": len(paths),
        "events_per_file": {s["path"]: s["events"] for s in writer.sources},
        "grid_size": g,
        "trace_bins": fmt.trace_bins,
        "bin_ns": fmt.bin_ns,
        "trace_dtype": trace_dtype,
        "truth": truth,
        "reference": sorted(reference),
        "seconds": round(seconds, 3),
        "events_per_second": round(n_events / seconds, 1) if seconds > 0 else None,
    }


def convert_dataset(
    inputs: Sequence[str | Path],
    output: str | Path,
    grid_size: int,
    chunk_events: int,
    trace_dtype: str,
    config: Mapping[str, Any],
    compression: str = "gzip",
    trace_compression: str = "none",
) -> dict[str, Any]:
    """Convert events files in the ROOT contract (in order; events keep it) into one tensor
    file: :func:`convert_source` of a :class:`~airshower.sources.root_files.RootEventsSource`.
    Files with and without Monte-Carlo truth in one dataset are refused."""
    output = Path(output)
    if not inputs:
        raise InputFileError(f"{output}: no events files to convert")
    require_writable(output, "tensor file")
    return convert_source(
        RootEventsSource(inputs), output, grid_size, chunk_events, trace_dtype, config, compression, trace_compression
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower convert``."""
    parser.add_argument("--dataset", default=None, help="dataset of the config: its source (datasets.<name>.source) "
                        "says which files to read; output data/{study}/tensors/{dataset}.h5 unless given")
    parser.add_argument("--inputs", nargs="+", type=Path, default=None, metavar="FILE",
                        help="the files to read (default: those the dataset's source lists); without --dataset, "
                        "events files in the ROOT contract")
    parser.add_argument("--output", type=Path, default=None, metavar="PATH", help="tensor file to write (HDF5)")


def dataset_source(config: Mapping[str, Any], dataset: str, inputs: Sequence[Path] | None = None) -> EventSource:
    """The source of a dataset of the config over ``inputs`` (default: what it lists)."""
    entries = config["datasets"]
    if dataset not in entries:
        raise ConfigError(f"--dataset {dataset!r} is not a key of 'datasets' ({sorted(entries)})")
    entry = dict(entries[dataset])
    files = list(inputs) if inputs is not None else input_files(config["study"], dataset, entry)
    if source_kind(entry) == "simulate":
        missing = [str(f) for f in files if not Path(f).is_file()]
        if missing:
            raise InputFileError(
                f"{missing[0]}: no such events file of dataset {dataset!r} ({len(missing)} of {len(files)} missing); "
                "simulate it first (airshower simulate, or the workflow)"
            )
    entry["trace_format"] = network_trace_format(config)  # what sources that resample traces aim for
    return open_source(entry, files)


def network_trace_format(config: Mapping[str, Any]) -> dict[str, float]:
    """Bins and bin width [ns] the study's networks read: the simulation settings of the training
    dataset (the global ``simulation`` section when the config does not hold that dataset, as in
    the part of the config the workflow hands the stage: there the section is the training
    dataset's)."""
    from airshower.config import dataset_simulation
    from airshower.detector.tank import electronics

    name = config.get("train_dataset")
    sim = dataset_simulation(config, name) if name in config["datasets"] else config["simulation"]
    return {"trace_bins": int(sim["trace_bins"]), "bin_ns": float(electronics(sim["electronics"]).bin_ns)}


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower convert``: settings from ``config['convert']``, the source from the dataset's entry."""
    if args.inputs is None and args.dataset is None:
        raise ConfigError("convert: give --dataset or --inputs (and --output)")
    if args.output is None and args.dataset is None:
        raise ConfigError("convert: give --output or --dataset")
    output = args.output if args.output is not None else layout.tensor_file(config["study"], args.dataset)
    require_writable(output, "tensor file")
    if args.dataset is not None:
        source = dataset_source(config, args.dataset, args.inputs)
    else:
        source = RootEventsSource(args.inputs)
    settings = config["convert"]
    summary = convert_source(
        source,
        output,
        grid_size=settings["grid_size"],
        chunk_events=settings["chunk_events"],
        trace_dtype=settings["trace_dtype"],
        config={"convert": settings, "dataset": args.dataset, "source": source.kind},
        trace_compression=settings["trace_compression"],
    )
    print(json.dumps(summary, sort_keys=True), file=sys.stdout)
    return 0
