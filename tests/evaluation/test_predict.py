"""Prediction with a trained model: de-normalised outputs, unit axes, batch-size invariance, the file."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from airshower.batch import Batch
from airshower.cli import main as cli_main
from airshower.config import validate_config
from airshower.evaluation.metrics import compute_metrics
from airshower.evaluation.predict import predict_source
from airshower.evaluation.prediction_file import read_predictions
from airshower.inference.checkpoint import load_checkpoint, load_model
from airshower.inference.tensor_sources import MemorySource
from airshower.io.tensors import TensorChunk, TensorWriter
from airshower.station_state import StationState
from airshower.training.engine import train_model

G, T, N = 5, 12, 40
TARGETS = ["xmax", "lg_energy", "axis", "core"]
EVAL = {"lg_energy_bins": [18.5, 19.0, 19.5, 20.0], "zenith_bins": [0.0, 30.0, 60.0], "bootstrap": 20, "seed": 1}


def tiny_events(n: int = N, seed: int = 0) -> Batch:
    """Random events (no physics): enough for a network to run on."""
    gen = torch.Generator().manual_seed(seed)
    state = torch.full((n, G, G), int(StationState.SILENT), dtype=torch.int8)
    state[:, G // 2 - 1: G // 2 + 2, G // 2 - 1: G // 2 + 2] = int(StationState.TRIGGERED)
    theta = torch.rand(n, generator=gen)
    phi = 6.28 * torch.rand(n, generator=gen)
    axis = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1)
    triggered = (state >= int(StationState.TRIGGERED)).unsqueeze(-1)
    return Batch(
        traces=(torch.rand(n, G, G, T, generator=gen) * triggered).half(),  # traces only where triggered
        start_time=100 * torch.randn(n, G, G, generator=gen),
        state=state,
        position=torch.randn(n, G, G, 3, generator=gen),
        targets={
            "xmax": 750 + 60 * torch.randn(n, generator=gen),
            "lg_energy": 18.5 + 1.5 * torch.rand(n, generator=gen),
            "axis": axis,
            "core": 300 * torch.randn(n, 2, generator=gen),
        },
    )


def write_tensor_file(path, events: Batch, masses: np.ndarray | None) -> None:
    """``events`` as a tensor file, through the converter's writer (sparse trace rows); without truth when ``masses`` is None."""
    n = len(events)
    traces = events.traces.float().numpy().reshape(n, G * G, T)
    has = events.state.numpy().reshape(n, G * G) >= StationState.TRIGGERED
    chunk = TensorChunk(
        trace_values=traces[has], trace_cell=np.nonzero(has)[1], trace_count=has.sum(axis=1),
        start_time=events.start_time.numpy(), state=events.state.numpy(), position=events.position.numpy(),
        targets=({k: v.numpy() for k, v in events.targets.items()} | {"mass": masses, "ln_a": np.log(masses)}
                 if masses is not None else {}),
        meta={"event_id": 1000 + np.arange(n), "source": np.zeros(n), "n_outside": np.zeros(n),
              "t5": np.ones(n, bool), "hottest_station": np.zeros(n)},
    )
    with TensorWriter(path, grid_size=G, trace_bins=T, bin_ns=25.0, truth=masses is not None) as writer:
        writer.append(chunk)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small hexcnn trained for one epoch by the real trainer (on the CPU)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("models") / "small"
    cfg = validate_config({
        "models": {"small": {"type": "hexcnn", "trace_channels": [4], "conv_channels": [8], "head_hidden": [8]}},
        "training": {"epochs": 1, "batch_size": 8, "targets": TARGETS},
    }, partial=True)
    train_model(cfg, "small", MemorySource(tiny_events()), out, device="cpu")
    return out


def test_predictions_are_denormalised_model_outputs(model_dir):
    model, normaliser, info = load_model(model_dir / "model.pt", device="cpu")
    assert info["targets"] == TARGETS
    events = tiny_events(seed=1)
    preds, sigma = predict_source(model, normaliser, MemorySource(events), batch_size=16)
    assert set(preds) == set(TARGETS) and sigma == {}
    assert preds["xmax"].shape == (N,) and preds["axis"].shape == (N, 3) and preds["core"].shape == (N, 2)
    with torch.no_grad():
        direct = normaliser.denormalise(model(Batch(events.traces.float(), events.start_time, events.state,
                                                    events.position)))
    np.testing.assert_allclose(preds["xmax"], direct["xmax"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(preds["core"], direct["core"].numpy(), rtol=1e-4, atol=1e-3)
    # physical units: around the training targets' scale, not standardised numbers
    assert 300 < np.median(preds["xmax"]) < 1200
    np.testing.assert_allclose(np.linalg.norm(preds["axis"], axis=1), 1.0, rtol=1e-9)


def test_batch_size_and_chunking_do_not_change_the_result(model_dir):
    model, normaliser, _ = load_model(model_dir / "model.pt", device="cpu")
    source = MemorySource(tiny_events(seed=2))
    a, _ = predict_source(model, normaliser, source, batch_size=64)
    b, _ = predict_source(model, normaliser, source, batch_size=7, chunk_batches=2)
    for t in TARGETS:
        np.testing.assert_allclose(a[t], b[t], rtol=1e-5, atol=1e-4)


def test_cli_predict_writes_the_contract(model_dir, tmp_path, capsys):
    events = tiny_events(seed=3)
    masses = np.resize(np.array([1, 4, 14, 56], dtype=np.int32), N)
    tensors = tmp_path / "test.h5"
    write_tensor_file(tensors, events, masses)
    out = tmp_path / "predictions" / "test" / "small.h5"
    args = ["predict", "--config-json", "{}", "--model-dir", str(model_dir), "--tensors", str(tensors),
            "--dataset", "test", "--output", str(out), "--batch-size", "16", "--device", "cpu", "--threads", "1"]
    assert cli_main(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["events"] == N and record["targets"] == TARGETS
    pred = read_predictions(out, require=TARGETS)
    assert pred.model == "small" and pred.dataset == "test" and pred.targets == tuple(TARGETS)
    np.testing.assert_array_equal(pred.event_id, 1000 + np.arange(N))
    np.testing.assert_array_equal(pred.index, np.arange(N))
    np.testing.assert_allclose(pred.truth["xmax"], events.targets["xmax"].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(pred.truth["mass"], masses)
    zen = np.degrees(np.arccos(events.targets["axis"][:, 2].numpy()))
    np.testing.assert_allclose(pred.truth["zenith"], zen, atol=1e-3)
    assert pred.config["checkpoint"].endswith("model.pt") and pred.config["weights"] == "best"
    # the same events through predict_source: the file holds exactly the model's output
    model, normaliser, _ = load_model(model_dir / "model.pt", device="cpu")
    direct, _ = predict_source(model, normaliser, MemorySource(events))
    np.testing.assert_allclose(pred.reco["xmax"], direct["xmax"], rtol=1e-5)
    assert pred.sigma == {} and "calibration" not in compute_metrics(pred, EVAL)["quantities"]["xmax"]
    metrics = compute_metrics(pred, EVAL)
    assert set(metrics["quantities"]) == set(TARGETS)


def test_predict_clear_errors(model_dir, tmp_path, capsys):
    base = ["predict", "--config-json", "{}", "--model-dir", str(model_dir), "--dataset", "test",
            "--output", str(tmp_path / "p.h5"), "--device", "cpu"]
    assert cli_main([*base, "--tensors", str(tmp_path / "missing.h5")]) == 2
    assert "tensor file not found" in capsys.readouterr().err
    wrong = tmp_path / "wrong.h5"
    with TensorWriter(wrong, grid_size=7, trace_bins=T, bin_ns=25.0):
        pass
    assert cli_main([*base, "--tensors", str(wrong)]) == 2
    assert "trained on 5x5" in capsys.readouterr().err
    assert cli_main([*base, "--tensors", str(wrong), "--model-dir", str(tmp_path)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert not (tmp_path / "p.h5").exists()


def test_predict_refuses_a_dataset_without_truth_by_name(model_dir, tmp_path, capsys):
    """Events without truth (real data) are reconstructed, not evaluated: predict says so."""
    events = tiny_events(seed=5)
    tensors = tmp_path / "data.h5"
    write_tensor_file(tensors, dataclasses.replace(events, targets={}), None)
    out = tmp_path / "p.h5"
    args = ["predict", "--config-json", "{}", "--model-dir", str(model_dir), "--tensors", str(tensors),
            "--dataset", "data", "--output", str(out), "--device", "cpu"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert f"{tensors}: ['targets/lg_energy', 'targets/mass', 'targets/axis'] missing" in err
    assert "needs its truth for the evaluation" in err and "airshower reconstruct" in err
    assert not out.exists()


def damage_weights(path) -> None:
    """Flip the sign bits of three float32 weights of the largest tensor of the checkpoint, in place."""
    weights = load_checkpoint(path)["model_state"]
    tensor = max(weights.values(), key=lambda t: t.numel())
    data = bytearray(path.read_bytes())
    at = data.find(tensor.contiguous().numpy().tobytes()[:64])
    assert at >= 0 and tensor.dtype == torch.float32
    for k in range(3):
        data[at + 4 * k + 3] ^= 0x80
    with open(path, "r+b") as f:
        f.write(data)


def test_predict_refuses_a_damaged_checkpoint(model_dir, tmp_path, capsys):
    damaged = tmp_path / "small" / "model.pt"
    damaged.parent.mkdir()
    shutil.copyfile(model_dir / "model.pt", damaged)
    damage_weights(damaged)
    tensors = tmp_path / "test.h5"
    write_tensor_file(tensors, tiny_events(seed=3), np.resize(np.array([1, 56], dtype=np.int32), N))
    out = tmp_path / "p.h5"
    args = ["predict", "--config-json", "{}", "--model-dir", str(damaged.parent), "--tensors", str(tensors),
            "--dataset", "test", "--output", str(out), "--device", "cpu"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert f"{damaged}: checksum mismatch of the weights: the file is damaged" in err
    assert not out.exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_names_non_finite_truth_before_any_work(model_dir, tmp_path, capsys, bad):
    events = tiny_events(seed=4)
    lg_e = events.targets["lg_energy"].clone()
    lg_e[[0, 9]] = float(bad)
    events.targets["lg_energy"] = lg_e
    tensors = tmp_path / "test.h5"
    write_tensor_file(tensors, events, np.resize(np.array([1, 56], dtype=np.int32), N))
    out = tmp_path / "p.h5"
    args = ["predict", "--config-json", "{}", "--model-dir", str(tmp_path / "no-model"), "--tensors", str(tensors),
            "--dataset", "test", "--output", str(out), "--device", "cpu"]
    assert cli_main(args) == 2  # refused before the (missing) model is even looked at
    err = capsys.readouterr().err
    assert f"{tensors}: targets/lg_energy is NaN or inf in 2 of {N} events" in err
    assert "checkpoint not found" not in err and not out.exists()
    assert cli_main([*args[:4], str(model_dir), *args[5:]]) == 2
    assert f"{tensors}: targets/lg_energy is NaN or inf in 2 of {N} events" in capsys.readouterr().err
    assert not out.exists()


def test_the_log_of_predict_shows_progress_every_tenth(model_dir, tmp_path, capsys):
    """In a log file (stderr no terminal, as in a workflow job): no bar, a line per 10 % with rate and ETA."""
    tensors = tmp_path / "test.h5"
    write_tensor_file(tensors, tiny_events(seed=5), np.resize(np.array([1, 56], dtype=np.int32), N))
    args = ["predict", "--config-json", "{}", "--model-dir", str(model_dir), "--tensors", str(tensors),
            "--dataset", "test", "--output", str(tmp_path / "p.h5"), "--batch-size", "4", "--device", "cpu"]
    assert cli_main(args) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("reconstructing: ")]
    assert len(lines) == 10, lines  # 40 events in batches of 4
    assert lines[0].startswith(f"reconstructing: 4/{N} events (10 %), ") and " events/s, ETA " in lines[0]
    assert lines[-1].startswith(f"reconstructing: {N}/{N} events (100 %), ") and " done in " in lines[-1]
    assert "\r" not in "".join(lines)


def test_progress_lines_come_once_per_tenth_whatever_the_batch():
    import io

    from airshower.inference.progress import ProgressLines, format_duration

    out = io.StringIO()
    bar = ProgressLines(1000, "reconstructing", stream=out)
    for _ in range(27):
        bar.update(37)  # 999 events
    bar.update(1)
    lines = out.getvalue().splitlines()
    assert [line.split("(")[1].split()[0] for line in lines] == ["11", "22", "33", "41", "52", "63", "70", "81",
                                                                 "92", "100"]
    assert all(" events/s, " in line for line in lines) and "done in" in lines[-1]
    assert [format_duration(s) for s in (0.4, 42, 185, 7620)] == ["0 s", "42 s", "3 min 05 s", "2 h 07 min"]
