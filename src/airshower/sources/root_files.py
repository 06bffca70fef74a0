"""Events files in the project's ROOT contract (docs/events-format.md) as a data source.

Two kinds of dataset read them: ``simulate`` (the shards the simulator wrote for the
dataset, ``data/{study}/sim/{dataset}/{shard}.root``) and ``files`` (events files given by
path or glob: another simulation, a copy of a finished study's events).

Station positions (``positions``, dataset key of ``files``):

* ``"lattice"`` (default; the simulator's shards): ``station.id`` indexes the SD-1500 lattice
  (:func:`airshower.detector.array.sd1500`) and ``station.x/.y/.z`` are its positions in the
  array frame;
* ``"site"``: another simulation of a real array (or real data) in its own terms:
  ``station.id`` are the producer's station ids (any non-negative int32) and
  ``station.x/.y/.z`` positions [m] in any site frame (UTM easting/northing, a local frame;
  z above sea level). A first pass reads the station ids and positions of every event (those
  branches only), puts each id at its median position and fits the lattice to them
  (:func:`~airshower.detector.positions.fit_sightings`, tolerance ``position_tolerance_m``);
  :meth:`RootEventsSource.array` is the fitted array (the stations seen in the files at their
  real positions, in the array frame), and :meth:`RootEventsSource.chunks` maps each chunk's
  ids to array indices and its positions into the array frame
  (:meth:`~airshower.detector.positions.LatticeFit.place`). Refused, naming the file(s): a
  station farther than the tolerance from its node (by id, with its offset), two station ids
  in one cell, and a station that lies elsewhere in one event (moved beyond the tolerance or
  into another cell; by file, entry, event id and station, with its offset). A station never
  seen in the files is no station of the array: its cell reads as absent, not silent.
  Monte-Carlo truth of such files is in the site frame too: the core ``mc_core_x/_y`` is mapped
  into the array frame with the stations, and ``mc_azimuth`` (counter-clockwise from the site
  frame's +x axis, e.g. east for UTM) becomes the azimuth from the array frame's +x axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from airshower.detector.array import Array
from airshower.detector.positions import DEFAULT_TOLERANCE_M, LatticeError, LatticeFit, fit_sightings
from airshower.errors import ConfigError, InputFileError
from airshower.io.events import (
    STATION_FIELDS,
    TREE,
    StationChunk,
    check_station_lengths,
    cluster_starts,
    entry_ranges,
    iterate_station_chunks,
    open_events_tree,
    read_meta,
    truth_present,
)
from airshower.sources.base import EventSource, SourceChunk, TraceFormat
from airshower.targets import truth_fields

POSITIONS = ("lattice", "site")
SCAN_EVENTS = 200_000  # events per read of the first pass (ids and positions only: ~1 kB per event)


class RootEventsSource(EventSource):
    """Events files in the ROOT contract, read in order (events keep it).

    ``positions``: ``"lattice"`` (ids index SD-1500) or ``"site"`` (the producer's ids and
    site positions, the array fitted to them; module docstring); ``position_tolerance_m``:
    with ``"site"``, the largest distance of a station from its lattice node [m].

    Raises :class:`InputFileError` for an empty list, files of different trace formats and
    a dataset that mixes files with and without Monte-Carlo truth; :class:`ConfigError` for an
    unknown ``positions`` or a tolerance that is not positive.
    """

    kind = "files"
    options = ("paths", "positions", "position_tolerance_m")

    def __init__(
        self,
        files: Sequence[str | Path],
        positions: str = "lattice",
        position_tolerance_m: float = DEFAULT_TOLERANCE_M,
    ) -> None:
        super().__init__(files)
        if positions not in POSITIONS:
            raise ConfigError(f"{self.kind}: positions must be one of {list(POSITIONS)}, got {positions!r}")
        if not (isinstance(position_tolerance_m, (int, float)) and position_tolerance_m > 0):
            raise ConfigError(f"{self.kind}: position_tolerance_m must be positive, got {position_tolerance_m!r}")
        if not self.files:
            raise InputFileError("no events files to read")
        self.positions = positions
        self.tolerance_m = float(position_tolerance_m)
        self._metas: list[dict[str, Any]] = [read_meta(p) for p in self.files]
        self._format = self._common_format()
        self._truth = self._common_truth()
        self._lattice: LatticeFit | None = None

    @classmethod
    def from_entry(cls, files: Sequence[str | Path], entry: Mapping[str, Any]) -> RootEventsSource:
        """The source of a dataset entry (``positions``, ``position_tolerance_m``) over ``files``."""
        return cls(
            files,
            positions=str(entry.get("positions", "lattice")),
            position_tolerance_m=float(entry.get("position_tolerance_m", DEFAULT_TOLERANCE_M)),
        )

    def _common_format(self) -> TraceFormat:
        first, meta = self.files[0], self._metas[0]
        bins, bin_ns = meta.get("trace_bins"), meta.get("bin_ns")
        for path, other in zip(self.files[1:], self._metas[1:]):
            if (other.get("trace_bins"), other.get("bin_ns")) != (bins, bin_ns):
                raise InputFileError(
                    f"{path}: traces of {other.get('trace_bins')} bins of {other.get('bin_ns')} ns, but {first} has "
                    f"{bins} bins of {bin_ns} ns; a dataset needs one trace format"
                )
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
            raise InputFileError(f"{first}: metadata 'trace_bins' = {bins!r}, expected a positive integer")
        if not isinstance(bin_ns, (int, float)) or isinstance(bin_ns, bool) or not bin_ns > 0:
            raise InputFileError(f"{first}: metadata 'bin_ns' = {bin_ns!r}, expected a positive number")
        return TraceFormat(int(bins), float(bin_ns))

    def _common_truth(self) -> bool:
        present = [truth_present(p, truth_fields()) for p in self.files]
        if any(present) and not all(present):
            a, b = self.files[present.index(True)], self.files[present.index(False)]
            raise InputFileError(f"{b}: holds no Monte-Carlo truth, but {a} does; a dataset is all simulation or all data")
        return bool(present[0])

    def trace_format(self) -> TraceFormat:
        return self._format

    def has_truth(self) -> bool:
        return self._truth

    def array(self) -> Array:
        """SD-1500 (``positions: lattice``), or the array fitted to the files' stations (``site``;
        reads the files' station ids and positions once, then cached)."""
        if self.positions == "lattice":
            return super().array()
        return self.lattice.array

    def site_lattice(self) -> LatticeFit | None:
        return self.lattice if self.positions == "site" else None

    @property
    def lattice(self) -> LatticeFit:
        """With ``positions: site``, the :class:`~airshower.detector.positions.LatticeFit` of the
        files' stations (site -> array frame); ValueError with ``positions: lattice``."""
        if self.positions != "site":
            raise ValueError(f"{self.kind}: positions {self.positions!r} fits no lattice (the ids index SD-1500)")
        if self._lattice is None:
            self._lattice = self._scan()
        return self._lattice

    def chunks(self, chunk_events: int, event_fields: Sequence[str]) -> Iterator[SourceChunk]:
        site = self.positions == "site"
        lattice = self.lattice if site else None
        n_stations = None if site else self.array().n  # site: producer ids, mapped below
        for index, (path, meta) in enumerate(zip(self.files, self._metas)):
            for chunk in iterate_station_chunks(
                path, int(chunk_events), tuple(event_fields), tuple(STATION_FIELDS), meta, n_stations
            ):
                if lattice is not None:
                    _to_array(chunk, lattice)
                yield SourceChunk(np.full(chunk.n_events, index, dtype=np.int32), chunk)

    # --- positions: site ---------------------------------------------------------------------

    def _scan(self) -> LatticeFit:
        """First pass: every station sighting (id, x, y, z) of every file -> the fitted lattice."""
        parts: list[tuple[np.ndarray, ...]] = []
        seen: list[np.ndarray] = []  # per file: its station ids (sorted, unique)
        for path in self.files:
            file_parts = list(_station_positions(path))
            parts += file_parts
            seen.append(np.unique(np.concatenate([p[0] for p in file_parts])) if file_parts else np.zeros(0, np.int64))
        if not parts or sum(p[0].size for p in parts) == 0:
            raise InputFileError(
                f"{self.files[0]}: the {len(self.files)} events file(s) hold no station: no array to fit "
                "(positions: site)"
            )
        ids, x, y, z = (np.concatenate([p[i] for p in parts]) for i in range(4))
        try:
            return fit_sightings(ids, x, y, z, tolerance_m=self.tolerance_m, shared_cells="refuse")
        except LatticeError as exc:
            files = []
            for sid in exc.station_ids:  # the first file each station appears in
                where = next((str(p) for p, s in zip(self.files, seen) if _contains(s, sid)), None)
                if where is not None and where not in files:
                    files.append(where)
            raise InputFileError(f"{', '.join(files) or self.files[0]}: {exc}") from exc


def _contains(sorted_ids: np.ndarray, sid: int) -> bool:
    k = int(np.searchsorted(sorted_ids, sid))
    return k < sorted_ids.size and int(sorted_ids[k]) == sid


def _to_array(chunk: StationChunk, lattice: LatticeFit) -> None:
    """A chunk of site ids and positions in place -> array indices and array-frame (x, y); the
    truth of the site frame too: the core (``mc_core_x/_y``) into the array frame, the azimuth
    (``mc_azimuth``, counter-clockwise from the site frame's +x) from the array frame's +x."""
    st = chunk.stations
    try:
        placed = lattice.place(st["id"], st["x"], st["y"])
    except LatticeError as exc:
        event = int(chunk.station_event()[exc.row]) if exc.row is not None else 0
        raise InputFileError(f"{chunk.where(event)}, {exc}") from exc
    st["id"] = placed.index.astype(np.int32)
    st["x"] = placed.x.astype(np.float32)
    st["y"] = placed.y.astype(np.float32)
    ev = chunk.events
    if "mc_core_x" in ev and "mc_core_y" in ev:
        cx, cy = lattice.to_array_frame(ev["mc_core_x"], ev["mc_core_y"])
        ev["mc_core_x"], ev["mc_core_y"] = cx.astype(ev["mc_core_x"].dtype), cy.astype(ev["mc_core_y"].dtype)
    if "mc_azimuth" in ev:
        azimuth = ev["mc_azimuth"].astype(np.float64) - lattice.angle_rad
        ev["mc_azimuth"] = (np.mod(azimuth + np.pi, 2.0 * np.pi) - np.pi).astype(ev["mc_azimuth"].dtype)


def _station_positions(path: Path, step: int = SCAN_EVENTS) -> Iterator[tuple[np.ndarray, ...]]:
    """(ids int64, x, y, z float64) of every stored station of every event of one file, read in
    bounded steps from the branches ``event_id`` and ``station.id/.x/.y/.z`` only; checks one
    length per event and finite positions (InputFileError naming file, entry and event)."""
    fields = ("id", "x", "y", "z")
    with open_events_tree(path) as (tree, keys, n_entries):
        if "station.id" in keys:  # records station.<field> (what uproot writes)
            names = ["event_id", *(f"station.{f}" for f in fields)]
        elif "station" in keys:  # a record without its subfields listed: read it whole
            names = ["event_id", "station"]
        else:  # flat station_<field>
            names = ["event_id", *(f"station_{f}" for f in fields)]
        missing = [n for n in names if n not in keys]
        if missing:
            raise InputFileError(f"{path}: tree '{TREE}' lacks the branch(es) {missing}")
        if n_entries == 0:
            return
        starts = cluster_starts(tree, names)
        for start, stop in entry_ranges(starts, n_entries, step):
            try:
                arrays = tree.arrays(filter_name=names, entry_start=start, entry_stop=stop)
            except Exception as exc:  # noqa: BLE001 - damaged pages
                raise InputFileError(
                    f"{path}: cannot read the station positions from entry {start} of {n_entries} "
                    f"({type(exc).__name__}); truncated or damaged file?"
                ) from exc
            jagged = {
                f: arrays["station", f] if "station" in arrays.fields else arrays[f"station_{f}"] for f in fields
            }
            counts = np.asarray(ak.num(jagged["id"], axis=1), dtype=np.int64)
            chunk = StationChunk(path, start, {"event_id": np.asarray(ak.to_numpy(arrays["event_id"]))},
                                 counts, {}, None)
            check_station_lengths(chunk, {f: np.asarray(ak.num(jagged[f], axis=1), dtype=np.int64) for f in fields[1:]})
            ids = np.asarray(ak.to_numpy(ak.flatten(jagged["id"], axis=1)), dtype=np.int64)
            xyz = [np.asarray(ak.to_numpy(ak.flatten(jagged[f], axis=1)), dtype=np.float64) for f in fields[1:]]
            for f, values in zip(fields[1:], xyz):
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    s = int(bad[0])
                    raise InputFileError(
                        f"{chunk.where(int(chunk.station_event()[s]))}: station {int(ids[s])} has "
                        f"station.{f} = {float(values[s])} (NaN or infinite)"
                    )
            yield (ids, *xyz)


class SimulatedSource(RootEventsSource):
    """The events files the simulator wrote for a dataset of this study (``source: simulate``;
    ids on the SD-1500 lattice)."""

    kind = "simulate"
    options = ("events", "shards", "seed", "simulation")

    @classmethod
    def from_entry(cls, files: Sequence[str | Path], entry: Mapping[str, Any]) -> SimulatedSource:
        return cls(files)
