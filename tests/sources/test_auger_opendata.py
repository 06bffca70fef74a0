"""The Auger Open Data source, on small hand-written files in the release's format (JSON events, summary CSV)."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.errors import ConfigError, InputFileError
from airshower.hexgrid import axial_to_xy, xy_to_axial
from airshower.io.events import STATION_FIELDS
from airshower.sources.auger_opendata import SITE_ALTITUDE_M, AugerOpenDataSource, read_fd_reference, window_trace
from tests.kit.auger_release import (
    HYBRID, SD_ONLY, event, hybrid_event, infill_event, sd_only_event, site, station, write, write_release,
)


@pytest.fixture
def release(tmp_path):
    """(json files, summary csv) of three events: hybrid, SD-only, SD-750 (skipped)."""
    return write_release(tmp_path)


def read_all(source, fields=("event_id", "event_t5"), chunk_events=10):
    return list(source.chunks(chunk_events, list(fields)))


def test_events_stations_and_positions_on_the_lattice(release) -> None:
    files, _ = release
    src = AugerOpenDataSource(files, trace_bins=8)
    assert src.kind == "auger_opendata" and not src.has_truth() and src.reference_fields() == {}
    (sc,) = read_all(src)
    ch = sc.chunk
    assert ch.events["event_id"].tolist() == [HYBRID, SD_ONLY]
    assert sc.file_index.tolist() == [0, 2]  # the SD-750 file is skipped
    assert [p.name for p, _ in src.skipped] == [files[1].name]
    assert ch.counts.tolist() == [7, 4]  # the rejected accidental (isSelected 0) is not read
    assert set(ch.stations) == set(STATION_FIELDS)
    for name, dtype in STATION_FIELDS.items():
        assert ch.stations[name].dtype == np.dtype(dtype), name
    lat = src.lattice
    arr = src.array()
    assert arr.n == 9 and np.degrees(lat.angle_rad) == pytest.approx(0.15, abs=0.05)
    # real ids -> array indices, whose cells are those the stations were put in (up to the origin)
    real = [502, 822, 821, 831, 509, 503, 504, 822, 601, 602, 502]
    idx = ch.stations["id"]
    np.testing.assert_array_equal(lat.station_ids[idx], real)
    cells = np.array([(0, 0), (1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1), (1, 0), (2, 0), (2, -1), (0, 0)])
    got = np.stack([arr.q[idx], arr.r[idx]], axis=1)
    np.testing.assert_array_equal(got - got[0], cells)
    # positions: the written site positions in the array frame, each in its cell near its node
    x, y = ch.stations["x"].astype(np.float64), ch.stations["y"].astype(np.float64)
    written = [s for e in (hybrid_event(), sd_only_event()) for s in e["stations"] if s["isSelected"]]
    ax, ay = lat.to_array_frame(np.array([s["x"] for s in written]), np.array([s["y"] for s in written]))
    np.testing.assert_allclose(x, ax, atol=0.01)
    np.testing.assert_allclose(y, ay, atol=0.01)
    q, r = xy_to_axial(x, y)
    np.testing.assert_array_equal(np.stack([q, r], axis=1), got)
    nx, ny = axial_to_xy(q, r)
    assert np.hypot(x - nx, y - ny).max() < 40.0
    # relative positions are the real ones: 822 sits (-28, 17) m off its spot of the first event
    d = np.hypot(x[7] - x[1], y[7] - y[1])
    assert d == pytest.approx(np.hypot(28.0, 17.0), abs=0.05)
    np.testing.assert_allclose(ch.stations["z"], [2.5 + SITE_ALTITUDE_M] * 10 + [3.5 + SITE_ALTITUDE_M])
    # start times relative to the event's earliest station read; signals; flags
    np.testing.assert_allclose(ch.stations["start_time"], [0, 100, 200, 300, 400, 500, 600, 0, 400, 300, 200])
    np.testing.assert_allclose(ch.stations["signal"], [900, 100, 101, 102, 103, 104, 105, 300, 50, 40, 80])
    assert ch.stations["saturated"].tolist() == [False, True] + [False] * 9  # sat 2 (low gain) only
    assert ch.stations["triggered"].all() and ch.stations["working"].all()
    # 6T5: all six neighbours of the hottest station are on the array (hybrid) or not (SD-only)
    assert ch.events["event_t5"].tolist() == [True, False]


def test_rejected_stations_are_read_on_request(release) -> None:
    files, _ = release
    src = AugerOpenDataSource(files, trace_bins=8, selected_only=False)
    (sc,) = read_all(src)
    assert sc.chunk.counts.tolist() == [8, 4]
    assert 999 in src.lattice.index
    # the accidental is the earliest station of the hybrid event now
    assert sc.chunk.stations["start_time"][7] == 0.0 and sc.chunk.stations["start_time"][0] == 5000.0


def test_traces_are_windowed_at_the_signal_start_and_rebinned_by_summing(release) -> None:
    files, _ = release
    (sc,) = read_all(AugerOpenDataSource(files, trace_bins=8))
    traces = sc.chunk.traces
    assert traces.shape == (11, 8) and traces.dtype == np.float32
    # centre station: mean of pmt1 and pmt2 (pmt3 empty) = 2 x bin, window from signalStartBin 10
    np.testing.assert_allclose(traces[0], 2.0 * np.arange(10, 18))
    np.testing.assert_allclose(traces[1], 1.0)  # flat signal from bin 5
    (sc,) = read_all(AugerOpenDataSource(files, trace_bins=12, bin_ns=50.0))
    assert sc.chunk.traces.shape == (11, 12)
    expected = [2.0 * (a + a + 1) for a in range(10, 30, 2)] + [0.0, 0.0]  # bins 10..29, then past the end
    np.testing.assert_allclose(sc.chunk.traces[0], expected)
    np.testing.assert_allclose(sc.chunk.traces[1], [2.0] * 10 + [0.0, 0.0])  # 20 VEM in 2-bin sums, then nothing
    assert AugerOpenDataSource(files, trace_bins=12, bin_ns=50.0).trace_format().bin_ns == 50.0
    np.testing.assert_allclose(window_trace(np.arange(6.0), 4, 3, 1), [4.0, 5.0, 0.0])


@pytest.mark.parametrize("bin_ns", [30.0, 12.5, 8.333])
def test_bin_widths_that_are_no_multiple_of_25ns_are_refused(release, bin_ns) -> None:
    files, _ = release
    with pytest.raises(ConfigError, match=r"25 ns bins.*integer multiple"):
        AugerOpenDataSource(files, bin_ns=bin_ns)


def test_reference_values_from_the_summary(release) -> None:
    files, summary = release
    src = AugerOpenDataSource(files, summary=summary, trace_bins=8)
    assert src.reference_fields() == {"fd_xmax": "g/cm2", "fd_energy": "EeV"}
    (sc,) = read_all(src, ("event_id", "event_t5", "fd_xmax", "fd_energy"))
    xmax, energy = sc.chunk.events["fd_xmax"], sc.chunk.events["fd_energy"]
    # two eyes, inverse-variance weighted; the third eye fails fd_hdXmaxEye; the SD-only event has none
    assert xmax[0] == pytest.approx((750 / 100 + 780 / 400) / (1 / 100 + 1 / 400))
    assert energy[0] == pytest.approx((12.0 + 14.0 / 4) / (1 + 1 / 4))
    assert np.isnan(xmax[1]) and np.isnan(energy[1])
    with pytest.raises(InputFileError, match=r"no event field\(s\) \['fd_xmax'\].*need the summary CSV"):
        read_all(AugerOpenDataSource(files), ("event_id", "fd_xmax"))


def test_summary_without_uncertainties_or_quality_flags_and_other_names(tmp_path) -> None:
    path = write(tmp_path, "s.csv", "id,fd_xmax,fd_energy\n7,700,1.5\n7,720,2.5\n8,nan,\n")
    ref = read_fd_reference(path)
    assert ref["fd_xmax"] == {7: pytest.approx(710.0)} and ref["fd_energy"] == {7: pytest.approx(2.0)}


def test_from_a_dataset_entry_the_summary_is_provenance_not_events(release) -> None:
    files, summary = release
    entry = {"source": "auger_opendata", "paths": ["*.json"], "summary": str(summary), "position_tolerance_m": 250.0}
    src = AugerOpenDataSource.from_entry([*files, summary], entry, trace_bins=8)
    assert src.event_files == files and src.files == [*files, summary]
    assert src.summary == summary and src.tolerance_m == 250.0 and src.trace_format().trace_bins == 8
    assert "summary" in src.options and "position_tolerance_m" in src.options
    (sc,) = read_all(src, ("event_id", "fd_xmax"))
    assert [src.files[i] for i in sc.file_index] == [files[0], files[2]]
    fmt = {"trace_bins": 12, "bin_ns": 50.0}  # what airshower.convert.dataset_source adds to the entry
    plain = AugerOpenDataSource.from_entry(files, {"paths": ["*.json"], "trace_format": fmt})
    assert plain.files == files and plain.reference_fields() == {} and plain.tolerance_m == 300.0
    assert plain.trace_format().trace_bins == 12 and plain.trace_format().bin_ns == 50.0


def test_chunks_of_bounded_size(release) -> None:
    files, _ = release
    parts = read_all(AugerOpenDataSource(files, trace_bins=8), chunk_events=1)
    assert [p.chunk.n_events for p in parts] == [1, 1]
    assert [p.file_index.tolist() for p in parts] == [[0], [2]]
    assert [p.chunk.entry_start for p in parts] == [0, 1]
    assert "event_id 81900000001" in parts[1].chunk.where(0)


def test_stations_of_one_cell_are_merged_or_refused(tmp_path) -> None:
    ev1 = hybrid_event()
    ev2 = sd_only_event()
    ev2["stations"][3]["id"] = 1878  # a station replaced at the cell of 502, under a new id
    files = [write(tmp_path, "a.json", ev1), write(tmp_path, "b.json", ev2)]
    src = AugerOpenDataSource(files, trace_bins=8)
    (sc,) = read_all(src)
    assert src.lattice.index[1878] == src.lattice.index[502]
    assert src.lattice.station_ids[src.lattice.index[1878]] == 502
    shared = r"a\.json, .*b\.json: stations 502 and 1878 fall into the same lattice cell"
    with pytest.raises(InputFileError, match=shared):
        AugerOpenDataSource(files, trace_bins=8, shared_cells="refuse").array()
    # both in one event (twin stations): the lower real id is kept
    ev2["stations"].append(dict(station(502, (0, 0), 70.0, 1250.0)))
    files = [write(tmp_path, "a.json", ev1), write(tmp_path, "b.json", ev2)]
    (sc,) = read_all(AugerOpenDataSource(files, trace_bins=8))
    assert sc.chunk.counts.tolist() == [7, 4]
    assert sc.chunk.stations["signal"][-1] == pytest.approx(70.0)


def test_the_chunks_convert_into_windows(release) -> None:
    from airshower.convert import convert_chunk

    files, summary = release
    src = AugerOpenDataSource(files, summary=summary, trace_bins=8)
    (sc,) = read_all(src, ("event_id", "event_t5", "fd_xmax", "fd_energy"))
    out = convert_chunk(sc.chunk, 5, source=sc.file_index, array=src.array(), truth=False,
                        reference=("fd_xmax", "fd_energy"))
    assert out.n_events == 2
    assert out.meta["hottest_station"].tolist() == [src.lattice.index[502], src.lattice.index[822]]
    np.testing.assert_allclose(out.reference["fd_xmax"][0], 756.0)


# --- bad input ----------------------------------------------------------------------------


def _bad(tmp_path, doc, name="Auger_000000000001.json"):
    return [write(tmp_path, "good.json", hybrid_event()), write(tmp_path, name, doc)]


def _first_station(mutate):
    doc = sd_only_event()
    mutate(doc["stations"][0])
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("this is not JSON {", r"Auger_000000000001\.json: not a JSON file"),
        ([1, 2, 3], r"Auger_000000000001\.json: expected a JSON object"),
        ({"info": {"id": 5}}, r"Auger_000000000001\.json: event 5: missing key 'stations'"),
        ({"stations": []}, r"Auger_000000000001\.json: not an Auger open-data event: missing key 'info\.id'"),
        (event(5, []), r"Auger_000000000001\.json: event 5: the event lists no stations"),
        (event(5, [station(1, (0, 0), 1.0, 0.0, selected=0)]), r"event 5: no station selected"),
        (_first_station(lambda s: s.pop("x")), rf"event {SD_ONLY}, station 822: missing key 'x'"),
        (_first_station(lambda s: s.pop("sat")), rf"event {SD_ONLY}, station 822: missing key 'sat'"),
        (_first_station(lambda s: s.update(signal="abc")), r"station 822: 'signal' = 'abc' is not a number"),
        (_first_station(lambda s: s.update(t=float("nan"))), r"station 822: 't' = nan \(NaN or infinite\)"),
        (_first_station(lambda s: s.update(id="x1")), r"station #0: 'id' = 'x1' is not an integer"),
        (_first_station(lambda s: s.update(isSelected=3)), r"station 822: 'isSelected' = 3, expected 0 or 1"),
        (event(5, [station(601, (2, 0), 1.0, 0.0), station(601, (2, 1), 1.0, 0.0)]),
         r"event 5: station 601 is listed twice"),
    ],
)
def test_bad_files_are_refused_by_file_event_and_station(tmp_path, doc, message) -> None:
    src = AugerOpenDataSource(_bad(tmp_path, doc), trace_bins=8)
    with pytest.raises(InputFileError, match=message):
        read_all(src)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["pmt1"].__setitem__(7, float("nan")),
         r"station 822: trace 'pmt1' holds NaN or an infinite value \(bin 7\)"),
        (lambda s: s["pmt2"].__setitem__(3, None), r"station 822: trace 'pmt2' holds NaN"),
        (lambda s: s.update(pmt1=[], pmt2=[], pmt3=None), r"station 822: no PMT trace"),
        (lambda s: s.update(pmt1=["1"] * 30), r"station 822: 'pmt1' is not a list of numbers"),
        (lambda s: s.update(pmt3={"vem": [1.0]}), r"station 822: 'pmt3' is not a list of numbers"),
        (lambda s: s.update(pmt3=[1.0, 2.0]), r"station 822: PMT traces of different lengths"),
        (lambda s: s.update(signalStartBin=40), r"station 822: 'signalStartBin' = 40 lies beyond the trace of 30 bins"),
    ],
)
def test_bad_traces_are_refused_by_station(tmp_path, mutate, message) -> None:
    doc = sd_only_event()
    st = doc["stations"][0]
    st["pmt1"], st["pmt2"] = list(st["pmt1"]), list(st["pmt2"])
    mutate(st)
    src = AugerOpenDataSource(_bad(tmp_path, doc), trace_bins=8)
    with pytest.raises(InputFileError, match=rf"Auger_000000000001\.json: event {SD_ONLY}, {message}"):
        read_all(src)


def test_station_far_off_the_lattice_is_refused_by_id_with_its_offset(tmp_path) -> None:
    doc = sd_only_event()
    doc["stations"][1].update(zip(("x", "y"), site(2, 0, (400.0 * np.cos(0.3), 400.0 * np.sin(0.3)))))
    src = AugerOpenDataSource(_bad(tmp_path, doc), trace_bins=8)
    off = r"Auger_000000000001\.json: station 601 lies (39\d|4\d\d) m from its lattice node"
    with pytest.raises(InputFileError, match=off):
        src.array()
    assert AugerOpenDataSource(_bad(tmp_path, doc), trace_bins=8, position_tolerance_m=500.0).array().n == 9


def test_a_station_moved_in_one_event_is_refused(tmp_path) -> None:
    moved = sd_only_event()
    moved["stations"][3].update(zip(("x", "y"), site(0, 0, (-330.0, 0.0))))  # 502, its median stays on the node
    files = [write(tmp_path, "a.json", hybrid_event()), write(tmp_path, "b.json", moved),
             write(tmp_path, "c.json", dict(hybrid_event(), info={"id": 3}))]
    moved_off = rf"b\.json: event {SD_ONLY}, station 502: .* lies 3\d\d m from the lattice node"
    with pytest.raises(InputFileError, match=moved_off):
        read_all(AugerOpenDataSource(files, trace_bins=8))


def test_duplicated_event_ids_name_both_files(tmp_path) -> None:
    files = [write(tmp_path, "first.json", hybrid_event()), write(tmp_path, "second.json", hybrid_event())]
    with pytest.raises(InputFileError, match=rf"second\.json: event id {HYBRID} is also the id of .*first\.json"):
        read_all(AugerOpenDataSource(files, trace_bins=8))


def test_bad_summary_and_no_files(tmp_path, release) -> None:
    files, _ = release
    bad = write(tmp_path, "bad.csv", "id,fd_energy\n1,2\n")
    with pytest.raises(InputFileError, match=r"bad\.csv: the summary CSV has no column 'fd_xmax'"):
        read_all(AugerOpenDataSource(files, summary=bad, trace_bins=8), ("event_id", "fd_xmax"))
    text = write(tmp_path, "text.csv", "id,fd_xmax\n1,deep\n")
    with pytest.raises(InputFileError, match=r"text\.csv: line 2: column 'fd_xmax' = 'deep' is not a number"):
        read_fd_reference(text)
    with pytest.raises(ConfigError, match="no event files"):
        AugerOpenDataSource([])
    only_infill = [write(tmp_path, "infill.json", infill_event())]
    with pytest.raises(InputFileError, match="none of the 1 files holds an SD-1500 event"):
        AugerOpenDataSource(only_infill).array()
