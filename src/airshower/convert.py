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
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airshower.detector.array import Array, sd1500
from airshower.errors import ConfigError, InputFileError
from airshower.hexgrid import check_grid_size, window_cells, window_index, xy_to_axial
from airshower.io.events import STATION_FIELDS, StationChunk, iterate_station_chunks, read_meta, truth_present
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
    source: int = 0,
    array: Array | None = None,
    trace_dtype: str = "float32",
    truth: bool = True,
) -> TensorChunk:
    """Scatter the stations of one chunk into G x G windows around their hottest stations.

    ``source``: index of the chunk's file in the dataset (``meta/source``); ``trace_dtype``:
    type of the trace rows (float16 overflow raises InputFileError naming the event);
    ``truth``: compute the truth columns (the chunk holds the Monte-Carlo fields).
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
        raise InputFileError(
            f"{chunk.where(int(ev[s]))}: station {int(ids[s])} at ({x[s]:.0f}, {y[s]:.0f}) m lies in lattice "
            f"cell ({int(cq[s])}, {int(cr[s])}), but the array puts station {int(ids[s])} at ({int(q[s])}, {int(r[s])})"
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
        "source": np.full(n, source, dtype=np.int32),
        "n_outside": n_outside,
        "t5": chunk.events["event_t5"].astype(bool),
        "hottest_station": ids[hot].astype(np.int32),
    }
    return TensorChunk(
        trace_values, trace_cell, trace_count, start_time.reshape(n, g, g), state.reshape(n, g, g),
        position.reshape(n, g, g, 3), targets, meta,
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


def _dataset_truth(paths: Sequence[Path]) -> bool:
    """Whether the files hold Monte-Carlo truth: all of them or none (else InputFileError naming two)."""
    present = [truth_present(p, truth_fields()) for p in paths]
    if any(present) and not all(present):
        a = paths[present.index(True)]
        b = paths[present.index(False)]
        raise InputFileError(f"{b}: holds no Monte-Carlo truth, but {a} does; a dataset is all simulation or all data")
    return bool(present[0])


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
    """Convert events files into one tensor file; returns a summary.

    ``inputs``: events files in order (events keep it); ``output``: the tensor file, written
    under a temporary name and renamed when complete (nothing is left on error);
    ``config``: stored as the file's ``config`` attribute; ``compression`` /
    ``trace_compression``: HDF5 filters (:data:`airshower.io.tensors.COMPRESSIONS`) of the
    dense datasets / the trace rows (the stage's defaults: gzip-1 / none, the fastest pair;
    ``trace_compression="lzf"`` makes files ~1/3 smaller for ~40 % more CPU time, see
    docs/benchmarks.md).
    Files without the Monte-Carlo truth fields (measured data) make a tensor file without
    targets; a dataset mixing files with and without truth is refused.
    Raises InputFileError for files that break the events contract or an empty dataset,
    ConfigError for bad settings.
    """
    started = time.perf_counter()
    paths = [Path(p) for p in inputs]
    output = Path(output)
    if not paths:
        raise InputFileError(f"{output}: no events files to convert")
    require_writable(output, "tensor file")
    try:
        g = check_grid_size(grid_size)
    except ValueError as exc:
        raise ConfigError(f"convert.grid_size = {grid_size!r}: {exc}") from exc
    if trace_dtype not in TRACE_DTYPES:
        raise ConfigError(f"convert.trace_dtype = {trace_dtype!r}: choose one of {list(TRACE_DTYPES)}")
    if int(chunk_events) < 1:
        raise ConfigError(f"convert.chunk_events = {chunk_events!r}: must be >= 1")
    metas = [read_meta(p) for p in paths]
    trace_bins, bin_ns = metas[0].get("trace_bins"), metas[0].get("bin_ns")
    for p, m in zip(paths[1:], metas[1:]):
        if (m.get("trace_bins"), m.get("bin_ns")) != (trace_bins, bin_ns):
            raise InputFileError(
                f"{p}: traces of {m.get('trace_bins')} bins of {m.get('bin_ns')} ns, but {paths[0]} has "
                f"{trace_bins} bins of {bin_ns} ns; a dataset needs one trace format"
            )
    if not isinstance(bin_ns, (int, float)) or isinstance(bin_ns, bool) or not bin_ns > 0:
        raise InputFileError(f"{paths[0]}: metadata 'bin_ns' = {bin_ns!r}, expected a positive number")
    truth = _dataset_truth(paths)
    fields = EVENT_INPUT_FIELDS + (truth_fields() if truth else ())
    sources = [file_record(p) for p in paths]
    array = sd1500()
    with TensorWriter(
        output, g, int(trace_bins), float(bin_ns), trace_dtype, sources, config, compression, trace_compression,
        truth=truth,
    ) as writer:
        for index, (path, meta) in enumerate(zip(paths, metas)):
            before = writer.n_events
            for chunk in iterate_station_chunks(path, int(chunk_events), fields, tuple(STATION_FIELDS), meta):
                writer.append(convert_chunk(chunk, g, index, array, trace_dtype, truth))
            writer.sources[index]["events"] = writer.n_events - before
        if writer.n_events == 0:
            raise InputFileError(f"{output}: the events files hold no events ({', '.join(map(str, paths))})")
        n_events, n_rows = writer.n_events, writer.n_rows
    seconds = time.perf_counter() - started
    return {
        "output": str(output),
        "events": n_events,
        "trace_rows": n_rows,
        "files": len(paths),
        "events_per_file": {s["path"]: s["events"] for s in writer.sources},
        "grid_size": g,
        "trace_bins": int(trace_bins),
        "bin_ns": float(bin_ns),
        "trace_dtype": trace_dtype,
        "seconds": round(seconds, 3),
        "events_per_second": round(n_events / seconds, 1) if seconds > 0 else None,
    }


def _shard_key(path: Path) -> tuple[int, int | str]:
    return (0, int(path.stem)) if re.fullmatch(r"\d+", path.stem) else (1, path.stem)


def dataset_inputs(dataset: str, root: str | Path = "data/sim") -> list[Path]:
    """The events files of a dataset, ``{root}/{dataset}/*.root``, in shard order (0, 1, 2, ..., 10)."""
    return sorted(Path(root, dataset).glob("*.root"), key=_shard_key)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower convert``."""
    parser.add_argument("--dataset", default=None, help="dataset name: inputs data/sim/{dataset}/*.root, "
                        "output data/tensors/{dataset}.h5 unless given")
    parser.add_argument("--inputs", nargs="+", type=Path, default=None, metavar="FILE", help="events files (ROOT)")
    parser.add_argument("--output", type=Path, default=None, metavar="PATH", help="tensor file to write (HDF5)")


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower convert``: settings from ``config['convert']``."""
    if args.inputs is None and args.dataset is None:
        raise ConfigError("convert: give --dataset or --inputs (and --output)")
    if args.output is None and args.dataset is None:
        raise ConfigError("convert: give --output or --dataset")
    inputs = args.inputs if args.inputs is not None else dataset_inputs(args.dataset)
    if not inputs:
        raise InputFileError(f"data/sim/{args.dataset}: no events files (*.root) for dataset {args.dataset!r}")
    output = args.output if args.output is not None else Path("data/tensors") / f"{args.dataset}.h5"
    settings = config["convert"]
    summary = convert_dataset(
        inputs,
        output,
        grid_size=settings["grid_size"],
        chunk_events=settings["chunk_events"],
        trace_dtype=settings["trace_dtype"],
        config={"convert": settings, "dataset": args.dataset},
        trace_compression=settings["trace_compression"],
    )
    print(json.dumps(summary, sort_keys=True), file=sys.stdout)
    return 0
