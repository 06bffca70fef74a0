"""Events files in the project's ROOT contract (docs/events-format.md) as a data source.

Two kinds of dataset read them: ``simulate`` (the shards the simulator wrote for the
dataset, ``data/{study}/sim/{dataset}/{shard}.root``) and ``files`` (events files given by
path or glob: another simulation, a copy of a finished study's events). Station ids index
the SD-1500 lattice (:func:`airshower.detector.array.sd1500`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airshower.errors import InputFileError
from airshower.io.events import STATION_FIELDS, iterate_station_chunks, read_meta, truth_present
from airshower.sources.base import EventSource, SourceChunk, TraceFormat
from airshower.targets import truth_fields


class RootEventsSource(EventSource):
    """Events files in the ROOT contract, read in order (events keep it).

    Raises :class:`InputFileError` for an empty list, files of different trace formats and
    a dataset that mixes files with and without Monte-Carlo truth.
    """

    kind = "files"

    def __init__(self, files: Sequence[str | Path]) -> None:
        super().__init__(files)
        if not self.files:
            raise InputFileError("no events files to read")
        self._metas: list[dict[str, Any]] = [read_meta(p) for p in self.files]
        self._format = self._common_format()
        self._truth = self._common_truth()

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

    def chunks(self, chunk_events: int, event_fields: Sequence[str]) -> Iterator[SourceChunk]:
        n_stations = self.array().n
        for index, (path, meta) in enumerate(zip(self.files, self._metas)):
            for chunk in iterate_station_chunks(
                path, int(chunk_events), tuple(event_fields), tuple(STATION_FIELDS), meta, n_stations
            ):
                yield SourceChunk(np.full(chunk.n_events, index, dtype=np.int32), chunk)


class SimulatedSource(RootEventsSource):
    """The events files the simulator wrote for a dataset of this study (``source: simulate``)."""

    kind = "simulate"
