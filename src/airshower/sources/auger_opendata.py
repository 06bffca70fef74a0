"""The Auger Open Data as a data source: measured SD events of the Pierre Auger Observatory.

The release (Pierre Auger Collaboration, Auger Open Data, 2024 version, DOI
10.5281/zenodo.10488964, CC BY-SA 4.0; docs/auger-open-data.md) holds 10% of the
Observatory's cosmic-ray events as one JSON file per event, ``Auger_<id>.json`` with the
12-digit event ``id``, plus summary CSV files with one row per reconstructed event and, for
hybrid events, per fluorescence-detector (FD) eye. This source reads the JSON files
(``files``), optionally the summary CSV of the SD-1500 events (``summary``) for the FD
reference values, and yields the events contract of :mod:`airshower.sources.base`.

Field names, units and where they were confirmed
-------------------------------------------------
Public code and pages that read the release (facts only; nothing of their code is used here):

* [A] repository ``abdul-samad021/auger_direction_reconstruction``: ``src/auger_reco/data/event_json.py``
  and ``tests/test_event_json.py`` (an adapter for the release's JSON format version 2, with a
  complete event as test fixture), ``docs/auger_tutorial_audit.md`` (what the release's own
  notebooks ``plot_json.ipynb``/``plot_csv.ipynb`` of DOI 10.5281/zenodo.10488964 establish),
  ``docs/field_policy.md``, ``notebooks/01_explore_first_event.ipynb`` (one real event,
  ``Auger_081847956000.json``, its sections and five stations printed);
* [B] the release's data page ``https://opendata.auger.org/data.php`` (pages corpus): "one
  [JSON file] for each event, named Auger_yydddsssssxx.json, where yydddsssssxx is the id";
  events seen by several FD eyes "appear once per Eye in the summary file";
* [C] public analysis code of the 2021 release read from the code index without its
  repository name (index files 29752591614, 48631629716): ``summary/dataSummary.csv`` with
  ``id``, ``fd_xmax``, ``fd_dxmax``, ``fd_totalEnergy`` (EeV: lg(E/eV) = log10 + 18),
  ``fd_dtotalEnergy``, ``fd_hdXmaxEye`` (1: the eye's Xmax passes the quality selection), and
  ``summary/dataSummarySD1500.csv`` with ``id``, ``sdid``, ``sd_energy`` [EeV], ``sd_exposure``,
  rows repeated per eye (``drop_duplicates("id")``); a preregistration in the same index
  (file 67440000707) names ``summary.zip`` of record 10488964 and ``summary/dataSummarySD1500.csv``.

JSON keys read, their meaning and unit, and the source that confirmed them:

* ``info.id``: the event id, an integer, the file name's 12 digits [A, B];
* ``flags.sd1500``: 1 for an SD-1500 event (``flags.sd750``: the infill array) [A];
* ``stations``: the event's stations, all triggered ones [A];
* ``stations[].id``: station id, an integer [A];
* ``stations[].x``, ``.y``, ``.z``: position [m] in the Auger site frame (x ~ east, y ~ north,
  z relative to the site's reference altitude of 1400 m) [A];
* ``stations[].t``: start of the shower signal [ns] within the GPS second [A];
* ``stations[].signal``: the integrated signal [VEM] [A];
* ``stations[].sat``: saturation state of the gain channels, 0, 1 or 2 [A];
* ``stations[].isSelected``: 1 used by the official reconstruction, 0 rejected [A];
* ``stations[].signalStartBin``: first bin of the signal in the traces [A, name only];
* ``stations[].pmt1``, ``.pmt2``, ``.pmt3``: the trace of each PMT [VEM per 25 ns bin], an
  empty list for a PMT without one [A].

Not confirmed, and how this reader copes (say so where it matters):

* the coding of ``sat`` beyond "0, 1 or 2": read as 0 none, 1 high gain saturated, 2 low gain
  saturated (the five stations of [A]'s event, 96-908 VEM, all have ``sat`` 1: high gain only).
  ``saturated`` = ``sat >= 2``, the low-gain saturation the simulator flags; a JSON boolean is
  taken as it is;
* that ``signalStartBin`` indexes the PMT arrays (the name says so; not documented in what I
  read); absent: the window starts at bin 0;
* the trace length (768 bins of 25 ns in the UB electronics of 2004-2018) and whether the
  traces are baseline-subtracted (the tutorial derives ``t`` from baseline-subtracted traces):
  traces are taken as they are, of any length;
* that ``t`` never wraps at the GPS second within an event: a spread above 0.5 s is read as a
  wrap and 1 s is added to the early-second times;
* the summary's column names in the 2024 version, and which file carries the FD columns:
  accepted names in :data:`SUMMARY_COLUMNS` (the 2021 names first);
* no key for the event id other than ``info.id``: a top-level ``id`` (the older public event
  format) is accepted too.

Choices
-------
* **Events**: one file = one event. Events whose ``flags.sd1500`` is 0 (SD-750 or other
  samples in the same folder) are skipped (:attr:`AugerOpenDataSource.skipped` lists them);
  events without ``flags`` are kept.
* **Stations**: those with ``isSelected`` 1 (absent: 1). Every station the release lists is
  triggered; the rejected ones are accidental triggers off the shower front, which the
  simulation behind the networks does not produce (``selected_only=False`` keeps them).
  ``triggered`` and ``working`` are True for every station read.
* **Positions**: (x, y) mapped into the array frame (:class:`~airshower.detector.positions.LatticeFit`);
  z + 1400 m, the site's reference altitude ([A], tutorial's site-to-UTM conversion), so that
  heights compare with the simulated array's 1400 m.
* **Start times**: ``t`` relative to the earliest station read in the event [ns].
* **Signal**: the release's ``signal`` [VEM].
* **Traces**: the mean of the PMTs that have a trace, in VEM per bin. The network's traces
  start at the signal start (as the simulator stores them), so the window starts at
  ``signalStartBin``: ``trace_bins`` x k source bins from there, k = ``bin_ns`` / 25 ns,
  summed k by k (rebinning by summing keeps VEM per bin and the total); bins before the signal
  start (baseline) and after the window are cut, a window past the trace end is padded with
  zeros. ``bin_ns`` must be an integer multiple of 25 ns: finer bins cannot be made from 25 ns
  bins, and other ratios would split bins (refused when the source is made).
* **Array**: the release's JSON files carry station positions per event; the station list of
  the release (``sdMap.csv``, UTM, [A]) is in another frame and archive, so the array is built
  from the union of the stations read in the dataset's files (each at its median position over
  the files), with :func:`~airshower.detector.positions.fit_sightings`; each event's stations
  are checked against it (:meth:`~airshower.detector.positions.LatticeFit.place`). Consequence: a station
  that never appears in the dataset is no station of the array (its cell reads as absent, not
  silent), which matters only for small subsets of the release. Two station ids in one cell
  (replaced stations, twin stations) become one array station (``shared_cells="merge"``);
  should both appear in one event, the lower real id is kept.
* **6T5** (``event_t5``): the release lists triggered stations only, neither silent nor dead
  ones; the flag is True where all six lattice neighbours of the hottest station (largest
  signal; ties: lowest array index) are stations of the array, i.e. dead stations are not
  known and counted as working.
* **Reference** (with ``summary``): ``fd_xmax`` [g/cm2] and ``fd_energy`` [EeV] per event,
  joined on ``id``; an event seen by several eyes gets the inverse-variance weighted mean of
  its eyes (``fd_dxmax``, ``fd_dtotalEnergy``; plain mean without them), over the eyes whose
  ``fd_hdXmaxEye`` is 1 where that column exists; NaN for events without FD.

* **Chunks**: events in file order; ``chunk.path`` is the folder of the chunk's files and
  ``chunk.entry_start`` counts the events read before the chunk (skipped files not counted),
  so that :meth:`~airshower.io.events.StationChunk.where` names the folder, the event's place
  and its ``event_id`` (the file is ``Auger_<event_id>.json``); ``file_index`` gives the file.

Bad input raises :class:`~airshower.errors.InputFileError` naming the file, event and station.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from airshower.detector.array import Array
from airshower.detector.positions import DEFAULT_TOLERANCE_M, LatticeError, LatticeFit, fit_sightings
from airshower.errors import ConfigError, InputFileError
from airshower.hexgrid import neighbours
from airshower.io.events import STATION_FIELDS, StationChunk
from airshower.sources.base import EventSource, SourceChunk, TraceFormat

SOURCE_BIN_NS = 25.0  # the release's FADC bins
SITE_ALTITUDE_M = 1400.0  # altitude of the Auger site frame's origin
SECOND_NS = 1e9
PMT_KEYS = ("pmt1", "pmt2", "pmt3")
REFERENCE_UNITS = {"fd_xmax": "g/cm2", "fd_energy": "EeV"}
# summary CSV: quantity -> accepted column names, in order of preference (module docstring)
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "fd_xmax": ("fd_xmax",),
    "fd_dxmax": ("fd_dxmax",),
    "fd_energy": ("fd_totalEnergy", "fd_energy", "fd_calEnergy"),
    "fd_denergy": ("fd_dtotalEnergy", "fd_denergy", "fd_dcalEnergy"),
    "quality": ("fd_hdXmaxEye",),
}


@dataclass
class _Event:
    """The stations read from one event file (traces only on the chunk pass)."""

    event_id: int
    ids: np.ndarray  # real station ids
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray  # site frame [m]
    t: np.ndarray  # [ns] within the GPS second
    signal: np.ndarray
    saturated: np.ndarray
    traces: np.ndarray | None


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            doc = json.load(handle)
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a JSON file ({type(exc).__name__}: {exc})") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc})") from exc
    if not isinstance(doc, dict):
        raise InputFileError(f"{path}: expected a JSON object (an Auger open-data event), got a {type(doc).__name__}")
    return doc


def _event_id(doc: Mapping[str, Any], path: Path) -> int:
    info = doc.get("info")
    if isinstance(info, Mapping) and "id" in info:
        value = info["id"]
    elif "id" in doc:
        value = doc["id"]
    else:
        raise InputFileError(f"{path}: not an Auger open-data event: missing key 'info.id' (the event id)")
    if isinstance(value, bool):
        raise InputFileError(f"{path}: 'info.id' = {value!r} is not an integer event id")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise InputFileError(f"{path}: 'info.id' = {value!r} is not an integer event id") from None
    return number


def _is_sd1500(doc: Mapping[str, Any]) -> bool:
    flags = doc.get("flags")
    if not isinstance(flags, Mapping) or "sd1500" not in flags:
        return True
    return bool(flags["sd1500"])


def _number(station: Mapping[str, Any], key: str, where: str) -> float:
    if key not in station:
        raise InputFileError(f"{where}: missing key '{key}'")
    value = station[key]
    if isinstance(value, (bool, str)) or value is None:
        raise InputFileError(f"{where}: '{key}' = {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputFileError(f"{where}: '{key}' = {value!r} is not a number") from None


def _saturated(station: Mapping[str, Any], where: str) -> bool:
    if "sat" not in station:
        raise InputFileError(f"{where}: missing key 'sat'")
    value = station["sat"]
    if isinstance(value, bool):
        return value
    return _number(station, "sat", where) >= 2.0


def _numbers(value: Any, where: str) -> np.ndarray:
    """A JSON list of numbers as float64 (null -> NaN); InputFileError for anything else."""
    if not isinstance(value, list):
        raise InputFileError(f"{where} is not a list of numbers")
    try:
        arr = np.array(value)
    except ValueError:  # nested lists of different lengths
        raise InputFileError(f"{where} is not a list of numbers") from None
    if arr.ndim == 1 and arr.dtype.kind in "iuf":
        return arr.astype(np.float64, copy=False)
    if arr.ndim == 1 and arr.dtype == object and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value
    ):
        return np.array([np.nan if v is None else v for v in value], dtype=np.float64)
    if arr.size == 0:
        return np.zeros(0)
    raise InputFileError(f"{where} is not a list of numbers")


def _pmt_mean(station: Mapping[str, Any], where: str) -> np.ndarray:
    """(L,) float64: the mean of the PMT traces present [VEM/bin]."""
    traces = []
    for key in PMT_KEYS:
        value = station.get(key)
        if value is None:
            continue
        trace = _numbers(value, f"{where}: '{key}'")
        if trace.size == 0:
            continue
        if not np.isfinite(trace).all():
            bad = int(np.flatnonzero(~np.isfinite(trace))[0])
            raise InputFileError(f"{where}: trace '{key}' holds NaN or an infinite value (bin {bad})")
        traces.append((key, trace))
    if not traces:
        raise InputFileError(f"{where}: no PMT trace ({', '.join(PMT_KEYS)} missing or empty)")
    lengths = {k: t.size for k, t in traces}
    if len(set(lengths.values())) > 1:
        raise InputFileError(f"{where}: PMT traces of different lengths {lengths}")
    return np.mean([t for _, t in traces], axis=0)


def window_trace(trace: np.ndarray, start: int, trace_bins: int, factor: int) -> np.ndarray:
    """``trace_bins`` bins of ``factor`` source bins each from source bin ``start`` (summed;
    zeros past the trace end), float32."""
    need = trace_bins * factor
    out = np.zeros(need, dtype=np.float64)
    part = trace[start:start + need]
    out[: part.size] = part
    return out.reshape(trace_bins, factor).sum(axis=1).astype(np.float32)


class AugerOpenDataSource(EventSource):
    """The Auger Open Data JSON events (module docstring).

    ``files``: the event JSON files (expanded paths); ``summary``: the summary CSV with the FD
    columns (e.g. ``summary/dataSummarySD1500.csv``), or None for no reference values;
    ``trace_bins``/``bin_ns``: the trace format of the network to feed (``bin_ns`` an integer
    multiple of 25 ns); ``position_tolerance_m``: largest distance of a station from its lattice
    node (:data:`~airshower.detector.positions.DEFAULT_TOLERANCE_M`); ``selected_only``: read
    only the stations the official reconstruction selected; ``shared_cells``: ``"merge"`` or
    ``"refuse"`` station ids that share a lattice cell.

    :attr:`event_files`: the JSON files; :attr:`files` (provenance, ``file_index``): the JSON
    files, then the summary CSV.
    """

    kind: ClassVar[str] = "auger_opendata"
    options: ClassVar[tuple[str, ...]] = ("paths", "summary", "position_tolerance_m")

    def __init__(
        self,
        files: Sequence[str | Path],
        summary: str | Path | None = None,
        trace_bins: int = 120,
        bin_ns: float = 25.0,
        position_tolerance_m: float = DEFAULT_TOLERANCE_M,
        selected_only: bool = True,
        shared_cells: str = "merge",
    ) -> None:
        super().__init__(files)
        self.event_files = list(self.files)
        if not self.event_files:
            raise ConfigError("auger_opendata: no event files (JSON) given")
        if int(trace_bins) != trace_bins or trace_bins < 1:
            raise ConfigError(f"auger_opendata: trace_bins must be a positive integer, got {trace_bins!r}")
        ratio = float(bin_ns) / SOURCE_BIN_NS
        if not (bin_ns > 0 and abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1):
            raise ConfigError(
                f"auger_opendata: the release's traces have {SOURCE_BIN_NS:g} ns bins; a network with bin_ns = "
                f"{bin_ns!r} ns cannot be fed: it needs an integer multiple of {SOURCE_BIN_NS:g} ns (25, 50, 75, ...), "
                "as finer bins cannot be made from 25 ns bins and other ratios would split them"
            )
        if not position_tolerance_m > 0:
            raise ConfigError(
                f"auger_opendata: position_tolerance_m must be positive, got {position_tolerance_m!r}"
            )
        if shared_cells not in ("merge", "refuse"):
            raise ConfigError(f"auger_opendata: shared_cells must be 'merge' or 'refuse', got {shared_cells!r}")
        self.summary = Path(summary) if summary is not None else None
        if self.summary is not None:
            self.files.append(self.summary)  # provenance: its size and checksum, after the events
        self.trace_bins = int(trace_bins)
        self.bin_ns = float(bin_ns)
        self.factor = int(round(ratio))
        self.tolerance_m = float(position_tolerance_m)
        self.selected_only = bool(selected_only)
        self.shared_cells = shared_cells
        self.skipped: list[tuple[Path, str]] = []  # (file, reason) of events not read (set by the scan)
        self._lattice: LatticeFit | None = None
        self._references: dict[str, dict[int, float]] | None = None

    @classmethod
    def from_entry(
        cls, files: Sequence[str | Path], entry: Mapping[str, Any], trace_bins: int = 120, bin_ns: float = 25.0
    ) -> AugerOpenDataSource:
        """The source of a dataset entry (``paths``, ``summary``, ``position_tolerance_m``) over
        ``files`` (:func:`airshower.sources.input_files`: the JSON files, then the summary);
        the trace format of the network to feed: ``entry["trace_format"]`` (``trace_bins``,
        ``bin_ns``, as :func:`airshower.convert.dataset_source` sets it), else the arguments."""
        fmt = entry.get("trace_format") or {}
        trace_bins = int(fmt.get("trace_bins", trace_bins))
        bin_ns = float(fmt.get("bin_ns", bin_ns))
        summary = entry.get("summary")
        events = [Path(f) for f in files]
        if summary:
            events = [f for f in events if f != Path(summary)]
        return cls(
            events, summary=summary or None, trace_bins=trace_bins, bin_ns=bin_ns,
            position_tolerance_m=float(entry.get("position_tolerance_m", DEFAULT_TOLERANCE_M)),
        )

    # --- the interface ---------------------------------------------------------------------

    def trace_format(self) -> TraceFormat:
        return TraceFormat(self.trace_bins, self.bin_ns)

    def has_truth(self) -> bool:
        return False

    def reference_fields(self) -> dict[str, str]:
        return dict(REFERENCE_UNITS) if self.summary is not None else {}

    def array(self) -> Array:
        """The stations of the dataset on the lattice (reads every file once, then cached)."""
        return self.lattice.array

    def site_lattice(self) -> LatticeFit:
        return self.lattice

    @property
    def lattice(self) -> LatticeFit:
        """The :class:`~airshower.detector.positions.LatticeFit` of the dataset's stations (site -> array frame)."""
        if self._lattice is None:
            self._scan()
        assert self._lattice is not None
        return self._lattice

    def chunks(self, chunk_events: int, event_fields: Sequence[str]) -> Iterator[SourceChunk]:
        if chunk_events < 1:
            raise ValueError(f"chunk_events must be >= 1, got {chunk_events}")
        available = ["event_id", "event_t5", *self.reference_fields()]
        missing = [f for f in event_fields if f not in available]
        if missing:
            raise InputFileError(
                f"{self.event_files[0].parent}: the Auger open data has no event field(s) {missing} "
                f"(it has {available}{'' if self.summary else '; the FD reference values need the summary CSV'})"
            )
        lattice = self.lattice
        references = self._reference_values() if self.summary is not None else {}
        pending: list[tuple[int, _Event]] = []
        entry = 0
        for index, path in enumerate(self.event_files):
            doc = _load(path)
            if not _is_sd1500(doc):
                continue
            pending.append((index, self._read_event(doc, path, lattice, traces=True)))
            if len(pending) == chunk_events:
                yield self._chunk(pending, entry, event_fields, references)
                entry += len(pending)
                pending = []
        if pending:
            yield self._chunk(pending, entry, event_fields, references)

    # --- reading ---------------------------------------------------------------------------

    def _read_event(self, doc: Mapping[str, Any], path: Path, lattice: LatticeFit | None, traces: bool) -> _Event:
        """The stations of one event (selected ones by default), checked; with traces windowed."""
        event_id = _event_id(doc, path)
        where = f"{path}: event {event_id}"
        if "stations" not in doc:
            raise InputFileError(f"{where}: missing key 'stations'")
        stations = doc["stations"]
        if not isinstance(stations, list):
            raise InputFileError(f"{where}: 'stations' is not a list")
        if not stations:
            raise InputFileError(f"{where}: the event lists no stations")
        rows: list[tuple[int, float, float, float, float, float, bool]] = []
        trace_rows: list[np.ndarray] = []
        for k, st in enumerate(stations):
            if not isinstance(st, Mapping):
                raise InputFileError(f"{where}: station #{k} is not a JSON object")
            if "id" not in st:
                raise InputFileError(f"{where}: station #{k}: missing key 'id'")
            sid = st["id"]
            if isinstance(sid, bool) or not isinstance(sid, (int, float)) or (
                isinstance(sid, float) and not sid.is_integer()
            ):
                raise InputFileError(f"{where}: station #{k}: 'id' = {sid!r} is not an integer")
            sid = int(sid)
            swhere = f"{where}, station {sid}"
            if self.selected_only and "isSelected" in st and not _flag(st["isSelected"], f"{swhere}: 'isSelected'"):
                continue
            x, y, z, t, signal = (_number(st, key, swhere) for key in ("x", "y", "z", "t", "signal"))
            for key, value in (("x", x), ("y", y), ("z", z), ("t", t), ("signal", signal)):
                if not np.isfinite(value):
                    raise InputFileError(f"{swhere}: '{key}' = {value} (NaN or infinite)")
            rows.append((sid, x, y, z, t, signal, _saturated(st, swhere)))
            if traces:
                start = 0
                if "signalStartBin" in st:
                    start_value = _number(st, "signalStartBin", swhere)
                    if not (np.isfinite(start_value) and start_value >= 0 and start_value.is_integer()):
                        raise InputFileError(f"{swhere}: 'signalStartBin' = {start_value:g} is not a bin index")
                    start = int(start_value)
                trace = _pmt_mean(st, swhere)
                if start >= trace.size:
                    raise InputFileError(
                        f"{swhere}: 'signalStartBin' = {start} lies beyond the trace of {trace.size} bins"
                    )
                trace_rows.append(window_trace(trace, start, self.trace_bins, self.factor))
        if not rows:
            raise InputFileError(f"{where}: no station selected by the official reconstruction (isSelected = 1)")
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise InputFileError(f"{where}: station {int(uniq[counts > 1][0])} is listed twice")
        cols = [np.array([r[i] for r in rows], dtype=np.float64) for i in range(1, 6)]
        t = cols[3]
        if t.max() - t.min() > SECOND_NS / 2:  # the event straddles a GPS second
            t = np.where(t < SECOND_NS / 2, t + SECOND_NS, t)
        event = _Event(event_id, ids, cols[0], cols[1], cols[2], t, cols[4],
                       np.array([r[6] for r in rows], dtype=bool),
                       np.stack(trace_rows) if traces else None)
        return event if lattice is None else self._on_lattice(event, path, lattice)

    def _on_lattice(self, event: _Event, path: Path, lattice: LatticeFit) -> _Event:
        """Check the stations against the lattice; merge stations of one cell (the lower real id stays)."""
        try:  # an unknown id cannot happen for files of the dataset: the array holds all their stations
            index = lattice.place(event.ids, event.x, event.y, self.tolerance_m).index
        except LatticeError as exc:
            raise InputFileError(f"{path}: event {event.event_id}, {exc}") from exc
        order = np.lexsort((event.ids, index))
        keep = order[np.r_[True, index[order][1:] != index[order][:-1]]]
        if keep.size < event.ids.size:
            keep = np.sort(keep)
            event = _Event(event.event_id, event.ids[keep], event.x[keep], event.y[keep], event.z[keep],
                           event.t[keep], event.signal[keep], event.saturated[keep],
                           None if event.traces is None else event.traces[keep])
        return event

    def _scan(self) -> None:
        """First pass: event ids (unique across files), skipped events, the stations' positions -> the lattice."""
        seen: dict[int, int] = {}
        first_file: dict[int, int] = {}  # station id -> index of a file it appears in
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.skipped = []
        for index, path in enumerate(self.event_files):
            doc = _load(path)
            if not _is_sd1500(doc):
                self.skipped.append((path, "flags.sd1500 = 0: not an SD-1500 event"))
                _event_id(doc, path)
                continue
            event = self._read_event(doc, path, None, traces=False)
            if event.event_id in seen:
                raise InputFileError(
                    f"{path}: event id {event.event_id} is also the id of {self.event_files[seen[event.event_id]]}"
                )
            seen[event.event_id] = index
            for sid in event.ids.tolist():
                first_file.setdefault(sid, index)
            parts.append((event.ids, event.x, event.y, event.z))
        if not parts:
            raise InputFileError(
                f"{self.event_files[0].parent}: none of the {len(self.event_files)} files holds an SD-1500 event"
            )
        ids, x, y, z = (np.concatenate([p[i] for p in parts]) for i in range(4))
        try:
            self._lattice = fit_sightings(
                ids, x, y, z + SITE_ALTITUDE_M, tolerance_m=self.tolerance_m, shared_cells=self.shared_cells
            )
        except LatticeError as exc:
            files = sorted({str(self.event_files[first_file[s]]) for s in exc.station_ids if s in first_file})
            raise InputFileError(f"{', '.join(files) or self.event_files[0].parent}: {exc}") from exc

    # --- reference values -------------------------------------------------------------------

    def _reference_values(self) -> dict[str, dict[int, float]]:
        if self._references is None:
            self._references = read_fd_reference(self.summary) if self.summary is not None else {}
        return self._references

    # --- chunks -----------------------------------------------------------------------------

    def _chunk(
        self,
        pending: list[tuple[int, _Event]],
        entry: int,
        event_fields: Sequence[str],
        references: Mapping[str, Mapping[int, float]],
    ) -> SourceChunk:
        lattice = self.lattice
        events = [e for _, e in pending]
        counts = np.array([e.ids.size for e in events], dtype=np.int64)
        index = np.concatenate([lattice.indices(e.ids) for e in events])
        x, y = lattice.to_array_frame(np.concatenate([e.x for e in events]), np.concatenate([e.y for e in events]))
        start = np.concatenate([e.t - e.t.min() for e in events])
        signal = np.concatenate([e.signal for e in events])
        n_st = int(counts.sum())
        stations = {
            "id": index.astype(np.int32),
            "x": x.astype(np.float32),
            "y": y.astype(np.float32),
            "z": (np.concatenate([e.z for e in events]) + SITE_ALTITUDE_M).astype(np.float32),
            "signal": signal.astype(np.float32),
            "start_time": start.astype(np.float64),
            "saturated": np.concatenate([e.saturated for e in events]),
            "triggered": np.ones(n_st, dtype=bool),
            "working": np.ones(n_st, dtype=bool),
        }
        for name, dtype in STATION_FIELDS.items():
            stations[name] = stations[name].astype(dtype, copy=False)
        traces = np.concatenate([e.traces for e in events]).astype(np.float32, copy=False)
        ids = np.array([e.event_id for e in events], dtype=np.int64)
        values: dict[str, np.ndarray] = {"event_id": ids, "event_t5": self._six_t5(events, lattice)}
        for name in self.reference_fields():
            table = references.get(name, {})
            values[name] = np.array([table.get(int(i), np.nan) for i in ids], dtype=np.float64)
        root = Path(os.path.commonpath([str(self.event_files[i].parent) for i, _ in pending]))
        chunk = StationChunk(root, entry, {k: values[k] for k in event_fields}, counts, stations, traces,
                             event_paths=[self.event_files[i] for i, _ in pending])
        return SourceChunk(np.array([i for i, _ in pending], dtype=np.int32), self.check(chunk))

    @staticmethod
    def _six_t5(events: Sequence[_Event], lattice: LatticeFit) -> np.ndarray:
        """Per event: the six lattice neighbours of the hottest station are stations of the array."""
        arr = lattice.array
        hottest = np.empty(len(events), dtype=np.int64)
        for k, e in enumerate(events):
            index = lattice.indices(e.ids)
            top = e.signal == e.signal.max()
            hottest[k] = index[top].min()
        nq, nr = neighbours(arr.q[hottest], arr.r[hottest])
        return (arr.station_at(nq, nr) >= 0).all(axis=1)


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise InputFileError(f"{where} = {value!r}, expected 0 or 1")


def _column(header: Sequence[str], quantity: str, path: Path, required: bool) -> str | None:
    for name in SUMMARY_COLUMNS[quantity]:
        if name in header:
            return name
    if required:
        raise InputFileError(
            f"{path}: the summary CSV has no column {' or '.join(repr(n) for n in SUMMARY_COLUMNS[quantity])}"
        )
    return None


def _float(text: str, path: Path, line: int, column: str) -> float:
    text = text.strip()
    if text == "" or text.lower() in ("nan", "null", "none"):
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise InputFileError(f"{path}: line {line}: column '{column}' = {text!r} is not a number") from None


def read_fd_reference(path: str | Path) -> dict[str, dict[int, float]]:
    """``{"fd_xmax": {id: g/cm2}, "fd_energy": {id: EeV}}`` from a summary CSV of the release.

    One row per event and FD eye; an event's value is the inverse-variance weighted mean over
    its eyes with a finite value (and ``fd_hdXmaxEye`` = 1 where that column exists), the plain
    mean where the uncertainty column is absent or not positive. Events without such a row are
    absent. Raises InputFileError naming the file (and line, column) for a missing ``id`` or
    ``fd_xmax`` column, or a value that is not a number.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"{path}: the summary CSV is empty")
            header = [h.strip() for h in header]
            names = {q: _column(header, q, path, required=q in ("id", "fd_xmax")) for q in SUMMARY_COLUMNS}
            col = {q: header.index(n) for q, n in names.items() if n is not None}
            rows: dict[str, list[float]] = {q: [] for q in col}
            ids: list[int] = []
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    raise InputFileError(f"{path}: line {line} has {len(row)} columns, the header {len(header)}")
                text = row[col["id"]].strip()
                try:
                    ids.append(int(text))
                except ValueError:
                    value = _float(text, path, line, names["id"] or "id")
                    if not np.isfinite(value) or value != int(value):
                        raise InputFileError(
                            f"{path}: line {line}: column 'id' = {text!r} is not an event id"
                        ) from None
                    ids.append(int(value))
                for q, c in col.items():
                    if q != "id":
                        rows[q].append(_float(row[c], path, line, names[q] or q))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not a text (CSV) file ({exc})") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc})") from exc
    event = np.asarray(ids, dtype=np.int64)
    good = np.ones(event.size, dtype=bool)
    if "quality" in rows:
        good &= np.asarray(rows["quality"]) == 1
    out: dict[str, dict[int, float]] = {}
    for name, sigma_name in (("fd_xmax", "fd_dxmax"), ("fd_energy", "fd_denergy")):
        if name not in rows:
            continue
        value = np.asarray(rows[name], dtype=np.float64)
        use = good & np.isfinite(value)
        sigma = np.asarray(rows[sigma_name], dtype=np.float64) if sigma_name in rows else np.full(event.size, np.nan)
        weight = np.where(np.isfinite(sigma) & (sigma > 0), 1.0 / np.where(sigma > 0, sigma, 1.0) ** 2, np.nan)
        uniq, inverse = np.unique(event[use], return_inverse=True)
        w = weight[use]
        # per event: weighted where every eye has an uncertainty, plain mean otherwise
        all_weighted = np.bincount(inverse, weights=np.isnan(w).astype(float), minlength=uniq.size) == 0
        w_eff = np.where(all_weighted[inverse], w, 1.0)
        w_eff = np.nan_to_num(w_eff, nan=1.0)
        mean = np.bincount(inverse, weights=w_eff * value[use], minlength=uniq.size) / np.bincount(
            inverse, weights=w_eff, minlength=uniq.size
        )
        out[name] = dict(zip(uniq.tolist(), mean.tolist()))
    return out
