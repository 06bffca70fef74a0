"""Export of trained networks to .pt2: runs without airshower, same physical outputs as the package."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from airshower.batch import Batch
from airshower.cli import main as cli_main
from airshower.config import validate_config
from airshower.evaluation.predict import predict_source
from airshower.export import ExportError, example_inputs, export_model, read_metadata
from airshower.inference.checkpoint import load_model
from airshower.inference.tensor_sources import MemorySource
from airshower.models.flops import make_example_batch
from airshower.training.engine import train_model

G, T, N = 5, 12, 24
TARGETS = ["xmax", "lg_energy", "axis", "core"]

# the five families with tiny hyperparameters (tests/models/test_architectures.py); vit with
# station tokens (padded per event) and an uncertainty head
FAMILIES = {
    "hexcnn": ({"type": "hexcnn", "trace_channels": [4], "trace_kernel": 3, "trace_features": 4,
                "conv_channels": [6, 6], "head_hidden": [8]}, False),
    "lstm_hexcnn": ({"type": "lstm_hexcnn", "lstm_hidden": 6, "conv_channels": [6, 6], "head_hidden": [8]}, False),
    "vit": ({"type": "vit", "lstm_hidden": 6, "dim": 8, "heads": 2, "depth": 1, "tokens": "stations",
             "pool": "mean", "head_hidden": [8]}, True),
    "temporal": ({"type": "temporal", "dim": 8, "heads": 2, "time_layers": 1, "station_layers": 1,
                  "patch_bins": 3, "head_hidden": [8]}, False),
    "perceiver": ({"type": "perceiver", "dim": 8, "heads": 2, "latents": 4, "cross_layers": 1, "self_layers": 1,
                   "head_hidden": [8]}, False),
}

# Runs exported files with plain torch: any import of airshower fails.
PLAIN_TORCH = textwrap.dedent("""
    import json, sys
    sys.modules["airshower"] = None  # import airshower -> ImportError
    import torch
    inputs_path, out_path, *files = sys.argv[1:]
    inputs = torch.load(inputs_path, weights_only=True)
    results = {}
    for path in files:
        extra = {"airshower.json": ""}
        program = torch.export.load(path, extra_files=extra).module()
        with torch.no_grad():
            outputs = program(*inputs)
        results[path] = {"outputs": list(outputs), "meta": json.loads(extra["airshower.json"])}
    assert not any(k.startswith("airshower.") for k in sys.modules), "airshower was imported"
    torch.save(results, out_path)
""")

# another batch size and other station counts than the traced example (4 events)
INPUTS = example_inputs(G, T, 7, seed=21, absent_rows=2)


def tiny_events(n: int = N, seed: int = 0) -> Batch:
    """Synthetic windows (full ones and ones at the array's edge) with random targets."""
    batch = make_example_batch(G, T, n, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    theta = torch.rand(n, generator=gen)
    phi = 6.28 * torch.rand(n, generator=gen)
    return Batch(
        traces=batch.traces.half(), start_time=batch.start_time.float(), state=batch.state.to(torch.int8),
        position=batch.position.float(),
        targets={
            "xmax": 750 + 60 * torch.randn(n, generator=gen),
            "lg_energy": 18.5 + 1.5 * torch.rand(n, generator=gen),
            "axis": torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1),
            "core": 300 * torch.randn(n, 2, generator=gen),
        },
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """family -> folder of a model trained for one epoch by the real trainer (built on first use)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    cache: dict[str, object] = {}

    def get(family: str):
        if family not in cache:
            spec, uncertainty = FAMILIES[family]
            cfg = validate_config({
                "models": {family: spec},
                "training": {"epochs": 1, "batch_size": 8, "targets": TARGETS, "uncertainty": uncertainty},
            }, partial=True)
            train_model(cfg, family, MemorySource(tiny_events()), root / family, device="cpu")
            cache[family] = root / family
        return cache[family]

    return get


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """family -> (metadata returned by export_model, outputs and metadata of the file run on INPUTS
    in a Python without airshower); one subprocess for all families (torch.export.load is slow to start)."""
    folder = tmp_path_factory.mktemp("exported")
    metas = {}
    for family in FAMILIES:
        metas[family] = export_model(trained(family), folder / f"{family}.pt2")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{f}.pt2" for f in FAMILIES)  # no temporary files
    inputs_path, out_path = folder / "inputs.pt", folder / "outputs.pt"
    torch.save(list(INPUTS), inputs_path)
    files = [str(folder / f"{family}.pt2") for family in FAMILIES]
    proc = subprocess.run([sys.executable, "-c", PLAIN_TORCH, str(inputs_path), str(out_path), *files],
                          capture_output=True, text=True, cwd=folder, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = torch.load(out_path, weights_only=True)
    return {family: (metas[family], results[path], folder / f"{family}.pt2") for family, path in zip(FAMILIES, files)}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_exported_file_runs_with_plain_torch_and_matches_the_package(family, trained, exported):
    meta, got, output = exported[family]
    assert read_metadata(output) == meta == got["meta"]

    model, normaliser, info = load_model(trained(family) / "model.pt")
    batch = Batch(traces=INPUTS[0], start_time=INPUTS[1], state=INPUTS[2], position=INPUTS[3])
    values, sigma = predict_source(model, normaliser, MemorySource(batch), batch_size=3)
    uncertainty = FAMILIES[family][1]
    names = [n for t in TARGETS for n in ([t, f"{t}_sigma"] if uncertainty else [t])]
    assert meta["output_order"] == names and meta["uncertainty"] == uncertainty == bool(sigma)
    assert len(got["outputs"]) == len(names)
    for name, out in zip(names, got["outputs"]):
        want = sigma[name.removesuffix("_sigma")] if name.endswith("_sigma") else values[name]
        assert out.dtype == torch.float32 and tuple(out.shape) == want.shape, name
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=name)
    axis = got["outputs"][names.index("axis")].numpy()
    np.testing.assert_allclose(np.linalg.norm(axis, axis=1), 1.0, rtol=1e-5)

    units = {o["name"]: o["unit"] for o in meta["outputs"]}
    assert units["xmax"] == "g/cm2" and units["core"] == "m" and units["axis"] == "unit vector"
    assert meta["model"] == family and meta["type"] == FAMILIES[family][0]["type"]
    assert (meta["grid_size"], meta["trace_bins"]) == (G, T)
    assert [i["name"] for i in meta["inputs"]] == ["traces", "start_time", "state", "position"]


def test_cli_export(trained, tmp_path, capsys):
    output = tmp_path / "out" / "hexcnn.pt2"
    assert cli_main(["export", "--model-dir", str(trained("hexcnn")), "--output", str(output),
                     "--weights", "last"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["model"] == "hexcnn" and record["outputs"] == TARGETS
    assert read_metadata(output)["weights"] == "last"


def test_export_failure_leaves_no_file_and_names_the_model(trained, tmp_path, monkeypatch, capsys):
    model_dir = trained("hexcnn")
    output = tmp_path / "model.pt2"

    def unsupported(*args, **kwargs):
        raise RuntimeError("aten::frobnicate has no meta kernel\nmore detail")

    monkeypatch.setattr(torch.export, "export", unsupported)
    with pytest.raises(ExportError, match=r"model 'hexcnn'.*cannot be exported.*aten::frobnicate"):
        export_model(model_dir, output)
    assert list(tmp_path.iterdir()) == []

    assert cli_main(["export", "--model-dir", str(model_dir), "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert "airshower export: error:" in err and "'hexcnn'" in err and "frobnicate" in err
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_a_program_that_differs(trained, tmp_path, monkeypatch):
    import airshower.export as export

    real = export._reference

    def shifted(*args, **kwargs):
        out = real(*args, **kwargs)
        out[1] = out[1] + 0.5  # lg_energy
        return out

    monkeypatch.setattr(export, "_reference", shifted)
    with pytest.raises(ExportError, match=r"model 'hexcnn'.*first differing output lg_energy"):
        export_model(trained("hexcnn"), tmp_path / "model.pt2")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_bad_input(tmp_path, capsys):
    assert cli_main(["export", "--model-dir", str(tmp_path / "missing"), "--output", str(tmp_path / "m.pt2")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert cli_main(["export", "--model-dir", str(tmp_path), "--output", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
