"""The data-source interface: where a dataset's events come from, as the converter needs them.

A source turns some files (our simulated ROOT events files, events files of another
simulation in the same contract, the Auger open data, ...) into bounded
:class:`~airshower.io.events.StationChunk` s that follow the events contract
(docs/events-format.md):

* ``chunk.events``: per-event arrays, at least ``event_id`` (int64, unique within the
  dataset) and ``event_t5`` (bool, 6T5 of the hottest station), the Monte-Carlo truth fields
  of :func:`airshower.targets.truth_fields` when :meth:`EventSource.has_truth`, and the
  :meth:`EventSource.reference_fields` (e.g. an independent measurement of Xmax);
* ``chunk.stations``: per-station arrays of the fields of
  :data:`airshower.io.events.STATION_FIELDS`, ``id`` indexing :meth:`EventSource.array`,
  positions in that array's frame [m];
* ``chunk.traces``: (stations, T) [VEM/bin] in bins of :meth:`EventSource.trace_format`.

The converter (:func:`airshower.convert.convert_source`) knows nothing else about a source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from airshower.detector.array import Array, sd1500

if TYPE_CHECKING:  # the ROOT reader (uproot, awkward) is imported by the sources that read ROOT
    from airshower.detector.positions import LatticeFit
    from airshower.io.events import StationChunk


@dataclass(frozen=True)
class TraceFormat:
    """Traces of ``trace_bins`` bins of ``bin_ns`` [ns] each."""

    trace_bins: int
    bin_ns: float


class SourceChunk(NamedTuple):
    """A chunk of events and, per event, the index of its file in :attr:`EventSource.files` (int32)."""

    file_index: np.ndarray
    chunk: "StationChunk"


class EventSource(ABC):
    """Where the events of one dataset come from.

    ``files``: every file the events are read from, in order (their size and sha256 become the
    tensor file's provenance). Subclasses set :attr:`kind`, the name a dataset gives in its
    ``source`` key, and :attr:`options`, the keys of a dataset entry they read besides it.
    """

    kind: ClassVar[str]
    options: ClassVar[tuple[str, ...]] = ("paths",)

    def __init__(self, files: Sequence[str | Path]) -> None:
        self.files = [Path(f) for f in files]

    @classmethod
    def from_entry(cls, files: Sequence[str | Path], entry: Mapping[str, Any]) -> EventSource:
        """The source of a dataset's config entry (its options beside ``source``) over ``files``,
        the paths :func:`airshower.sources.input_files` listed. Default: the files alone."""
        return cls(files)

    @abstractmethod
    def trace_format(self) -> TraceFormat:
        """Bins and bin width of the traces the chunks carry (one format per dataset)."""

    @abstractmethod
    def has_truth(self) -> bool:
        """Whether every event carries the Monte-Carlo truth fields (all events or none)."""

    def array(self) -> Array:
        """The station layout that ``station.id`` indexes (default: the SD-1500 lattice)."""
        return sd1500()

    def site_lattice(self) -> LatticeFit | None:
        """How the array was fitted to real station positions (station ids, rotation, origin), for
        sources whose stations are not on SD-1500's lattice; None where the ids index SD-1500.
        The converter stores it (the tensor file's ``site/`` group), so that reconstructed events
        can be put back into the site frame."""
        return None

    def reference_fields(self) -> dict[str, str]:
        """Per-event reference values carried into the tensor file's ``reference/`` group,
        name -> unit (NaN where an event has none); e.g. the Xmax the fluorescence detector
        measured for hybrid events. Not truth: never trained on."""
        return {}

    def check(self, chunk: StationChunk) -> StationChunk:
        """``chunk`` checked against the events contract (docs/events-format.md), for sources that
        build chunks themselves: station arrays of ``sum(counts)`` entries, traces of
        (stations, T) of :meth:`trace_format`, ids unique per event and inside :meth:`array`,
        finite positions, signals, times, traces and float event fields (reference fields may be
        NaN: no value for that event). Returns it; raises
        :class:`~airshower.errors.InputFileError` naming the file and event."""
        from airshower.errors import InputFileError
        from airshower.io.events import check_finite_traces, validate_chunk

        counts = np.asarray(chunk.counts, dtype=np.int64)
        n_rows = int(counts.sum())
        bins = self.trace_format().trace_bins
        for name, values in chunk.stations.items():
            if len(values) != n_rows:
                raise InputFileError(f"{chunk.path}: station field {name!r} has {len(values)} entries, "
                                     f"the events count {n_rows} stations")
        traces = chunk.traces
        if traces is None or traces.ndim != 2 or traces.shape != (n_rows, bins):
            shape = None if traces is None else traces.shape
            raise InputFileError(f"{chunk.path}: traces of shape {shape}, expected ({n_rows}, {bins})")
        lengths = {name: counts for name in chunk.stations}
        validate_chunk(chunk, lengths, counts * bins, bins, self.array().n, tuple(self.reference_fields()))
        check_finite_traces(chunk)
        return chunk

    @abstractmethod
    def chunks(self, chunk_events: int, event_fields: Sequence[str]) -> Iterator[SourceChunk]:
        """The events in chunks of at most ``chunk_events``, each with the per-event fields
        ``event_fields`` (plus the station fields and traces), validated: anything off the
        contract raises :class:`~airshower.errors.InputFileError` naming the file and event."""
