"""The tensor file contract (HDF5): hex-grid station tensors and targets, one file per dataset.

What a reader gets (N events, G x G window of axial cells, T trace bins), through
:func:`read_arrays` (numpy) or :func:`read_tensors` (a :class:`~airshower.batch.Batch`):

* ``inputs/traces``      (N, G, G, T) signal per bin [VEM]; zero where no working station
  was stored (silent, dead, absent cells)
* ``inputs/start_time``  (N, G, G)    float32  trace start relative to the hottest station [ns]
  (0 for cells without a trace)
* ``inputs/state``       (N, G, G)    int8     :class:`~airshower.station_state.StationState`
* ``inputs/position``    (N, G, G, 3) float32  station position relative to the hottest station
  [m] (the file's position for stored stations, the array's for implicit silent ones; 0 absent)
* ``targets/xmax`` (N,) [g/cm2]; ``targets/lg_energy`` (N,) [lg(E/eV)];
  ``targets/axis`` (N, 3) unit vector pointing to where the shower comes from,
  (sin th cos ph, sin th sin ph, cos th) of the truth zenith th and azimuth ph;
  ``targets/core`` (N, 2) [m] relative to the hottest station; ``targets/ln_a`` (N,) ln of
  the mass number; ``targets/mass`` (N,) A (float32 on disk except mass: int32). The
  columns are those of :data:`airshower.targets.TRUTH_COLUMNS`; a reader takes whichever
  the file holds (files made before a target existed lack it); events without Monte-Carlo
  truth (measured data) make a file without the ``targets/`` group (attribute ``truth``
  false): it can be reconstructed, not trained on or evaluated
* ``meta/event_id`` (N,) int64, ``meta/source`` (N,) int32 index into the ``sources``
  attribute, ``meta/n_outside`` (N,) int32 triggered stations that fell outside the window,
  ``meta/t5`` (N,) bool (6T5 flag of the events file), ``meta/hottest_station`` (N,) int32
  (array id of the centre station)
* ``reference/<name>`` (N,) float64, optional: per-event values the data source measured
  independently, e.g. ``reference/fd_xmax`` [g/cm2] of hybrid Auger events (unit in the
  dataset's ``unit`` attribute; NaN where an event has none). Never an input or a target
* ``site/`` group, optional, for stations fitted onto the lattice from real positions
  (:mod:`airshower.detector.positions`): ``site/station_id`` (n_array,) the real id of every
  array index (``meta/hottest_station`` indexes it), ``site/x``, ``site/y`` (n_array,) their
  positions in the array frame [m]; attributes ``angle_rad`` (direction of the lattice rows in
  the site frame) and ``origin_m`` (site position of cell (0, 0)): site = origin + R(angle) array

Window axes: axis 1 is the axial q coordinate, axis 2 the axial r coordinate (see
:mod:`airshower.hexgrid`), the hottest station at the centre (G // 2, G // 2).

Storage of the traces (refinement of the dense contract, schema version 1). About 15 of the
169 cells of a G = 13 window hold a trace; a dense (N, G, G, T) dataset would be 90 % zeros
and cost more time to compress than the whole rest of the conversion (deflate runs at a few
hundred MB/s, 40 kB per event). So the file keeps only the rows that carry a trace:

* ``inputs/traces/values``  (M, T) float16 (or float32, ``convert.trace_dtype``) [VEM/bin]:
  one row per stored working station inside the window, events one after the other;
* ``inputs/traces/cell``    (M,)   int16   flat window index q_index * G + r_index of the row;
* ``inputs/traces/offsets`` (N + 1,) int64 rows of event i are offsets[i]:offsets[i + 1].

The readers scatter them back into the dense (N, G, G, T) tensor for the events asked for.

float16 for the traces (default; ``convert.trace_dtype: float32`` keeps them exact): its
relative rounding error is <= 2^-11 (0.05 %), far below the Poisson fluctuation of any
signal, and for UB electronics below half the digitisation step of the channel in use
(high gain up to 1023/172 = 5.9 VEM/bin in steps of 1/172 VEM: error <= 0.003 VEM; low gain
up to 32 x 5.9 = 190 VEM/bin in steps of 0.19 VEM: error <= 0.09 VEM). For UUB (steps of
1/1606 VEM) it reaches ~2 counts at the top of the high-gain range, still far below the
Poisson scatter. The range (6.5e4) covers the largest signal per bin of a saturated station;
a value beyond it is refused with a message. Times and positions stay float32: relative
times reach tens of microseconds, where float16 would round to ~16 ns.

Compression (HDF5 filters, :data:`COMPRESSIONS`, recorded in the ``compression``
attribute): gzip level 1 on every dataset but the trace rows, which are stored
uncompressed by default. The rows are mostly baseline noise in float16: LZF makes them 36 %
smaller and gzip-1 52 %, but at ~150 / ~80 MB/s on one core that would be the largest single
cost of the conversion (LZF: +17-20 us per event on top of ~36-39 us for all the rest; see
docs/benchmarks.md), so ``trace_compression="lzf"`` / ``"gzip"`` are there for when disk
matters more than time. No byte shuffle: with it, trace rows, start times and positions came
out both larger and slower to write (states: no difference). Chunks hold ~1 MiB along the event (or row) axis; the writer keeps each
dataset open with a chunk cache of a few chunks, so a partly filled chunk is compressed
once, when it is full, not at every append.

Attributes: ``schema_version``, ``grid_size``, ``trace_bins``, ``bin_ns``, ``trace_dtype``,
``n_events``, ``sources`` (JSON list: path, size in bytes, sha256, events), ``config``
(JSON), ``package_version``. Files are written under a temporary name and renamed when
complete; readers refuse files of another schema version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from airshower.errors import InputFileError
from airshower.io.files import open_hdf5
from airshower.station_state import StationState  # noqa: F401 - the converter imports it from here
from airshower.targets import TRUTH_COLUMNS

if TYPE_CHECKING:  # torch is imported lazily: the convert stage's environment has no torch
    from airshower.batch import Batch

SCHEMA_VERSION = 1


# the ``targets/`` group: every target of :mod:`airshower.targets` and the truth-only mass
# (the registry's own dict, so that a registered target is written too)
TARGETS: dict[str, tuple[tuple[int, ...], str]] = TRUTH_COLUMNS
META: dict[str, tuple[tuple[int, ...], str]] = {
    "event_id": ((), "int64"),
    "source": ((), "int32"),
    "n_outside": ((), "int32"),
    "t5": ((), "bool"),
    "hottest_station": ((), "int32"),
}
TRACE_DTYPES = ("float16", "float32")
FLOAT16_MAX = float(np.finfo(np.float16).max)
# HDF5 filters by name: gzip level 1, LZF, or none (no byte shuffle: larger and slower here)
COMPRESSIONS: dict[str, dict[str, Any]] = {
    "gzip": {"compression": "gzip", "compression_opts": 1},
    "lzf": {"compression": "lzf"},
    "none": {},
}
_CHUNK_BYTES = 1 << 20
# per-dataset chunk cache of the writer: a partly filled chunk stays in memory between appends
# instead of being compressed, written, read back and inflated again at every append
_CACHE_BYTES = 4 * _CHUNK_BYTES
_CACHE_SLOTS = 1031


def _window_datasets(g: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {
        "inputs/start_time": ((g, g), "float32"),
        "inputs/state": ((g, g), "int8"),
        "inputs/position": ((g, g, 3), "float32"),
    }


@dataclass
class TensorChunk:
    """n converted events in the file's layout (what :class:`TensorWriter` appends).

    ``trace_values`` (M, T), ``trace_cell`` (M,) flat window index, ``trace_count`` (n,) rows
    per event (rows of one event consecutive, events in order); ``start_time`` (n, G, G),
    ``state`` (n, G, G), ``position`` (n, G, G, 3); ``targets`` and ``meta``: name -> (n, ...)
    as in :data:`TARGETS` / :data:`META`; ``reference``: name -> (n,) reference values of the
    source (e.g. the FD Xmax of hybrid events), NaN where an event has none.
    """

    trace_values: np.ndarray
    trace_cell: np.ndarray
    trace_count: np.ndarray
    start_time: np.ndarray
    state: np.ndarray
    position: np.ndarray
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    reference: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.trace_count.size)


def _chunk_rows(row_bytes: int) -> int:
    return int(np.clip(_CHUNK_BYTES // max(row_bytes, 1), 64, 1 << 16))


class TensorWriter:
    """Writes one tensor file chunk by chunk, atomically (temporary name, renamed on success).

    Use as a context manager; if the block raises, the temporary file is removed and nothing
    is left under the final name. ``sources``: list of dicts (path, size, sha256, events...);
    ``config``: what made the file (stored as JSON). ``sources`` may be updated before the
    block ends (events per file are known only then). ``truth``: the file holds the
    ``targets/`` group (events without Monte-Carlo truth, e.g. measured data, have none).
    ``reference``: name -> unit of the per-event reference values of the ``reference/`` group.
    ``site``: the array's place in the site frame (``site/`` group: ``station_id``, ``x``, ``y``
    [m] of every array index, attributes ``angle_rad`` and ``origin_m``), for real positions.
    """

    def __init__(
        self,
        path: str | Path,
        grid_size: int,
        trace_bins: int,
        bin_ns: float,
        trace_dtype: str = "float16",
        sources: Sequence[Mapping[str, Any]] = (),
        config: Mapping[str, Any] | None = None,
        compression: str = "gzip",
        trace_compression: str = "none",
        truth: bool = True,
        reference: Mapping[str, str] | None = None,
        site: Mapping[str, Any] | None = None,
    ) -> None:
        if trace_dtype not in TRACE_DTYPES:
            raise ValueError(f"trace_dtype must be one of {TRACE_DTYPES}, got {trace_dtype!r}")
        for name in (compression, trace_compression):
            if name not in COMPRESSIONS:
                raise ValueError(f"compression must be one of {list(COMPRESSIONS)}, got {name!r}")
        self.compression = compression
        self.trace_compression = trace_compression
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.grid_size = int(grid_size)
        self.trace_bins = int(trace_bins)
        self.bin_ns = float(bin_ns)
        self.trace_dtype = trace_dtype
        self.sources = [dict(s) for s in sources]
        self.config = dict(config or {})
        self.truth = bool(truth)
        self.reference = dict(reference or {})
        self.site = dict(site) if site is not None else None
        self.n_events = 0
        self.n_rows = 0
        self._file: h5py.File | None = None
        self._datasets: dict[str, h5py.Dataset] = {}

    def __enter__(self) -> TensorWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(self.tmp, "w", rdcc_nbytes=_CACHE_BYTES, rdcc_w0=1.0, rdcc_nslots=_CACHE_SLOTS)
        self._create()
        return self

    def _create(self) -> None:
        f = self._file
        assert f is not None
        g, t = self.grid_size, self.trace_bins
        item = np.dtype(self.trace_dtype).itemsize
        packed = COMPRESSIONS[self.compression]
        # the dataset objects stay open until the file closes: HDF5 flushes a dataset's chunk
        # cache when its last handle closes, and re-opening it per append would compress,
        # read back and inflate the partly filled last chunk every time
        ds = self._datasets
        ds["inputs/traces/values"] = f.create_dataset(
            "inputs/traces/values", shape=(0, t), maxshape=(None, t), dtype=self.trace_dtype,
            chunks=(_chunk_rows(t * item), t), **COMPRESSIONS[self.trace_compression],
        )
        ds["inputs/traces/cell"] = f.create_dataset(
            "inputs/traces/cell", shape=(0,), maxshape=(None,), dtype="int16", chunks=(1 << 16,), **packed
        )
        ds["inputs/traces/offsets"] = f.create_dataset(
            "inputs/traces/offsets", shape=(1,), maxshape=(None,), dtype="int64", chunks=(1 << 15,), **packed
        )
        ds["inputs/traces/offsets"][0] = 0
        per_event = dict(_window_datasets(g))
        if self.truth:
            per_event.update({f"targets/{k}": v for k, v in TARGETS.items()})
        per_event.update({f"meta/{k}": v for k, v in META.items()})
        per_event.update({f"reference/{k}": ((), "float64") for k in self.reference})
        for name, (shape, dtype) in per_event.items():
            row = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            ds[name] = f.create_dataset(
                name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
                chunks=(_chunk_rows(row), *shape), **packed,
            )

    def append(self, chunk: TensorChunk) -> None:
        """Append the events of ``chunk`` (checked for shapes, and for float16 range)."""
        f = self._file
        if f is None:
            raise RuntimeError("TensorWriter.append outside its with-block")
        n, g, t = chunk.n_events, self.grid_size, self.trace_bins
        if n == 0:
            return
        m = int(chunk.trace_count.sum())
        expect = {
            "trace_values": (chunk.trace_values, (m, t)), "trace_cell": (chunk.trace_cell, (m,)),
            "start_time": (chunk.start_time, (n, g, g)), "state": (chunk.state, (n, g, g)),
            "position": (chunk.position, (n, g, g, 3)),
        }
        if self.truth:
            expect.update({f"targets.{k}": (chunk.targets.get(k), (n, *s)) for k, (s, _) in TARGETS.items()})
        elif chunk.targets:
            raise ValueError(f"TensorWriter.append: targets {sorted(chunk.targets)} for a file without truth")
        expect.update({f"meta.{k}": (chunk.meta.get(k), (n, *s)) for k, (s, _) in META.items()})
        expect.update({f"reference.{k}": (chunk.reference.get(k), (n,)) for k in self.reference})
        for name, (value, shape) in expect.items():
            if value is None or tuple(value.shape) != shape:
                got = None if value is None else tuple(value.shape)
                raise ValueError(f"TensorWriter.append: '{name}' of shape {got}, expected {shape}")
        with np.errstate(over="ignore"):  # overflow is reported just below
            values = chunk.trace_values.astype(self.trace_dtype, copy=False)
        if values is not chunk.trace_values and values.size and not np.isfinite(values).all():
            raise ValueError(
                f"TensorWriter.append: trace values beyond the range of {self.trace_dtype} "
                f"(max {FLOAT16_MAX:.0f}); check the range before (see convert.convert_chunk)"
            )
        self._extend("inputs/traces/values", values)
        self._extend("inputs/traces/cell", chunk.trace_cell.astype(np.int16, copy=False))
        self._extend("inputs/traces/offsets", self.n_rows + np.cumsum(chunk.trace_count, dtype=np.int64))
        self._extend("inputs/start_time", chunk.start_time)
        self._extend("inputs/state", chunk.state)
        self._extend("inputs/position", chunk.position)
        for k in TARGETS if self.truth else ():
            self._extend(f"targets/{k}", chunk.targets[k])
        for k in META:
            self._extend(f"meta/{k}", chunk.meta[k])
        for k in self.reference:
            self._extend(f"reference/{k}", chunk.reference[k])
        self.n_events += n
        self.n_rows += m

    def _extend(self, name: str, values: np.ndarray) -> None:
        ds = self._datasets[name]
        start = ds.shape[0]
        ds.resize(start + values.shape[0], axis=0)
        ds[start:] = values.astype(ds.dtype, copy=False)

    def _write_attrs(self) -> None:
        from airshower import __version__

        attrs = self._file.attrs  # type: ignore[union-attr]
        attrs["schema_version"] = SCHEMA_VERSION
        attrs["grid_size"] = self.grid_size
        attrs["trace_bins"] = self.trace_bins
        attrs["bin_ns"] = self.bin_ns
        attrs["trace_dtype"] = self.trace_dtype
        attrs["compression"] = json.dumps({"traces": self.trace_compression, "other": self.compression})
        attrs["n_events"] = self.n_events
        attrs["truth"] = self.truth
        for k, unit in self.reference.items():
            self._datasets[f"reference/{k}"].attrs["unit"] = unit
        if self.site is not None:
            group = self._file.create_group("site")  # type: ignore[union-attr]
            for k in ("station_id", "x", "y"):
                group.create_dataset(k, data=np.asarray(self.site[k]))
            group.attrs["angle_rad"] = float(self.site["angle_rad"])
            group.attrs["origin_m"] = [float(v) for v in self.site["origin_m"]]
        attrs["sources"] = json.dumps(self.sources, sort_keys=True)
        attrs["config"] = json.dumps(self.config, sort_keys=True)
        attrs["package_version"] = str(__version__)

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            if exc_type is None and self._file is not None:
                self._write_attrs()
            self._datasets.clear()
            if self._file is not None:
                self._file.close()
        except BaseException:
            if self.tmp.exists():
                self.tmp.unlink()
            raise
        if exc_type is None:
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()


# --- reading ---------------------------------------------------------------------------------

_REQUIRED = (
    "inputs/traces/values", "inputs/traces/cell", "inputs/traces/offsets", "inputs/start_time",
    "inputs/state", "inputs/position",
)


@contextmanager
def open_tensor_file(path: str | Path) -> Iterator[h5py.File]:
    """Open a tensor file for reading after checking that it is one, of this schema version.

    Raises :class:`InputFileError` naming the file: missing, not HDF5, another schema
    version, or datasets of the contract missing.
    """
    path = Path(path)
    handle = open_hdf5(path, "tensor file", "convert")
    try:
        version = handle.attrs.get("schema_version")
        version = int(version) if version is not None else None
        if version != SCHEMA_VERSION:
            raise InputFileError(
                f"{path}: tensor schema version {version!r}, this reader knows version {SCHEMA_VERSION}; "
                "convert the events again with this version of airshower"
            )
        missing = [name for name in _REQUIRED if name not in handle]
        for key in ("grid_size", "trace_bins", "bin_ns"):
            if key not in handle.attrs:
                missing.append(f"attribute {key}")
        if missing:
            raise InputFileError(f"{path}: not a complete tensor file, missing {missing}")
        yield handle
    finally:
        handle.close()


def _n_events(handle: h5py.File) -> int:
    return int(handle["inputs/state"].shape[0])


def tensor_info(path: str | Path) -> dict[str, Any]:
    """Sizes and attributes of a tensor file without reading its data.

    Returns ``N`` (events), ``G`` (window size), ``T`` (trace bins), ``bin_ns``, ``rows``
    (stored trace rows) and ``attrs`` (every attribute; ``sources`` and ``config`` decoded
    from JSON).
    """
    with open_tensor_file(path) as f:
        attrs: dict[str, Any] = {}
        for key, value in f.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            if key in ("sources", "config") and isinstance(value, str):
                value = json.loads(value)
            elif isinstance(value, np.generic):
                value = value.item()
            attrs[key] = value
        return {
            "N": _n_events(f),
            "G": int(f.attrs["grid_size"]),
            "T": int(f.attrs["trace_bins"]),
            "bin_ns": float(f.attrs["bin_ns"]),
            "rows": int(f["inputs/traces/values"].shape[0]),
            "attrs": attrs,
        }


def _event_range(n: int, start: int | None, stop: int | None) -> tuple[int, int]:
    a, b, _ = slice(start, stop).indices(n)
    return a, max(a, b)


def read_arrays(
    path: str | Path, start: int | None = None, stop: int | None = None, trace_dtype: str = "float32"
) -> dict[str, np.ndarray]:
    """Events [start, stop) (Python slice semantics) of a tensor file as dense numpy arrays.

    Keys: ``inputs/traces`` (B, G, G, T) in ``trace_dtype``, ``inputs/start_time``,
    ``inputs/state``, ``inputs/position``, ``targets/<name>`` and ``meta/<name>`` (dtypes as
    stored). Reads only the rows of those events.
    """
    path = Path(path)
    with open_tensor_file(path) as f:
        a, b = _event_range(_n_events(f), start, stop)
        g = int(f.attrs["grid_size"])
        t = int(f.attrs["trace_bins"])
        offsets = f["inputs/traces/offsets"][a : b + 1]
        if offsets.size != b - a + 1:
            raise InputFileError(f"{path}: inputs/traces/offsets has {f['inputs/traces/offsets'].shape[0]} "
                                 f"entries for {_n_events(f)} events")
        r0, r1 = int(offsets[0]), int(offsets[-1])
        values = f["inputs/traces/values"][r0:r1]
        cells = f["inputs/traces/cell"][r0:r1].astype(np.int64)
        n = b - a
        traces = np.zeros((n * g * g, t), dtype=trace_dtype)
        if r1 > r0:
            if cells.min() < 0 or cells.max() >= g * g:
                raise InputFileError(f"{path}: inputs/traces/cell holds indices outside the {g}x{g} window")
            rows_event = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
            traces[rows_event * (g * g) + cells] = values
        out = {"inputs/traces": traces.reshape(n, g, g, t)}
        for name in ("inputs/start_time", "inputs/state", "inputs/position"):
            out[name] = f[name][a:b]
        for group in ("targets", "meta"):
            if group in f:
                for key, ds in f[group].items():
                    out[f"{group}/{key}"] = ds[a:b]
        return out


def nonfinite_rows(values: np.ndarray) -> np.ndarray:
    """(N,) bool: the events (rows along the first axis) with a NaN or inf in any component."""
    values = np.asarray(values)
    if values.size == 0 or not np.issubdtype(values.dtype, np.inexact):
        return np.zeros(len(values), dtype=bool)
    return ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)


def nonfinite_events(values: np.ndarray) -> int:
    """Number of events with a NaN or inf in any component (:func:`nonfinite_rows`); 0 for integers."""
    return int(nonfinite_rows(values).sum())


def nonfinite_target_error(where: str | Path, target: str, bad: int, n: int) -> InputFileError:
    """The error for a truth column holding NaN or inf: names the file, the target and how many events."""
    return InputFileError(
        f"{where}: targets/{target} is NaN or inf in {bad} of {n} events; the truth must be finite "
        "(convert the events again: the converter refuses such events)"
    )


def check_finite_targets(path: str | Path, targets: Sequence[str], chunk_events: int = 1 << 18) -> None:
    """Raise :func:`nonfinite_target_error` when a ``targets/<name>`` column of the file holds NaN or inf.

    Reads only those columns, ``chunk_events`` events at a time; columns the file lacks are
    skipped (whoever needs them says so).
    """
    path = Path(path)
    with open_tensor_file(path) as f:
        n = _n_events(f)
        for name in targets:
            if f"targets/{name}" not in f:
                continue
            ds = f[f"targets/{name}"]
            bad = sum(nonfinite_events(ds[a : a + chunk_events]) for a in range(0, n, chunk_events))
            if bad:
                raise nonfinite_target_error(path, name, bad, n)


def read_tensors(
    path: str | Path, start: int | None = None, stop: int | None = None, trace_dtype: str = "float32"
) -> Batch:
    """Events [start, stop) of a tensor file as a CPU :class:`~airshower.batch.Batch`.

    traces (B, G, G, T) float32 (``trace_dtype="float16"`` halves the memory), start_time
    (B, G, G) float32, state (B, G, G) int8, position (B, G, G, 3) float32; targets: every
    column of the file's ``targets/`` group (:data:`TARGETS`), float32. Schema version checked.
    """
    import torch

    from airshower.batch import Batch

    arrays = read_arrays(path, start, stop, trace_dtype=trace_dtype)
    targets = {
        key.split("/", 1)[1]: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
        for key, value in arrays.items()
        if key.startswith("targets/")
    }
    return Batch(
        traces=torch.from_numpy(arrays["inputs/traces"]),
        start_time=torch.from_numpy(np.ascontiguousarray(arrays["inputs/start_time"], dtype=np.float32)),
        state=torch.from_numpy(np.ascontiguousarray(arrays["inputs/state"], dtype=np.int8)),
        position=torch.from_numpy(np.ascontiguousarray(arrays["inputs/position"], dtype=np.float32)),
        targets=targets,
    )
