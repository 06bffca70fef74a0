"""The convert stage: hand-built events land in the right cells, inputs never see truth, bad input fails cleanly."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest
import uproot

from airshower import layout
from airshower.cli import main as cli_main
from airshower.convert import convert_dataset, hottest_station
from airshower.detector.array import sd1500
from airshower.errors import InputFileError
from airshower.io.events import META_KEY, SCHEMA_VERSION, TREE, iterate_station_chunks, read_events
from airshower.io.tensors import StationState, read_arrays, tensor_info
from airshower.sources.registry import input_files
from airshower.targets import TRUTH_COLUMNS
from synthetic_events import hand_chunk, synthetic_chunk, without_truth, write_events
from tests.kit import auger_release as auger

T = 16
S = StationState


def sid(q: int, r: int) -> int:
    """Station id at axial (q, r) of the SD-1500."""
    found = int(sd1500().station_at(np.array(q), np.array(r)))
    assert found >= 0, (q, r)
    return found


def lattice_xy(q: int, r: int) -> tuple[float, float]:
    a = sd1500()
    i = sid(q, r)
    return float(a.x[i]), float(a.y[i])


def convert(inputs: list[Path], out: Path, grid: int = 5, chunk: int = 100, dtype: str = "float16") -> dict[str, Any]:
    return convert_dataset(inputs, out, grid, chunk, dtype, {"convert": {"grid_size": grid}})


TRACE = (np.arange(T) * 0.5).astype(np.float32)  # exact in float16


def _hand_events() -> list[dict[str, Any]]:
    x10, y10 = lattice_xy(1, 0)
    edge_x, edge_y = lattice_xy(23, 0)
    return [
        {  # event 0: centre (0, 0), tie on signal with (0, 1), which has the larger id
            "event_id": 100, "event_t5": False, "mc_zenith": 0.5, "mc_azimuth": 1.0, "mc_core_x": 100.0,
            "mc_core_y": 200.0, "mc_xmax": 812.5, "mc_energy": 10**19.5, "mc_mass": 56,
            "stations": [
                {"id": sid(0, 1), "signal": 100.0, "start_time": 900.0},
                {"id": sid(0, 0), "signal": 100.0, "start_time": 1000.0},
                {"id": sid(1, 0), "signal": 50.0, "start_time": 1200.0, "trace": TRACE, "x": x10 + 10.0, "z": 1405.0},
                {"id": sid(-1, 0), "working": False, "start_time": 5.0},
                {"id": sid(2, -1), "signal": 80.0, "saturated": True, "start_time": 1100.0},
                {"id": sid(3, 0), "signal": 5.0, "start_time": 1900.0},  # outside the 5x5 window
                {"id": sid(-1, 2), "signal": 0.4, "triggered": False, "start_time": 1300.0},
            ],
        },
        {  # event 1: centre at the edge of the array, its stored position 20 m off the lattice point
            "event_id": 101, "mc_core_x": edge_x + 50.0, "mc_core_y": edge_y,
            "stations": [
                {"id": sid(23, 0), "signal": 30.0, "start_time": 50.0, "x": edge_x + 20.0},
                {"id": sid(22, 0), "signal": 10.0, "start_time": 20.0},
                {"id": sid(23, -1), "signal": 12.0, "start_time": 0.0},
            ],
        },
    ]


@pytest.fixture(scope="module")
def hand_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("hand")
    events = write_events(root / "0.root", [hand_chunk(_hand_events(), T)], T)
    convert([events], root / "hand.h5", grid=5)
    return events, read_arrays(root / "hand.h5")


def test_hand_built_event_lands_in_the_right_cells(hand_file) -> None:
    _, a = hand_file
    h = 2
    state, time = a["inputs/state"][0], a["inputs/start_time"][0]
    pos, traces = a["inputs/position"][0], a["inputs/traces"][0]

    def cell(dq: int, dr: int) -> tuple[int, int]:
        return h + dq, h + dr

    assert a["meta/hottest_station"][0] == sid(0, 0)  # tie broken by the lower id
    assert state[cell(0, 0)] == S.TRIGGERED and time[cell(0, 0)] == 0.0
    assert state[cell(0, 1)] == S.TRIGGERED and time[cell(0, 1)] == -100.0
    assert state[cell(1, 0)] == S.TRIGGERED and time[cell(1, 0)] == 200.0
    np.testing.assert_array_equal(traces[cell(1, 0)], TRACE)
    np.testing.assert_allclose(pos[cell(1, 0)], [1510.0, 0.0, 5.0])
    assert state[cell(-1, 0)] == S.DEAD and time[cell(-1, 0)] == 0.0 and not traces[cell(-1, 0)].any()
    np.testing.assert_allclose(pos[cell(-1, 0)], [-1500.0, 0.0, 0.0])
    assert state[cell(2, -1)] == S.SATURATED and time[cell(2, -1)] == 100.0
    assert state[cell(-1, 2)] == S.SILENT and time[cell(-1, 2)] == 300.0 and traces[cell(-1, 2)][0] == np.float16(0.4)
    # an implicit silent station: lattice position, nothing else
    assert state[cell(1, 1)] == S.SILENT and time[cell(1, 1)] == 0.0 and not traces[cell(1, 1)].any()
    x, y = lattice_xy(1, 1)
    np.testing.assert_allclose(pos[cell(1, 1)], [x, y, 0.0], atol=1e-3)
    assert traces[cell(0, 0)][0] == 100.0 and traces[cell(0, 1)][0] == 100.0
    assert (state != S.ABSENT).all()  # deep inside the array
    assert a["meta/n_outside"][0] == 1
    counts = np.bincount(state.ravel(), minlength=5)
    assert counts[S.TRIGGERED] == 3 and counts[S.SATURATED] == 1 and counts[S.DEAD] == 1
    assert counts[S.SILENT] == 25 - 5


def test_targets_of_the_hand_built_events(hand_file) -> None:
    _, a = hand_file
    th, ph = 0.5, 1.0
    axis = [np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)]
    np.testing.assert_allclose(a["targets/axis"][0], axis, rtol=1e-6)
    np.testing.assert_allclose(a["targets/core"][0], [100.0, 200.0])
    np.testing.assert_allclose(a["targets/lg_energy"][0], 19.5)
    assert a["targets/xmax"][0] == 812.5 and a["targets/mass"][0] == 56
    np.testing.assert_allclose(a["targets/ln_a"][0], np.log(56), rtol=1e-6)
    np.testing.assert_array_equal(a["meta/event_id"], [100, 101])
    np.testing.assert_array_equal(a["meta/t5"], [False, True])
    np.testing.assert_array_equal(a["meta/source"], [0, 0])
    # event 1: core relative to the hottest station's stored position (20 m off its lattice point)
    np.testing.assert_allclose(a["targets/core"][1], [30.0, 0.0], atol=1e-3)


def test_window_at_the_array_edge(hand_file) -> None:
    _, a = hand_file
    h = 2
    state, pos = a["inputs/state"][1], a["inputs/position"][1]
    assert a["meta/hottest_station"][1] == sid(23, 0)
    assert state[h + 1, h + 0] == S.ABSENT  # (24, 0): beyond the array
    assert state[h + 1, h - 1] == S.SILENT  # (24, -1): one of the three extra stations
    assert state[h + 2, h - 2] == S.ABSENT
    assert state[h - 1, h + 0] == S.TRIGGERED and state[h + 0, h - 1] == S.TRIGGERED
    assert (pos[state == S.ABSENT] == 0).all()
    # implicit silent cells are placed relative to the hottest station's stored position
    np.testing.assert_allclose(pos[h + 1, h - 1, :2], [1500.0 - 750.0 - 20.0, -1500.0 * np.sqrt(3) / 2], atol=1e-2)
    np.testing.assert_allclose(pos[h - 1, h, :2], [-1500.0 - 20.0, 0.0], atol=1e-2)


def test_inputs_are_not_a_function_of_truth(tmp_path: Path) -> None:
    chunk = synthetic_chunk(40, seed=4, trace_bins=T)
    altered = dict(chunk)
    rng = np.random.default_rng(0)
    perm = rng.permutation(40)
    for name in [k for k in chunk if k.startswith("mc_") and k != "mc_station"]:
        altered[name] = np.asarray(chunk[name])[perm]
    altered["mc_xmax"] = altered["mc_xmax"] + 37.0
    altered["mc_core_x"] = altered["mc_core_x"] + 111.0
    altered["mc_station"] = ak.zip({k: chunk["mc_station"][k] * 3 for k in chunk["mc_station"].fields})
    a = write_events(tmp_path / "a" / "0.root", [chunk], T)
    b = write_events(tmp_path / "b" / "0.root", [altered], T)
    convert([a], tmp_path / "a.h5", grid=7)
    convert([b], tmp_path / "b.h5", grid=7)
    ra, rb = read_arrays(tmp_path / "a.h5"), read_arrays(tmp_path / "b.h5")
    for key in ra:
        if key.startswith("inputs/") or key in ("meta/event_id", "meta/n_outside", "meta/hottest_station"):
            np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)
    for key in ("targets/xmax", "targets/lg_energy", "targets/axis", "targets/core", "targets/mass"):
        assert not np.array_equal(ra[key], rb[key]), key


def test_events_without_truth_convert_to_the_same_inputs_and_no_targets(tmp_path: Path) -> None:
    chunk = synthetic_chunk(30, seed=6, trace_bins=T)
    a = write_events(tmp_path / "a" / "0.root", [chunk], T)
    b = write_events(tmp_path / "b" / "0.root", [without_truth(chunk)], T)
    convert([a], tmp_path / "a.h5", grid=7)
    convert([b], tmp_path / "b.h5", grid=7)
    ra, rb = read_arrays(tmp_path / "a.h5"), read_arrays(tmp_path / "b.h5")
    assert not any(k.startswith("targets/") for k in rb)
    assert {k for k in ra if k.startswith("targets/")} == {f"targets/{k}" for k in TRUTH_COLUMNS}
    for key in rb:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)
    with h5py.File(tmp_path / "b.h5") as f:
        assert not f.attrs["truth"] and "targets" not in f


def test_window_bookkeeping_counts_the_stations_outside(tmp_path: Path) -> None:
    path = write_events(tmp_path / "0.root", [synthetic_chunk(60, seed=5, trace_bins=T)], T)
    events = read_events(path)
    n_trig = ak.to_numpy(ak.sum(events.station.triggered & events.station.working, axis=1))
    for grid in (3, 9):
        convert([path], tmp_path / f"g{grid}.h5", grid=grid)
        a = read_arrays(tmp_path / f"g{grid}.h5")
        shown = ((a["inputs/state"] == S.TRIGGERED) | (a["inputs/state"] == S.SATURATED)).sum(axis=(1, 2))
        np.testing.assert_array_equal(shown + a["meta/n_outside"], n_trig)
        if grid == 3:
            assert a["meta/n_outside"].sum() > 0
    # traces: exactly the stored working stations inside the window carry one
    has_trace = a["inputs/traces"].any(axis=-1)
    assert not has_trace[a["inputs/state"] == S.ABSENT].any() and not has_trace[a["inputs/state"] == S.DEAD].any()
    assert info_rows(tmp_path / "g9.h5") == int(has_trace.sum())


def info_rows(path: Path) -> int:
    return int(tensor_info(path)["rows"])


def test_chunking_and_several_files(tmp_path: Path) -> None:
    f0 = write_events(tmp_path / "sim" / "0.root", [synthetic_chunk(13, seed=6, trace_bins=T)], T)
    f1 = write_events(tmp_path / "sim" / "1.root", [synthetic_chunk(8, seed=7, trace_bins=T, first_id=13)], T)
    one = convert([f0, f1], tmp_path / "one.h5", grid=7, chunk=1)
    many = convert([f0, f1], tmp_path / "many.h5", grid=7, chunk=5)
    assert one["events"] == many["events"] == 21 and many["events_per_file"] == {str(f0): 13, str(f1): 8}
    ra, rb = read_arrays(tmp_path / "one.h5"), read_arrays(tmp_path / "many.h5")
    for key in ra:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)
    np.testing.assert_array_equal(ra["meta/source"], [0] * 13 + [1] * 8)
    np.testing.assert_array_equal(ra["meta/event_id"], np.arange(21))
    sources = tensor_info(tmp_path / "many.h5")["attrs"]["sources"]
    assert [s["path"] for s in sources] == [str(f0), str(f1)]
    assert sources[1]["sha256"] == hashlib.sha256(f1.read_bytes()).hexdigest()
    assert sources[0]["size"] == f0.stat().st_size and sources[0]["events"] == 13


def test_hottest_station_is_the_largest_triggered_signal(tmp_path: Path) -> None:
    events = [{"stations": [{"id": 40, "signal": 500.0, "triggered": False}, {"id": 41, "signal": 20.0},
                            {"id": 42, "signal": 900.0, "working": False}, {"id": 43, "signal": 25.0}]}]
    path = write_events(tmp_path / "h.root", [hand_chunk(events, T)], T)
    (chunk,) = iterate_station_chunks(path, 10, ("event_id",))
    assert chunk.stations["id"][hottest_station(chunk)].tolist() == [43]


# --- the CLI: success, and bad input with a clear message, exit 2 and no output ----------------


def _cfg(grid: int = 5, **extra: Any) -> str:
    return json.dumps({"convert": {"grid_size": grid, **extra}})


def test_cli_converts_a_dataset_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A dataset of source files: its globs expand in shard order; the output follows the layout."""
    monkeypatch.chdir(tmp_path)
    for shard in (0, 1, 2, 10):
        chunk = synthetic_chunk(3, seed=shard, trace_bins=T, first_id=3 * shard)
        write_events(Path(f"elsewhere/tiny/{shard}.root"), [chunk], T)
    entry = {"source": "files", "paths": ["elsewhere/tiny/*.root"]}
    assert [p.name for p in input_files("s", "tiny", entry)] == ["0.root", "1.root", "2.root", "10.root"]
    cfg = json.dumps({"study": "s", "convert": {"grid_size": 7}, "datasets": {"tiny": entry}})
    assert cli_main(["convert", "--config-json", cfg, "--dataset", "tiny"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["events"] == 12 and summary["output"] == "data/s/tensors/tiny.h5" and summary["source"] == "files"
    info = tensor_info("data/s/tensors/tiny.h5")
    assert (info["N"], info["G"], info["T"]) == (12, 7, T)
    assert info["attrs"]["config"] == {"convert": {"grid_size": 7, "chunk_events": 5000, "trace_dtype": "float16",
                                                   "trace_compression": "none"},
                                       "dataset": "tiny", "source": "files"}


def test_cli_converts_a_simulated_dataset_from_the_study_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    for shard in (0, 1):
        write_events(layout.shard_file("s", "sim", shard), [synthetic_chunk(4, seed=shard, trace_bins=T,
                                                                             first_id=4 * shard)], T)
    cfg = json.dumps({"study": "s", "convert": {"grid_size": 5},
                      "datasets": {"sim": {"events": 8, "shards": 2, "seed": 1}}})
    assert cli_main(["convert", "--config-json", cfg, "--dataset", "sim"]) == 0
    assert tensor_info(layout.tensor_file("s", "sim"))["N"] == 8
    cfg3 = cfg.replace('"shards": 2', '"shards": 3')
    assert cli_main(["convert", "--config-json", cfg3, "--dataset", "sim"]) == 2
    err = capsys.readouterr().err
    assert "data/s/sim/sim/2.root: no such events file of dataset 'sim' (1 of 3 missing)" in err


def test_a_glob_that_matches_nothing_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = json.dumps({"convert": {"grid_size": 5}, "datasets": {"mine": {"source": "files", "paths": ["nope/*.root"]}}})
    assert cli_main(["convert", "--config-json", cfg, "--dataset", "mine"]) == 2
    err = capsys.readouterr().err
    assert "datasets.mine.paths: 'nope/*.root' matches no file" in err
    assert not Path("data").exists()


def test_duplicated_event_ids_across_files_are_refused(tmp_path: Path) -> None:
    a = write_events(tmp_path / "a.root", [synthetic_chunk(4, seed=1, trace_bins=T, first_id=0)], T)
    b = write_events(tmp_path / "b.root", [synthetic_chunk(4, seed=2, trace_bins=T, first_id=3)], T)
    out = tmp_path / "t.h5"
    with pytest.raises(InputFileError, match=r"b.root: entry 0 \(event_id 3\): event_id 3 appears twice \(also in .*a.root\)"):
        convert_dataset([a, b], out, 5, 100, "float32", {})
    assert not out.exists() and not list(tmp_path.glob(".t.h5*"))


def _raw(path: Path, chunk: dict[str, Any] | None, meta: dict[str, Any] | None = None) -> Path:
    meta = {"schema_version": SCHEMA_VERSION, "trace_bins": T, "bin_ns": 25.0} if meta is None else meta
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as f:
        if chunk is not None:
            f[TREE] = chunk
        f[META_KEY] = json.dumps(meta)
    return path


def _good(n: int = 5, seed: int = 9) -> dict[str, Any]:
    return synthetic_chunk(n, seed=seed, trace_bins=T)


def _not_root(p: Path) -> Path:
    p.write_text("hello\n" * 100)
    return p


def _truncated(p: Path) -> Path:
    full = write_events(p.with_suffix(".full"), [_good(30)], T)
    p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return p


def _no_tree(p: Path) -> Path:
    return _raw(p, None)


def _no_branch(p: Path) -> Path:
    chunk = _good()
    del chunk["mc_xmax"]
    return _raw(p, chunk)


def _no_truth(p: Path) -> Path:
    return write_events(p, [without_truth(_good())], T)


def _zero_mass(p: Path) -> Path:
    chunk = _good()
    chunk["mc_mass"] = np.zeros_like(chunk["mc_mass"])
    return _raw(p, chunk)


def _version(p: Path) -> Path:
    return _raw(p, _good(), {"schema_version": 7, "trace_bins": T, "bin_ns": 25.0})


def _short_trace(p: Path) -> Path:
    chunk = _good()
    flat = ak.flatten(chunk["station_trace"]).to_numpy()
    counts = ak.num(chunk["station_trace"]).to_numpy().copy()
    counts[2] -= T
    chunk["station_trace"] = ak.unflatten(flat[: counts.sum()], counts)
    return _raw(p, chunk)


def _duplicate(p: Path) -> Path:
    return _raw(p, hand_chunk([{"stations": [{"id": 900}, {"id": 901}, {"id": 900}]}], T))


def _nan_trace(p: Path) -> Path:
    trace = np.ones(T, dtype=np.float32)
    trace[5] = np.nan
    return _raw(p, hand_chunk([{"stations": [{"id": 900}, {"id": 901, "trace": trace}]}], T))


def _inf_time(p: Path) -> Path:
    return _raw(p, hand_chunk([{"stations": [{"id": 900}, {"id": 901, "start_time": np.inf}]}], T))


def _no_events(p: Path) -> Path:
    return write_events(p, [], T)


def _untriggered(p: Path) -> Path:
    return _raw(p, hand_chunk([{"stations": [{"id": 900, "triggered": False}]}], T))


def _other_bins(p: Path) -> Path:
    return write_events(p, [synthetic_chunk(3, seed=1, trace_bins=T + 1)], T + 1)


def _huge(p: Path) -> Path:
    trace = np.zeros(T, dtype=np.float32)
    trace[0] = 1e5
    return _raw(p, hand_chunk([{"stations": [{"id": 900, "trace": trace}]}], T))


def _off_lattice(p: Path) -> Path:
    x, y = lattice_xy(0, 0)
    return _raw(p, hand_chunk([{"stations": [{"id": sid(0, 0), "x": x + 1500.0}]}], T))


def _repeated_id(p: Path) -> Path:
    return write_events(p, [synthetic_chunk(3, seed=4, trace_bins=T, first_id=5)], T)  # ids 5-7; the good file's 0-6


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not_root": (_not_root, r"cannot be read as a ROOT file"),
    "truncated": (_truncated, r"truncated or damaged"),
    "no_tree": (_no_tree, r"no TTree 'events'"),
    "no_branch": (_no_branch, r"holds part of the Monte-Carlo truth; it lacks \['mc_xmax'\]"),
    "no_truth": (_no_truth, r"holds no Monte-Carlo truth, but .*0\.root does; a dataset is all simulation or all data"),
    "zero_mass": (_zero_mass, r"mc_mass = 0.0 A, expected > 0"),
    "version": (_version, r"events schema version 7, this reader knows version 1"),
    "short_trace": (_short_trace, r"entry 2 \(event_id 2\): station_trace holds"),
    "duplicate": (_duplicate, r"station id 900 appears twice"),
    "nan_trace": (_nan_trace, r"station 901 has NaN or infinite values in its trace"),
    "inf_time": (_inf_time, r"station 901 has station\.start_time = inf"),
    "untriggered": (_untriggered, r"no triggered station"),
    "other_bins": (_other_bins, r"17 bins of 25.0 ns, but .* has 16 bins"),
    "huge": (_huge, r"100000 VEM in one bin, beyond float16 .*convert.trace_dtype: float32"),
    "repeated_id": (_repeated_id, r"entry 0 \(event_id 5\): event_id 5 appears twice \(also in .*0\.root\)"),
    "off_lattice": (_off_lattice, r"lies in lattice cell \(1, 0\), but the array puts station \d+ at \(0, 0\), 1500 m away"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_cleanly_through_the_cli(case: str, tmp_path: Path, capsys) -> None:
    make, message = BAD[case]
    good = write_events(tmp_path / "in" / "0.root", [_good(7, seed=2)], T)  # converted first: partial output
    bad = make(tmp_path / "in" / f"{case}.root")
    out = tmp_path / "out" / "x.h5"
    code = cli_main(["convert", "--config-json", _cfg(), "--inputs", str(good), str(bad), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert bad.name in err
    assert re.search(message, err), err
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_empty_dataset_fails_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    out = tmp_path / "out" / "x.h5"
    empty = _no_events(tmp_path / "in" / "0.root")
    assert cli_main(["convert", "--config-json", _cfg(), "--inputs", str(empty), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "hold no events" in err and "0.root" in err
    assert not out.exists() and list(out.parent.iterdir()) == []
    monkeypatch.chdir(tmp_path)
    assert cli_main(["convert", "--config-json", _cfg(), "--dataset", "nothing"]) == 2
    err = capsys.readouterr().err
    assert "--dataset 'nothing' is not a key of 'datasets'" in err
    cfg = json.dumps({"convert": {"grid_size": 5}, "datasets": {"nothing": {"events": 5, "seed": 1}}})
    assert cli_main(["convert", "--config-json", cfg, "--dataset", "nothing"]) == 2
    err = capsys.readouterr().err
    assert "data/default/sim/nothing/0.root: no such events file of dataset 'nothing'" in err
    assert not Path("data/default/tensors").exists()
    with pytest.raises(InputFileError, match="no events files to convert"):
        convert([], tmp_path / "y.h5")


def test_float32_traces_keep_large_values(tmp_path: Path) -> None:
    path = _huge(tmp_path / "big.root")
    convert([path], tmp_path / "big.h5", dtype="float32")
    a = read_arrays(tmp_path / "big.h5")
    assert a["inputs/traces"].max() == 1e5
    assert tensor_info(tmp_path / "big.h5")["attrs"]["trace_dtype"] == "float32"


# --- on events of the real simulator -----------------------------------------------------------


def test_converts_simulated_events_consistently(tmp_path: Path) -> None:
    simulate = pytest.importorskip("airshower.simulate")
    from airshower.config import dataset_simulation, validate_config

    cfg = validate_config({
        "simulation": {"lg_energy": [19.0, 19.5], "trace_bins": 32, "chunk_events": 50, "dead_fraction": 0.05},
        "datasets": {"train": {"events": 30, "seed": 3}, "test": {"events": 10, "seed": 4}},
    })
    sim = dataset_simulation(cfg, "train")
    path = tmp_path / "0.root"
    simulate.simulate_shard(sim, 30, seed=3, shard=0, output=path, dataset="train")
    summary = convert([path], tmp_path / "sim.h5", grid=7)
    events = read_events(path)
    a = read_arrays(tmp_path / "sim.h5")
    n = len(events)
    assert summary["events"] == n > 10
    st = events.station
    trig = st.triggered & st.working
    shown = ((a["inputs/state"] == S.TRIGGERED) | (a["inputs/state"] == S.SATURATED)).sum(axis=(1, 2))
    np.testing.assert_array_equal(shown + a["meta/n_outside"], ak.to_numpy(ak.sum(trig, axis=1)))
    centre = a["inputs/state"][:, 3, 3]
    assert np.isin(centre, [S.TRIGGERED, S.SATURATED]).all()
    assert (a["inputs/start_time"][:, 3, 3] == 0).all() and (a["inputs/position"][:, 3, 3] == 0).all()
    signal = ak.where(trig, st.signal, -1.0)
    hottest = ak.to_numpy(ak.argmax(signal, axis=1))
    for e in range(n):  # per-event check of the test, not of the converter
        assert a["meta/hottest_station"][e] == int(st.id[e][hottest[e]])
        ref = ak.to_numpy(events.station_trace[e][hottest[e]]).astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(a["inputs/traces"][e, 3, 3], ref)
    np.testing.assert_allclose(np.linalg.norm(a["targets/axis"], axis=1), 1.0, rtol=1e-6)
    assert ((a["targets/lg_energy"] >= 19.0) & (a["targets/lg_energy"] <= 19.5)).all()
    np.testing.assert_allclose(a["targets/xmax"], ak.to_numpy(events.mc_xmax), rtol=1e-6)
    assert (np.abs(a["targets/core"]) < 3000).all()  # the core lies near the hottest station
    assert set(np.unique(a["inputs/state"])) <= {int(s) for s in S}



# --- the Auger open data through the CLI: bad input named, exit 2, no output ------------------


def _auger_cfg(paths: list[str]) -> str:
    return json.dumps({"study": "s", "convert": {"grid_size": 5},
                       "datasets": {"auger": {"source": "auger_opendata", "paths": paths}}})


def _no_stations(folder: Path) -> None:
    doc = auger.hybrid_event()
    doc["stations"], doc["info"]["id"] = [], 7
    auger.write(folder, "Auger_000000000007.json", doc)


def _far_station(folder: Path) -> None:
    doc = auger.sd_only_event()
    doc["info"]["id"] = 8
    doc["stations"].append(auger.station(777, (3, 0), 20.0, 1500.0, jitter=(420.0, 0.0)))
    auger.write(folder, "Auger_000000000008.json", doc)


def _repeated_id(folder: Path) -> None:
    auger.write(folder, "Auger_000000000009.json", auger.hybrid_event())


def _not_json(folder: Path) -> None:
    auger.write(folder, "Auger_000000000010.json", "{ this is not json")


AUGER_BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "no_stations": (_no_stations, r"Auger_000000000007\.json.*the event lists no stations"),
    "far_station": (_far_station, r"Auger_000000000008\.json.*station 777.* 4\d\d m from .*lattice node"),
    "repeated_id": (_repeated_id, rf"Auger_0+81847956000\.json: event id {auger.HYBRID} is also the id of .*Auger_0+9\.json"),
    "not_json": (_not_json, r"Auger_000000000010\.json: not a JSON file"),
}


@pytest.mark.parametrize("case", sorted(AUGER_BAD))
def test_bad_auger_open_data_fail_cleanly_through_the_cli(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    make, message = AUGER_BAD[case]
    monkeypatch.chdir(tmp_path)
    auger.write_release(Path("release"))
    make(Path("release"))
    code = cli_main(["convert", "--config-json", _auger_cfg(["release/Auger_*.json"]), "--dataset", "auger"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(message, err), err
    assert not Path("data").exists() or not any(Path("data").rglob("*.h5*"))


def test_the_auger_open_data_convert_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    auger.write_release(Path("release"))
    cfg = json.loads(_auger_cfg(["release/Auger_*.json"]))
    cfg["datasets"]["auger"]["summary"] = "release/dataSummarySD1500.csv"
    assert cli_main(["convert", "--config-json", json.dumps(cfg), "--dataset", "auger"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["source"] == "auger_opendata" and summary["events"] == 2 and not summary["truth"]
    assert summary["reference"] == ["fd_energy", "fd_xmax"] and summary["trace_bins"] == 120
    with h5py.File(layout.tensor_file("s", "auger")) as f:
        assert "targets" not in f and f["reference/fd_xmax"].attrs["unit"] == "g/cm2"
        assert np.isnan(f["reference/fd_xmax"][()]).sum() == 1
