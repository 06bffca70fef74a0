"""The simulate stage: determinism, bad input, atomic output and the events-file contract via the CLI."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import yaml

import airshower.simulate as simulate
from airshower.cli import main as cli_main
from airshower.config import dataset_simulation, validate_config
from airshower.errors import ConfigError
from airshower.io.events import (
    DEAD_RECORD_RADIUS_M,
    EVENT_FIELDS,
    MC_STATION_FIELDS,
    STATION_FIELDS,
    read_events,
    read_meta,
)

TINY = {
    "study": "tiny",
    "simulation": {"lg_energy": [19.0, 20.0], "trace_bins": 48, "chunk_events": 40, "dead_fraction": 0.05},
    "datasets": {"train": {"events": 90, "shards": 2, "seed": 11}, "test": {"events": 30, "shards": 1, "seed": 12}},
}


def _sim_cfg(**override: Any) -> dict[str, Any]:
    cfg = validate_config(TINY)
    sim = dataset_simulation(cfg, "train")
    sim.update(override)
    return sim


def _content(path: Path) -> dict[str, Any]:
    return ak.to_list(read_events(path))


def test_shard_range_splits_evenly() -> None:
    parts = [simulate.shard_range(10, 3, k) for k in range(3)]
    assert parts == [(0, 4), (4, 3), (7, 3)]
    with pytest.raises(ConfigError, match="--shard 3"):
        simulate.shard_range(10, 3, 3)


def test_same_seed_same_content_other_seed_or_shard_differs(tmp_path: Path) -> None:
    sim = _sim_cfg()
    a = simulate.simulate_shard(sim, 40, seed=5, shard=0, output=tmp_path / "a.root", dataset="train")
    simulate.simulate_shard(sim, 40, seed=5, shard=0, output=tmp_path / "b.root", dataset="train")
    simulate.simulate_shard(sim, 40, seed=5, shard=1, output=tmp_path / "c.root", dataset="train")
    simulate.simulate_shard(sim, 40, seed=6, shard=0, output=tmp_path / "d.root", dataset="train")
    assert a["events_thrown"] == 40 and a["events_written"] > 30
    ref = _content(tmp_path / "a.root")
    assert ref == _content(tmp_path / "b.root")
    assert ref != _content(tmp_path / "c.root")
    assert ref != _content(tmp_path / "d.root")
    xa = np.asarray(read_events(tmp_path / "a.root").mc_xmax)
    xc = np.asarray(read_events(tmp_path / "c.root").mc_xmax)
    assert not np.intersect1d(xa, xc).size  # independent streams


def test_library_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="max_zenith_deg"):
        simulate.check_settings(_sim_cfg(max_zenith_deg=70))
    with pytest.raises(ConfigError, match="hadronic_model"):
        simulate.check_settings(_sim_cfg(hadronic_model="SIBYLL-2.3d"))
    with pytest.raises(ConfigError, match="unknown primary"):
        simulate.check_settings(_sim_cfg(primaries={"p": 1, "O": 1}))
    with pytest.raises(ConfigError, match="trace_bins"):
        simulate.check_settings(_sim_cfg(trace_bins=0))
    with pytest.raises(ConfigError, match="lg_energy"):
        simulate.check_settings(_sim_cfg(lg_energy=[20.0, 19.0]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["datasets"]["train"].update(events=-5), "events"),
        (lambda c: c["simulation"].update(primaries={"p": 0.5, "O": 0.5}), "primaries"),
        (lambda c: c["simulation"].update(hadronic_model="SIBYLL"), "hadronic_model"),
        (lambda c: c["simulation"].update(max_zenith_deg=95), "max_zenith_deg"),
        (lambda c: c["simulation"].update(max_zenith_deg=75), "max_zenith_deg"),
        (lambda c: c["simulation"].update(trace_bins=0), "trace_bins"),
    ],
)
def test_cli_refuses_bad_config_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                change: Any, message: str) -> None:
    cfg = copy.deepcopy(TINY)
    change(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out.root"
    rc = cli_main(["simulate", "--config", str(path), "--dataset", "train", "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "error" in err
    assert not out.exists() and not list(tmp_path.glob(".out.root*"))


def test_interrupted_simulation_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = simulate.simulate_chunk
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(simulate, "simulate_chunk", failing)
    out = tmp_path / "shard.root"
    with pytest.raises(KeyboardInterrupt):
        simulate.simulate_shard(_sim_cfg(chunk_events=10), 30, seed=1, shard=0, output=out)
    assert calls["n"] == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_events_contract(tmp_path: Path) -> None:
    """`airshower simulate` on a tiny dataset, read back with read_events, checked against the contract."""
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "sim" / "train" / "1.root"
    proc = subprocess.run(
        [sys.executable, "-m", "airshower.cli", "simulate", "--config", str(cfg_path), "--dataset", "train",
         "--shard", "1", "--output", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    meta = read_meta(out)
    assert meta["n_thrown"] == 45 and meta["trace_bins"] == 48 and meta["bin_ns"] == 25.0
    assert meta["dataset"] == "train" and meta["shard"] == 1 and meta["seed"] == 11
    assert meta["simulation"]["trace_bins"] == 48
    ev = read_events(out)
    n = len(ev)
    assert 0 < n <= 45
    # fields: exactly the contract; truth only in mc_ fields
    assert set(ev.fields) == set(EVENT_FIELDS) | {"station", "mc_station", "station_trace"}
    assert set(ev.station.fields) == set(STATION_FIELDS)
    assert set(ev.mc_station.fields) == set(MC_STATION_FIELDS)
    observables = {"event_id", "event_t5", "station", "station_trace"}
    assert all(f.startswith("mc_") for f in set(ev.fields) - observables)
    ids = np.asarray(ev.event_id)
    assert len(set(ids.tolist())) == n and ids.min() >= 45 and ids.max() < 90  # shard 1 holds events 45..89
    # traces (event, station, T); signal = trace sum (the recorded, saturated trace)
    traces = ak.to_numpy(ak.flatten(ev.station_trace, axis=1))
    assert traces.shape[1] == 48
    st = ak.flatten(ev.station)
    np.testing.assert_allclose(np.asarray(st.signal), traces.sum(axis=1), rtol=1e-4, atol=1e-3)
    trig, work = np.asarray(st.triggered), np.asarray(st.working)
    assert trig.sum() >= 3 * n and np.all(work == trig)  # triggered or dead
    assert np.all(traces[~work] == 0) and np.all(np.asarray(st.signal)[~work] == 0)
    # dead stations recorded only near the core; start times relative to the first triggered station
    dist = np.hypot(ev.station.x - ev.mc_core_x, ev.station.y - ev.mc_core_y)
    assert ak.all(dist[~ev.station.working] <= DEAD_RECORD_RADIUS_M)
    first = ak.min(ev.station.start_time[ev.station.triggered], axis=1)
    np.testing.assert_allclose(np.asarray(first), 0.0)
    assert ak.all(ev.station.start_time >= 0)
    assert ak.all(ak.num(ev.station.id) == ak.num(ev.mc_station.signal_muon))
    assert np.all(np.asarray(ev.mc_energy) >= 1e19) and np.all(np.asarray(ev.mc_zenith) <= np.radians(60))


def test_cli_validation_figures(tmp_path: Path) -> None:
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "validation"
    rc = cli_main(["simulate", "--config", str(cfg_path), "--dataset", "test", "--validate", str(out),
                   "--validate-events", "150"])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    for stem in ("xmax_distributions", "ldf", "muon_fraction", "trace_shapes", "event_footprint", "trigger_efficiency",
                 "hadronic_models"):
        assert {f"{stem}.pdf", f"{stem}.png"} <= names


def test_written_events_pass_t3_and_carry_6t5(tmp_path: Path) -> None:
    """Every written event passes a T3 configuration (recomputed from its stored traces), and the
    6T5 flag is set for most but not all of them (the array edge and dead stations; ~14% fail)."""
    from airshower.detector.tank import electronics
    from airshower.detector.trigger import station_trigger, t3_trigger

    sim = _sim_cfg(lg_energy=[18.5, 20.0], dead_fraction=0.01, chunk_events=300)
    simulate.simulate_shard(sim, 300, seed=3, shard=0, output=tmp_path / "a.root")
    ev = read_events(tmp_path / "a.root")
    trig = np.asarray(ak.flatten(ev.station.triggered))
    traces = ak.to_numpy(ak.flatten(ev.station_trace, axis=1))[trig]
    event = np.repeat(np.arange(len(ev)), ak.num(ev.station.id).to_numpy())[trig]
    station = np.asarray(ak.flatten(ev.station.id))[trig]
    th, tot = station_trigger(traces, electronics("ub"))
    assert np.all(th | tot)
    tot_mode, four_mode = t3_trigger(event, station, tot, len(ev))
    assert np.all(tot_mode | four_mode)
    t5 = np.asarray(ev.event_t5)
    assert 0.7 < t5.mean() < 0.97


def test_hadronic_model_and_data_factor_reach_the_showers(tmp_path: Path) -> None:
    """QGSJetII-04 showers carry 1.33/1.61 of the EPOS-LHC muons (PRL 117, 192001); mc_muon_scale holds
    the data/simulation factor at each event's energy (energy dependent when given as a mapping)."""
    n = 120
    files = {}
    for name, override in {"epos": {}, "qgs": {"hadronic_model": "QGSJetII-04"},
                           "scaled": {"muon_scale": {"value": 1.33, "lg_energy_ref": 19.0, "slope": 0.1}}}.items():
        files[name] = read_events(simulate.simulate_shard(_sim_cfg(**override), n, seed=9, shard=0,
                                                          output=tmp_path / f"{name}.root")["output"])
    def mean_ln_rmu_p(ev: Any) -> float:
        mass = np.asarray(ev.mc_mass)
        ln_rmu = np.log(np.asarray(ev.mc_rmu)) - np.log(1.35) / np.log(56) * np.log(mass)
        return float(ln_rmu.mean())
    assert np.exp(mean_ln_rmu_p(files["qgs"]) - mean_ln_rmu_p(files["epos"])) == pytest.approx(1.33 / 1.61, rel=0.05)
    scaled = files["scaled"]
    lg = np.log10(np.asarray(scaled.mc_energy))
    np.testing.assert_allclose(np.asarray(scaled.mc_muon_scale), 1.33 * 10 ** (0.1 * (lg - 19.0)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(files["epos"].mc_muon_scale), 1.0)
    with pytest.raises(ConfigError, match="muon_scale"):
        simulate.check_settings(_sim_cfg(muon_scale={"value": 1.3, "offset": 1}))


def test_trigger_flags_turn_on() -> None:
    """The T3 efficiency of thrown events rises from ~0 at 10^17.5 eV to 1 above 10^19 eV (the
    SD-1500 is fully efficient above 3 EeV, NIM A 613 (2010) 29); 6T5 only removes events."""
    flags = simulate.trigger_flags(_sim_cfg(chunk_events=400), 800, seed=4, lg_energy=(17.5, 20.0))
    low, high = flags["lg_energy"] < 17.8, flags["lg_energy"] > 19.0
    assert flags["t3"][low].mean() < 0.3
    assert flags["t3"][high].mean() > 0.97
    assert np.all(flags["t3"] == (flags["t3_tot"] | flags["t3_4c4"]))
    assert not np.any(flags["t5"] & ~flags["t3"])
