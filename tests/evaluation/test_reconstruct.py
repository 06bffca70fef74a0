"""``airshower reconstruct``: events files with or without truth in, a per-event table out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from airshower.cli import main as cli_main
from airshower.config import validate_config
from airshower.convert import convert_dataset
from airshower.evaluation.predict import predict_source
from airshower.inference.checkpoint import load_model
from airshower.inference.tensor_sources import H5Source
from airshower.training.engine import train_model
from synthetic_events import synthetic_chunk, write_events

T, G = 16, 5
ALL = ["xmax", "lg_energy", "axis", "core", "ln_a"]


def without_truth(chunk: dict) -> dict:
    return {k: v for k, v in chunk.items() if not k.startswith("mc_")}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict[str, Path]:
    """Events files with and without truth, their tensor file, and a small jointly trained hexcnn with sigma."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("reco")
    chunk = synthetic_chunk(60, seed=11, trace_bins=T)
    sim = write_events(root / "sim.root", [chunk], T)
    data = write_events(root / "data.root", [without_truth(chunk)], T)
    tensors = root / "sim.h5"
    convert_dataset([sim], tensors, G, 100, "float32", {})
    cfg = validate_config({
        "models": {"small": {"type": "hexcnn", "trace_channels": [4], "conv_channels": [8], "head_hidden": [8]}},
        "training": {"epochs": 1, "batch_size": 16, "targets": ALL, "uncertainty": True},
    }, partial=True)
    train_model(cfg, "small", tensors, root / "model", device="cpu")
    return {"sim": sim, "data": data, "tensors": tensors, "model": root / "model", "root": root}


def _run(study: dict[str, Path], inputs: list[Path], output: Path) -> int:
    return cli_main(["reconstruct", "--model-dir", str(study["model"]), "--inputs", *map(str, inputs),
                     "--output", str(output), "--device", "cpu", "--quiet"])


def test_table_holds_the_networks_physical_predictions_with_sigma_and_truth(study, tmp_path, capsys) -> None:
    out = tmp_path / "table.h5"
    assert _run(study, [study["sim"], study["data"]], out) == 2  # simulation and data mixed in one table
    assert "reconstruct files with and without truth apart" in capsys.readouterr().err and not out.exists()
    assert _run(study, [study["sim"]], out) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["events"] == 60
    model, normaliser, _ = load_model(study["model"] / "model.pt")
    values, sigma = predict_source(model, normaliser, H5Source(study["tensors"]))
    with h5py.File(out) as f:
        cols = json.loads(f.attrs["columns"])
        assert f.attrs["model"] == "small" and bool(f.attrs["uncertainty"])
        np.testing.assert_allclose(f["events/xmax"][()], values["xmax"], rtol=1e-6)
        np.testing.assert_allclose(f["events/axis_z"][()], values["axis"][:, 2], rtol=1e-6)
        np.testing.assert_allclose(f["events/core_y_sigma"][()], sigma["core"][:, 1], rtol=1e-6)
        assert (f["events/xmax_sigma"][()] > 0).all()
        np.testing.assert_allclose(f["events/true_ln_a"][()], np.log(f["events/true_mass"][()]), rtol=1e-6)
        zen = f["events/zenith"][()]
        np.testing.assert_allclose(np.cos(np.radians(zen)), values["axis"][:, 2], atol=1e-6)
        assert f["events/xmax"].attrs["unit"] == "g/cm2" and f["events/zenith"].attrs["unit"] == "deg"
    for t in ALL:
        assert any(c == t or c.startswith(f"{t}_") for c in cols), t
        assert any(c.startswith(f"true_{t}") for c in cols), t


def test_data_without_truth_give_the_same_reconstruction_and_no_truth_columns(study, tmp_path, capsys) -> None:
    sim_csv, data_csv = tmp_path / "sim.csv", tmp_path / "data.csv"
    assert _run(study, [study["sim"]], sim_csv) == 0
    assert _run(study, [study["data"]], data_csv) == 0
    sim_rows = list(csv.DictReader(sim_csv.open()))
    data_rows = list(csv.DictReader(data_csv.open()))
    assert len(data_rows) == 60
    assert not any(k.startswith("true_") for k in data_rows[0])
    for a, b in zip(sim_rows, data_rows, strict=True):
        assert a["event_id"] == b["event_id"] and a["file"].endswith("sim.root") and b["file"].endswith("data.root")
        for key in ("xmax", "lg_energy", "axis_x", "core_x", "ln_a", "xmax_sigma"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), key


def test_a_tensor_file_reconstructs_like_its_events_file(study, tmp_path) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert _run(study, [study["sim"]], a) == 0 and _run(study, [study["tensors"]], b) == 0
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for name in ("xmax", "ln_a_sigma", "true_xmax"):
            np.testing.assert_allclose(fa[f"events/{name}"][()], fb[f"events/{name}"][()], rtol=1e-6)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "x.parquet", "unknown table format '.parquet'"),
    (lambda p: p / "missing.root", "missing.root: file not found"),
])
def test_bad_input_names_it_and_leaves_no_table(study, tmp_path, capsys, make, message) -> None:
    target = make(tmp_path)
    inputs = [target] if target.suffix == ".root" else [study["sim"]]
    out = target if target.suffix == ".parquet" else tmp_path / "t.csv"
    assert _run(study, inputs, out) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_column_units(study, tmp_path) -> None:
    out = tmp_path / "t.h5"
    assert _run(study, [study["sim"]], out) == 0
    with h5py.File(out) as f:
        unit = {name: f[f"events/{name}"].attrs["unit"] for name in json.loads(f.attrs["columns"])}
    assert unit["core_x_sigma"] == "m" and unit["true_lg_energy"] == "lg(E/eV)" and unit["ln_a"] == "1"
    assert unit["true_mass"] == "A" and unit["azimuth"] == "deg" and unit["true_zenith"] == "deg"
    assert unit["hottest_station"] == "" and unit["event_id"] == ""


def test_another_bin_width_is_refused(study, tmp_path, capsys) -> None:
    uub = write_events(tmp_path / "uub.root", [synthetic_chunk(10, seed=3, trace_bins=T)], T, bin_ns=25.0 / 3)
    out = tmp_path / "t.csv"
    assert _run(study, [uub], out) == 2
    err = capsys.readouterr().err
    assert "uub.root: trace bins of 8.33" in err and "trained on bins of 25.0 ns" in err and not out.exists()
