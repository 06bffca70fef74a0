"""Events files in the ROOT contract whose stations carry the producer's ids and site positions
(``RootEventsSource(positions="site")``): the array is fitted to them, and the windows are
those of the same events on the SD-1500 lattice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest

from airshower.config import validate_config
from airshower.convert import convert_source
from airshower.detector.array import sd1500
from airshower.detector.positions import DEFAULT_TOLERANCE_M
from airshower.errors import ConfigError, InputFileError
from airshower.hexgrid import window_cells
from airshower.io.tensors import StationState
from airshower.sources.kinds import OPTIONS
from airshower.sources.registry import open_source
from airshower.sources.root_files import RootEventsSource
from synthetic_events import synthetic_chunk, write_events

T = 8
G = 5
ANGLE = np.radians(23.0)  # lattice rows of the site frame, counter-clockwise from its +x axis
UTM = (450_000.0, 6_100_000.0)  # a UTM-like offset (easting, northing) [m]
JITTER_M = 30.0  # every station lies up to this far from its nominal node (the same in every event)
ID0 = 10_000  # the producer's station id of SD-1500 station i: ID0 + i


def _jitter(n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    radius = JITTER_M * np.sqrt(rng.uniform(0.0, 1.0, n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    return radius * np.cos(phi), radius * np.sin(phi)


JX, JY = _jitter(sd1500().n)


def _to_site(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(ANGLE), np.sin(ANGLE)
    return c * x - s * y + UTM[0], s * x + c * y + UTM[1]


# (event of each station, SD-1500 index, dx, dy) -> (producer ids, dx, dy): changes before the site transform
Edit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def site_chunk(chunk: dict, edit: Edit | None = None) -> dict:
    """An events chunk of :func:`synthetic_chunk` as another producer's simulation of a real array
    would write it: station ids ID0 + index, positions jittered, rotated by ANGLE and shifted to
    UTM-like coordinates; the truth core and azimuth in that frame too."""
    st = chunk["station"]
    counts = np.asarray(ak.num(st["id"]), dtype=np.int64)
    event = np.repeat(np.arange(counts.size), counts)
    index = np.asarray(ak.to_numpy(ak.flatten(st["id"])), dtype=np.int64)
    dx, dy = JX[index], JY[index]
    ids = ID0 + index
    if edit is not None:
        ids, dx, dy = edit(event, index, dx.copy(), dy.copy())
    x = np.asarray(ak.to_numpy(ak.flatten(st["x"])), dtype=np.float64) + dx
    y = np.asarray(ak.to_numpy(ak.flatten(st["y"])), dtype=np.float64) + dy
    sx, sy = _to_site(x, y)
    fields = {f: ak.flatten(st[f]) for f in st.fields}
    fields.update(id=np.asarray(ids, dtype=np.int32), x=sx.astype(np.float32), y=sy.astype(np.float32))
    out = dict(chunk)
    out["station"] = ak.zip({f: ak.unflatten(v, counts) for f, v in fields.items()})
    cx, cy = _to_site(np.asarray(chunk["mc_core_x"]), np.asarray(chunk["mc_core_y"]))
    out["mc_core_x"], out["mc_core_y"] = cx, cy
    out["mc_azimuth"] = np.asarray(chunk["mc_azimuth"]) + ANGLE
    return out


def _chunks(n: int = 300) -> list[dict]:
    return [synthetic_chunk(n, seed=1, trace_bins=T), synthetic_chunk(n, seed=2, trace_bins=T, first_id=n)]


def _write(folder: Path, prefix: str, chunks: list[dict]) -> list[Path]:
    return [write_events(folder / f"{prefix}{k}.root", [c], T) for k, c in enumerate(chunks)]


def _read(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        out: dict[str, np.ndarray] = {}
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _seen(chunks: list[dict]) -> np.ndarray:
    """SD-1500 indices of the stations stored in any event."""
    return np.unique(np.concatenate([ak.to_numpy(ak.flatten(c["station"]["id"])) for c in chunks]))


def test_site_positions_give_the_windows_of_the_lattice(tmp_path: Path) -> None:
    chunks = _chunks()
    lattice_files = _write(tmp_path, "lattice", chunks)
    site_files = _write(tmp_path, "site", [site_chunk(c) for c in chunks])
    convert_source(RootEventsSource(lattice_files), tmp_path / "lattice.h5", G, 100, "float32", {})
    src = RootEventsSource(site_files, positions="site")
    convert_source(src, tmp_path / "site.h5", G, 100, "float32", {})
    a, b = _read(tmp_path / "lattice.h5"), _read(tmp_path / "site.h5")
    lattice, arr = src.lattice, sd1500()
    assert np.degrees(lattice.angle_rad) == pytest.approx(23.0, abs=0.01)
    seen = _seen(chunks)
    assert src.array().n == seen.size < arr.n  # the stations seen in the files, at their real positions

    np.testing.assert_array_equal(a["meta/event_id"], b["meta/event_id"])
    hot = a["meta/hottest_station"].astype(np.int64)  # SD-1500 index
    np.testing.assert_array_equal(lattice.station_ids[b["meta/hottest_station"]], ID0 + hot)
    # the same stored stations in the same cells, with the same traces and times
    for name in ("inputs/traces/cell", "inputs/traces/offsets", "inputs/traces/values", "inputs/start_time",
                 "meta/n_outside", "meta/t5", "targets/lg_energy", "targets/xmax"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # states equal, but for the lattice cells of stations never stored in any event: not on the fitted array
    wq, wr = window_cells(arr.q[hot], arr.r[hot], G)
    station = arr.station_at(wq, wr)  # (n, G, G) SD-1500 index of every cell, -1 off the array
    unseen = (station >= 0) & ~np.isin(station, seen)
    sa, sb = a["inputs/state"], b["inputs/state"]
    np.testing.assert_array_equal(sa[~unseen], sb[~unseen])
    assert (sa[unseen] == StationState.SILENT).all() and (sb[unseen] == StationState.ABSENT).all()
    assert 0 < unseen.sum() < 0.05 * unseen.size
    # relative positions: the real ones, i.e. those of the lattice plus each station's jitter
    on = (station >= 0) & ~unseen
    expected = np.stack([JX[station] - JX[hot][:, None, None], JY[station] - JY[hot][:, None, None]], axis=-1)
    shift = b["inputs/position"][..., :2] - a["inputs/position"][..., :2]
    assert np.abs(shift[on]).max() > 0.5 * JITTER_M
    np.testing.assert_allclose(shift[on], expected[on], atol=1.5)  # float32 UTM northings: 0.5 m steps
    np.testing.assert_allclose(b["inputs/position"][..., 2], a["inputs/position"][..., 2], atol=1e-3)
    # the truth in the site frame: core (relative to the hottest station) and axis as on the lattice
    np.testing.assert_allclose(b["targets/core"] - a["targets/core"],
                               -np.stack([JX[hot], JY[hot]], axis=-1), atol=1.5)
    np.testing.assert_allclose(b["targets/axis"], a["targets/axis"], atol=1e-4)


def test_a_station_far_off_its_node_in_every_event_is_refused_by_id_with_its_offset(tmp_path: Path) -> None:
    chunks = _chunks(150)
    k = int(_seen(chunks)[40])

    def far(event, index, dx, dy):  # 400 m off, not towards a neighbour
        dx[index == k] += 400.0 * np.cos(0.3)
        dy[index == k] += 400.0 * np.sin(0.3)
        return ID0 + index, dx, dy

    files = _write(tmp_path, "site", [site_chunk(c, far) for c in chunks])
    with pytest.raises(InputFileError, match=rf"site\d\.root: station {ID0 + k} lies (3[6-9]\d|4[0-4]\d) m from its "
                       rf"lattice node \(cell .*\), more than the tolerance of 300 m"):
        RootEventsSource(files, positions="site").array()
    assert RootEventsSource(files, positions="site", position_tolerance_m=500.0).array().n == _seen(chunks).size


def test_a_station_moved_in_one_event_is_refused_naming_file_and_event(tmp_path: Path) -> None:
    chunks = _chunks(150)
    index1 = np.asarray(ak.to_numpy(ak.flatten(chunks[1]["station"]["id"])))
    k = int(np.bincount(index1).argmax())  # seen in many events: its median stays on its node
    counts = np.asarray(ak.num(chunks[1]["station"]["id"]))
    event = int(np.repeat(np.arange(counts.size), counts)[index1 == k][1])  # its second event in file 1

    def moved(ev, index, dx, dy):
        hit = (index == k) & (ev == event)
        dx[hit] -= 400.0 * np.cos(0.3)
        dy[hit] -= 400.0 * np.sin(0.3)
        return ID0 + index, dx, dy

    files = _write(tmp_path, "site", [site_chunk(chunks[0]), site_chunk(chunks[1], moved)])
    src = RootEventsSource(files, positions="site")
    assert src.array().n == _seen(chunks).size  # the fit stands: one event does not move the median
    event_id = 150 + event
    message = (rf"site1\.root: entry {event} \(event_id {event_id}\), station {ID0 + k}: at \(\d+, \d+\) m it lies "
               rf"(3[6-9]\d|4[0-4]\d) m from the lattice node of cell \(-?\d+, -?\d+\); the dataset puts it in cell "
               rf"\(-?\d+, -?\d+\) \(tolerance 300 m\)")
    with pytest.raises(InputFileError, match=message):
        convert_source(src, tmp_path / "site.h5", G, 100, "float32", {})
    assert not (tmp_path / "site.h5").exists()


def test_two_station_ids_in_one_cell_are_refused_naming_both(tmp_path: Path) -> None:
    chunks = _chunks(150)
    index1 = np.asarray(ak.to_numpy(ak.flatten(chunks[1]["station"]["id"])))
    k = int(np.bincount(index1).argmax())
    counts = np.asarray(ak.num(chunks[1]["station"]["id"]))
    event = int(np.repeat(np.arange(counts.size), counts)[index1 == k][0])

    def twin(ev, index, dx, dy):  # a second station 12 m away, under its own id, in one event
        hit = (index == k) & (ev == event)
        dx[hit] += 11.0
        dy[hit] -= 5.0
        return np.where(hit, 2 * ID0 + index, ID0 + index), dx, dy

    files = _write(tmp_path, "site", [site_chunk(chunks[0]), site_chunk(chunks[1], twin)])
    with pytest.raises(InputFileError, match=rf"site\d\.root.*: stations {ID0 + k} and {2 * ID0 + k} fall into the "
                       r"same lattice cell \(-?\d+, -?\d+\)"):
        RootEventsSource(files, positions="site").array()


def test_positions_lattice_is_the_default_and_the_options_come_from_the_dataset_entry(tmp_path: Path) -> None:
    files = _write(tmp_path, "lattice", [synthetic_chunk(5, seed=3, trace_bins=T)])
    src = RootEventsSource(files)
    assert src.positions == "lattice" and src.array().n == sd1500().n
    with pytest.raises(ValueError, match="fits no lattice"):
        src.lattice  # noqa: B018
    site = open_source({"source": "files", "paths": ["x"], "positions": "site", "position_tolerance_m": 200}, files)
    assert isinstance(site, RootEventsSource) and site.positions == "site" and site.tolerance_m == 200.0
    assert site.lattice.tolerance_m == 200.0 and site.array().n < sd1500().n
    assert open_source({"source": "files", "paths": ["x"]}, files).tolerance_m == DEFAULT_TOLERANCE_M
    with pytest.raises(ConfigError, match=r"positions must be one of \['lattice', 'site'\], got 'grid'"):
        RootEventsSource(files, positions="grid")
    with pytest.raises(ConfigError, match="position_tolerance_m must be positive"):
        RootEventsSource(files, positions="site", position_tolerance_m=0.0)
    # the ids of "site" files are not indices of SD-1500: the lattice reading refuses them
    site_files = _write(tmp_path, "site", [site_chunk(synthetic_chunk(5, seed=3, trace_bins=T))])
    with pytest.raises(InputFileError, match=r"site0\.root: entry 0 \(event_id 0\): station id 1\d+ is not on the "
                       r"array \(0\.\.1\d+\)"):
        list(RootEventsSource(site_files).chunks(10, ("event_id", "event_t5")))


def test_the_config_takes_positions_for_files_only() -> None:
    assert {"positions", "position_tolerance_m"} <= set(OPTIONS["files"])
    base = {"train": {"events": 10, "seed": 1}, "test": {"events": 10, "seed": 2}}
    cfg = {"datasets": {**base, "mine": {"source": "files", "paths": ["x/*.root"], "positions": "site",
                                         "position_tolerance_m": 250}},
           "train_dataset": "train", "test_datasets": ["test"]}
    assert validate_config(cfg)["datasets"]["mine"]["positions"] == "site"
    cfg["datasets"]["mine"]["positions"] = "utm"
    with pytest.raises(ConfigError, match="positions"):
        validate_config(cfg)
    with pytest.raises(ConfigError, match=r"'datasets.train' has \['positions'\], which source 'simulate' does "
                       r"not read"):
        validate_config({**cfg, "datasets": {**base, "train": {"events": 10, "seed": 1, "positions": "site"}}})


def test_the_site_frame_is_stored_and_reconstructed_columns_return_to_it(tmp_path: Path) -> None:
    """The tensor file keeps the fitted lattice (site/ group); the table's site columns put the
    lattice-frame truth back where the producer wrote it: real hottest ids, site azimuth and core."""
    from airshower.evaluation.reconstruct import _read_site, site_columns, table_columns

    chunks = [site_chunk(c) for c in _chunks(120)]
    files = _write(tmp_path, "site", chunks)
    convert_source(RootEventsSource(files, positions="site"), tmp_path / "site.h5", G, 100, "float32", {})
    b = _read(tmp_path / "site.h5")
    site = _read_site(tmp_path / "site.h5")
    assert site is not None and np.degrees(site["angle_rad"]) == pytest.approx(23.0, abs=0.01)
    assert _read_site(convert_source(RootEventsSource(_write(tmp_path, "lat", _chunks(20))), tmp_path / "l.h5", G,
                                     100, "float32", {})["output"]) is None
    truth = {k: b[f"targets/{k}"] for k in ("axis", "core")}
    columns = table_columns(truth, {}, truth, ["axis", "core"])
    hot = b["meta/hottest_station"].astype(np.int64)
    out = site_columns(site, hot, columns)
    events = {k: np.concatenate([np.asarray(c[k]) for c in chunks]) for k in ("event_id", "mc_core_x", "mc_core_y",
                                                                              "mc_azimuth")}
    order = np.searchsorted(events["event_id"], b["meta/event_id"])
    np.testing.assert_allclose(out["true_core_site_x"][0], events["mc_core_x"][order], atol=2.0)
    np.testing.assert_allclose(out["true_core_site_y"][0], events["mc_core_y"][order], atol=2.0)
    azimuth = np.degrees(events["mc_azimuth"][order]) % 360.0
    diff = (out["true_azimuth_site"][0] - azimuth + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() < 0.05
    assert set(out["hottest_station_id"][0].tolist()) <= set((ID0 + np.arange(2000)).tolist())
