"""The training engine end to end on in-memory events: outputs, reproducibility, resume, bad input."""

from __future__ import annotations

import csv
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from airshower.batch import Batch
from airshower.errors import TrainingError
from airshower.inference.checkpoint import load_checkpoint, load_model
from airshower.inference.tensor_sources import MemorySource
from airshower.training.engine import train_model

from tests.kit.training import tiny_builder, tiny_config


class Crash(Exception):
    """Stands for the process dying in the middle of an epoch."""


def crash_at(epoch: int, step: int):
    def hook(e: int, s: int) -> None:
        if (e, s) == (epoch, step):
            raise Crash(f"epoch {e} step {s}")

    return hook


def train(events: Batch, root: Path, cfg: dict | None = None, **kw) -> dict:
    return train_model(
        cfg or tiny_config(epochs=3),
        "tiny",
        MemorySource(events),
        root / "out",
        root / "state",
        model_builder=kw.pop("model_builder", tiny_builder()),
        **kw,
    )


def weights(root: Path, key: str = "model_state") -> dict[str, torch.Tensor]:
    return load_checkpoint(root / "out" / "model.pt")[key]


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference(events: Batch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted 3-epoch run (single thread, CPU)."""
    root = tmp_path_factory.mktemp("reference")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(events, root, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return root


def test_outputs(reference: Path) -> None:
    out = reference / "out"
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "model.pt", "provenance.json", "train_info.json"]
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for col in ("train_loss", "val_loss", "lr", "seconds", "events_per_s", "val_xmax", "val_core"):
        assert all(math.isfinite(float(r[col])) for r in rows), col
    # the validation resolution of every target in physical units (airshower.training.resolution)
    for col in ("val_xmax_std_gcm2", "val_lg_energy_std", "val_axis_q68_deg", "val_core_q68_m"):
        assert all(math.isfinite(float(r[col])) and float(r[col]) > 0 for r in rows), col
    assert list(rows[0])[:6] == ["epoch", "train_loss", "val_loss", "lr", "seconds", "events_per_s"]
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])  # it learns something
    info = json.loads((out / "train_info.json").read_text())
    for key in ("parameters", "flops_per_event", "wall_time_s", "device", "peak_gpu_memory_bytes", "seed",
                "versions", "epochs_run", "best_epoch"):
        assert key in info, key
    assert info["parameters"] == sum(p.numel() for p in tiny_builder()("t", {}, 5, 16, ["xmax", "lg_energy", "axis", "core"]).parameters())
    assert info["flops_per_event"] > 0 and info["epochs_run"] == 3 and info["data"] == "device"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"][0]["sha256"] and prov["config"]["training"]["epochs"] == 3
    assert set(prov["config"]["models"]) == {"tiny"}
    ckpt = load_checkpoint(out / "model.pt")
    assert ckpt["epoch"] == 3 and ckpt["finished"] and ckpt["best_epoch"] == info["best_epoch"]
    assert set(ckpt["normaliser"]["shift"]) == {"xmax", "lg_energy", "axis", "core"}
    assert not (reference / "state" / "last.pt").exists()  # resumable state dropped once done


def test_same_seed_same_weights_other_seed_other_weights(events: Batch, reference: Path, tmp_path: Path) -> None:
    train(events, tmp_path / "a")
    assert same(weights(tmp_path / "a"), weights(reference))
    train(events, tmp_path / "b", tiny_config(epochs=3, seed=1))
    assert not same(weights(tmp_path / "b"), weights(reference))


def test_resume_after_a_crash_gives_the_same_weights(events: Batch, reference: Path, tmp_path: Path) -> None:
    with pytest.raises(Crash):
        train(events, tmp_path, step_hook=crash_at(2, 3))
    assert load_checkpoint(tmp_path / "state" / "last.pt")["epoch"] == 1
    assert not (tmp_path / "out" / "model.pt").exists()
    info = train(events, tmp_path)
    assert info["resumed_after_epoch"] == 1
    assert same(weights(tmp_path), weights(reference))
    assert same(weights(tmp_path, "best_model_state"), weights(reference, "best_model_state"))
    rows = list(csv.DictReader((tmp_path / "out" / "history.csv").open()))
    ref = list(csv.DictReader((reference / "out" / "history.csv").open()))
    assert [(r["train_loss"], r["val_loss"], r["lr"]) for r in rows] == [(r["train_loss"], r["val_loss"], r["lr"]) for r in ref]


def _run_until_killed(events: Batch, root: Path) -> None:
    """Child process: epoch 1 at full speed, then one second per step until the parent kills it."""
    torch.set_num_threads(1)

    def slow(epoch: int, step: int) -> None:
        if epoch >= 2:
            time.sleep(1.0)

    train(events, root, step_hook=slow)


@pytest.mark.skipif(sys.platform != "linux", reason="forks a child to kill it")
def test_kill_9_after_the_first_checkpoint_then_resume(events: Batch, reference: Path, tmp_path: Path) -> None:
    child = multiprocessing.get_context("fork").Process(target=_run_until_killed, args=(events, tmp_path))
    child.start()
    state = tmp_path / "state" / "last.pt"
    deadline = time.monotonic() + 120
    while not state.exists() and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state.exists(), f"no checkpoint appeared (child exit code {child.exitcode})"
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    killed = load_checkpoint(state)
    assert killed["epoch"] < 3 and not killed["finished"]
    assert not (tmp_path / "out" / "model.pt").exists()
    info = train(events, tmp_path)
    assert info["resumed_after_epoch"] == killed["epoch"]
    assert same(weights(tmp_path), weights(reference))


def test_changed_config_starts_afresh(events: Batch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Crash):
        train(events, tmp_path, step_hook=crash_at(2, 1))
    changed = tiny_config(epochs=3, learning_rate=0.02)
    with caplog.at_level(logging.INFO, logger="airshower.train"):
        info = train(events, tmp_path, changed)
    assert "starting afresh" in caplog.text
    assert info["resumed_after_epoch"] == 0
    train(events, tmp_path / "fresh", changed)
    assert same(weights(tmp_path), weights(tmp_path / "fresh"))


def test_the_log_has_the_resolution_in_physical_units_and_an_eta(
    events: Batch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="airshower.train"):
        train(events, tmp_path)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    for line in lines:
        assert re.search(r"xmax std \d+\.\d g/cm2, lg_energy std \d+\.\d %, axis q68 [\d.]+ deg, core q68 \d+ m", line), line
    assert re.search(r"ETA \d+ s", lines[0]) and re.search(r"ETA \d+ s", lines[1]), lines
    assert "ETA" not in lines[2] and " done" in lines[2]
    rows = list(csv.DictReader((tmp_path / "out" / "history.csv").open()))
    shown = float(re.search(r"xmax std (\S+) g/cm2", lines[-1]).group(1))
    assert shown == pytest.approx(float(rows[-1]["val_xmax_std_gcm2"]), abs=0.051)


def test_nan_loss_names_epoch_and_step_and_keeps_the_last_good_checkpoint(events: Batch, tmp_path: Path) -> None:
    # 36 training events in batches of 8: 4 steps per epoch; the 6th step is epoch 2, step 2
    with pytest.raises(TrainingError, match=r"not finite \(nan\) at epoch 2, step 2"):
        train(events, tmp_path, model_builder=tiny_builder(nan_at_step=6))
    kept = load_checkpoint(tmp_path / "state" / "last.pt")
    assert kept["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in kept["model_state"].values())
    assert not (tmp_path / "out").exists()


def test_streaming_from_the_source_trains_too(events: Batch, tmp_path: Path) -> None:
    info = train(events, tmp_path, tiny_config(epochs=2, device_data_limit_gb=0, stream_chunk_events=10))
    assert info["data"] == "stream" and info["epochs_run"] == 2
    assert all(math.isfinite(float(v)) for v in weights(tmp_path)["head.outputs.xmax.weight"].flatten())


def test_early_stopping_ends_training(events: Batch, tmp_path: Path) -> None:
    info = train(events, tmp_path, tiny_config(epochs=6, patience=1, min_delta=1e6))
    assert info["epochs_run"] == 2 and info["best_epoch"] == 1 and info["stopped_early"]
    ckpt = load_checkpoint(tmp_path / "out" / "model.pt")
    assert ckpt["finished"] and ckpt["epoch"] == 2


def test_batch_larger_than_the_training_split(events: Batch, tmp_path: Path) -> None:
    from airshower.errors import ConfigError

    with pytest.raises(ConfigError, match=r"batch_size' = 40 is larger than the training split \(36 events\)"):
        train(events, tmp_path, tiny_config(batch_size=40))


def test_registry_model_trains_and_loads_for_prediction(events: Batch, tmp_path: Path) -> None:
    spec = {"type": "hexcnn", "trace_channels": [4], "trace_features": 4, "conv_channels": [4], "head_hidden": [8]}
    from airshower.config import validate_config

    cfg = validate_config(
        {"models": {"small": spec}, "training": {"epochs": 1, "batch_size": 12, "targets": ["xmax", "axis"]}}
    )
    train_model(cfg, "small", MemorySource(events), tmp_path / "out", tmp_path / "state")
    model, normaliser, info = load_model(tmp_path / "out" / "model.pt")
    assert info["name"] == "small" and info["targets"] == ["xmax", "axis"]
    with torch.no_grad():
        pred = normaliser.denormalise(model(Batch(events.traces[:3].float(), events.start_time[:3],
                                                  events.state[:3], events.position[:3])))
    assert pred["xmax"].shape == (3,) and pred["axis"].shape == (3, 3)
    assert 300 < float(pred["xmax"].mean()) < 1200  # physical units after denormalising
