"""The reading side of the events contract: metadata checks, bounded chunks, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import uproot

from airshower.errors import InputFileError
from airshower.sources.root_files import RootEventsSource
from airshower.io.events import (
    META_KEY,
    SCHEMA_VERSION,
    STATION_FIELDS,
    TREE,
    iterate_station_chunks,
    read_events,
    read_meta,
)
from synthetic_events import hand_chunk, synthetic_chunk, write_events

T = 8
EVENT_FIELDS_READ = ("event_id", "event_t5", "mc_xmax")


def _raw_file(path: Path, chunk: dict[str, Any] | None, meta: dict[str, Any] | None = None) -> Path:
    """A ROOT file written directly with uproot (to break the contract on purpose)."""
    meta = {"schema_version": SCHEMA_VERSION, "trace_bins": T, "bin_ns": 25.0} if meta is None else meta
    with uproot.recreate(path) as f:
        if chunk is not None:
            f[TREE] = chunk
        f[META_KEY] = json.dumps(meta)
    return path


def _chunks(path: Path, step: int = 100) -> list:
    return list(iterate_station_chunks(path, step, EVENT_FIELDS_READ))


def _two_events() -> dict[str, Any]:
    return hand_chunk(
        [
            {"stations": [{"id": 800, "signal": 50.0}, {"id": 801}, {"id": 802, "working": False}]},
            {"stations": [{"id": 10}, {"id": 11, "signal": 3.0}]},
        ],
        T,
    )


def test_read_meta_of_a_good_file(tmp_path: Path) -> None:
    path = write_events(tmp_path / "ok.root", [_two_events()], T, dataset="x")
    meta = read_meta(path)
    assert meta["schema_version"] == SCHEMA_VERSION and meta["trace_bins"] == T and meta["dataset"] == "x"


def test_not_root_truncated_and_missing_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "text.root"
    text.write_text("this is not a ROOT file\n" * 50)
    with pytest.raises(InputFileError, match=r"text\.root: cannot be read as a ROOT file"):
        read_meta(text)
    good = write_events(tmp_path / "good.root", [synthetic_chunk(20, seed=1, trace_bins=T)], T)
    cut = tmp_path / "cut.root"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputFileError, match=r"cut\.root"):
        read_meta(cut)
        _chunks(cut)
    with pytest.raises(InputFileError, match=r"missing\.root: file not found"):
        read_meta(tmp_path / "missing.root")


def test_unknown_schema_version_and_missing_tree(tmp_path: Path) -> None:
    path = _raw_file(tmp_path / "v99.root", _two_events(), {"schema_version": 99, "trace_bins": T, "bin_ns": 25.0})
    with pytest.raises(InputFileError, match=r"v99\.root: events schema version 99, this reader knows version 1"):
        read_meta(path)
    path = _raw_file(tmp_path / "notree.root", None)
    with pytest.raises(InputFileError, match=r"notree\.root: no TTree 'events'"):
        read_meta(path)


def test_missing_branch_is_named(tmp_path: Path) -> None:
    chunk = _two_events()
    del chunk["station_trace"]
    path = _raw_file(tmp_path / "notrace.root", chunk)
    with pytest.raises(InputFileError, match=r"notrace\.root: .*lacks the branch\(es\) \['station_trace'\]"):
        _chunks(path)
    chunk = _two_events()
    del chunk["event_t5"]
    path = _raw_file(tmp_path / "not5.root", chunk)
    with pytest.raises(InputFileError, match=r"\['event_t5'\]"):
        _chunks(path)


def test_chunks_are_bounded_flat_and_match_read_events(tmp_path: Path) -> None:
    path = write_events(tmp_path / "s.root", [synthetic_chunk(23, seed=2, trace_bins=T)], T)
    chunks = _chunks(path, step=7)
    assert [c.n_events for c in chunks] == [7, 7, 7, 2]
    assert [c.entry_start for c in chunks] == [0, 7, 14, 21]
    ref = read_events(path)
    ids = np.concatenate([c.events["event_id"] for c in chunks])
    np.testing.assert_array_equal(ids, ak.to_numpy(ref.event_id))
    for name in STATION_FIELDS:
        flat = np.concatenate([c.stations[name] for c in chunks])
        np.testing.assert_array_equal(flat, ak.to_numpy(ak.flatten(ref.station[name])))
    traces = np.concatenate([c.traces for c in chunks])
    np.testing.assert_array_equal(traces, ak.to_numpy(ak.flatten(ref.station_trace, axis=1)))
    assert traces.shape[1] == T and traces.dtype == np.float32
    assert "mc_energy" not in chunks[0].events  # only what was asked for is read
    c = chunks[1]
    np.testing.assert_array_equal(np.bincount(c.station_event(), minlength=c.n_events), c.counts)


def test_empty_file_gives_no_chunks(tmp_path: Path) -> None:
    path = write_events(tmp_path / "empty.root", [], T)
    assert _chunks(path) == []


def test_trace_length_not_nstation_times_t(tmp_path: Path) -> None:
    chunk = _two_events()
    values = ak.flatten(chunk["station_trace"]).to_numpy()
    chunk["station_trace"] = ak.unflatten(values[:-1], np.array([3 * T, 2 * T - 1]))
    path = _raw_file(tmp_path / "short.root", chunk)
    with pytest.raises(
        InputFileError,
        match=r"short\.root: entry 1 \(event_id 1\): station_trace holds 15 values, expected .* 2 x 8 = 16",
    ):
        _chunks(path)


def test_station_arrays_of_different_lengths(tmp_path: Path) -> None:
    """A TTree with one counter per station branch (the flat layout) can disagree; it is caught."""
    chunk = _two_events()
    types: dict[str, Any] = {k: chunk[k].dtype for k in chunk if isinstance(chunk[k], np.ndarray)}
    data: dict[str, Any] = {k: chunk[k] for k in types}
    for name in STATION_FIELDS:
        types[f"station_{name}"] = ak.type(chunk["station"][name]).content
        data[f"station_{name}"] = chunk["station"][name]
    data["station_x"] = ak.Array([[1.0, 2.0], [3.0, 4.0]])
    types["station_x"] = ak.type(data["station_x"]).content
    types["station_trace"] = ak.type(chunk["station_trace"]).content
    data["station_trace"] = chunk["station_trace"]
    path = tmp_path / "ragged.root"
    with uproot.recreate(path) as f:
        f.mktree(TREE, types)
        f[TREE].extend(data)
        f[META_KEY] = json.dumps({"schema_version": SCHEMA_VERSION, "trace_bins": T, "bin_ns": 25.0})
    with pytest.raises(
        InputFileError,
        match=r"ragged\.root: entry 0 \(event_id 0\): station arrays disagree in length: 'station.x' has 2",
    ):
        _chunks(path)


def test_duplicate_station_ids(tmp_path: Path) -> None:
    chunk = hand_chunk([{"stations": [{"id": 5}]}, {"stations": [{"id": 7}, {"id": 9}, {"id": 7}]}], T)
    path = _raw_file(tmp_path / "dup.root", chunk)
    with pytest.raises(InputFileError, match=r"dup\.root: entry 1 \(event_id 1\): station id 7 appears twice"):
        _chunks(path)


def test_station_id_off_the_array(tmp_path: Path) -> None:
    chunk = hand_chunk([{"stations": [{"id": 5}]}], T)
    chunk["station"] = ak.with_field(chunk["station"], ak.Array([[1660]]), "id")
    path = _raw_file(tmp_path / "offarray.root", chunk)
    with pytest.raises(InputFileError, match=r"offarray\.root: .*station id 1660 is not on the array \(0..1659\)"):
        list(iterate_station_chunks(path, 100, EVENT_FIELDS_READ, n_stations=1660))
    with pytest.raises(InputFileError, match=r"offarray\.root: .*station id 1660 is not on the array \(0..1659\)"):
        list(RootEventsSource([path]).chunks(100, EVENT_FIELDS_READ))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_traces_and_times(tmp_path: Path, bad: float) -> None:
    trace = np.zeros(T, dtype=np.float32)
    trace[3] = bad
    chunk = hand_chunk([{"stations": [{"id": 5}, {"id": 6, "trace": trace}]}], T)
    path = _raw_file(tmp_path / "nantrace.root", chunk)
    with pytest.raises(InputFileError, match=r"nantrace\.root: entry 0 \(event_id 0\): station 6 has NaN or infinite"):
        _chunks(path)
    chunk = hand_chunk([{"stations": [{"id": 5}, {"id": 6, "start_time": bad}]}], T)
    path = _raw_file(tmp_path / "nantime.root", chunk)
    with pytest.raises(InputFileError, match=r"nantime\.root: .*station 6 has station\.start_time = "):
        _chunks(path)


def test_dead_station_without_start_time_is_fine(tmp_path: Path) -> None:
    chunk = hand_chunk([{"stations": [{"id": 5}, {"id": 6, "working": False, "start_time": np.nan}]}], T)
    path = _raw_file(tmp_path / "deadnan.root", chunk)
    (only,) = _chunks(path)
    assert only.n_events == 1 and not only.stations["working"][1]


def test_an_empty_events_file_reads_back_with_the_same_layout(tmp_path: Path) -> None:
    from airshower.io.events import EventWriter, read_events

    path = tmp_path / "empty.root"
    with EventWriter(path, {"trace_bins": 8, "bin_ns": 25.0}):
        pass
    arrays = read_events(path)
    assert len(arrays) == 0
    assert "station" in arrays.fields and "station_trace" in arrays.fields


def test_entry_ranges_end_on_cluster_boundaries_and_stay_bounded() -> None:
    from airshower.io.events import entry_ranges

    starts = [0, 4980, 9960, 14940]
    assert entry_ranges(starts, 15000, 5000) == [(0, 4980), (4980, 9960), (9960, 14940), (14940, 15000)]
    assert entry_ranges(starts, 15000, 10000) == [(0, 9960), (9960, 15000)]
    # a cluster larger than the step is cut in steps; a range ends on a boundary when one is in reach
    assert entry_ranges([0, 10, 12], 20, 4) == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)]
    assert entry_ranges([0], 23, 7) == [(0, 7), (7, 14), (14, 21), (21, 23)]
    assert entry_ranges([0, 5], 0, 7) == []
    with pytest.raises(ValueError, match="step_size"):
        entry_ranges([0], 10, 0)


def test_chunks_follow_the_clusters_of_a_file(tmp_path: Path) -> None:
    import uproot as _uproot

    from airshower.io.events import cluster_starts

    parts = [synthetic_chunk(5, seed=s, trace_bins=T, first_id=5 * s) for s in range(3)]
    path = write_events(tmp_path / "clusters.root", parts, T)  # one write, one cluster
    with _uproot.open(path) as handle:
        assert cluster_starts(handle[TREE]) == [0, 5, 10]
        assert str(handle.file.compression) == "LZ4(1)"  # the writer's default
    ref = read_events(path)
    for step, sizes in [(7, [5, 5, 5]), (10, [10, 5]), (3, [3, 2, 3, 2, 3, 2]), (100, [15])]:
        chunks = _chunks(path, step=step)
        assert [c.n_events for c in chunks] == sizes
        assert [c.entry_start for c in chunks] == list(np.cumsum([0, *sizes[:-1]]))
        np.testing.assert_array_equal(np.concatenate([c.events["event_id"] for c in chunks]), ak.to_numpy(ref.event_id))
        np.testing.assert_array_equal(
            np.concatenate([c.traces for c in chunks]), ak.to_numpy(ak.flatten(ref.station_trace, axis=1))
        )


@pytest.mark.parametrize("codec", ["ZLIB", "ZSTD", "LZ4"])
def test_any_codec_reads(tmp_path: Path, codec: str) -> None:
    import uproot as _uproot

    from airshower.io.events import EventWriter

    chunk = synthetic_chunk(6, seed=4, trace_bins=T)
    path = tmp_path / f"{codec}.root"
    with EventWriter(path, {"trace_bins": T, "bin_ns": 25.0}, compression=getattr(_uproot, codec)(1)) as writer:
        writer.write(chunk)
    (only,) = _chunks(path)
    ref = read_events(path)
    np.testing.assert_array_equal(only.traces, ak.to_numpy(ak.flatten(ref.station_trace, axis=1)))
    np.testing.assert_array_equal(only.traces.reshape(-1), ak.to_numpy(ak.flatten(chunk["station_trace"])))
