"""Training from a tensor file (airshower.io.tensors): the library function, the CLI, bad files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py
import pytest
import torch

from airshower.batch import Batch
from airshower.cli import main
from airshower.errors import InputFileError
from airshower.inference.checkpoint import load_checkpoint
from airshower.training.engine import train_model
from airshower.training.provenance import sha256_file

from tests.kit.training import make_batch, tiny_builder, tiny_config, write_tensor_file


@pytest.fixture(scope="module")
def tensor_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tensor_file(tmp_path_factory.mktemp("tensors") / "train.h5", make_batch(48))


def test_cli_trains_a_registry_model(tensor_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = {
        "models": {"small": {"type": "hexcnn", "trace_channels": [4], "trace_features": 4, "conv_channels": [4],
                             "head_hidden": [8]}},
        "training": {"epochs": 2, "batch_size": 12, "targets": ["xmax", "lg_energy"]},
    }
    out = tmp_path / "models" / "small"
    code = main(["train", "--config-json", json.dumps(cfg), "--model", "small", "--tensors", str(tensor_file),
                 "--output", str(out), "--state-dir", str(tmp_path / "state"), "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err  # one plain line per epoch in the log
    info = json.loads((out / "train_info.json").read_text())
    assert info["type"] == "hexcnn" and info["epochs_run"] == 2 and info["flops_per_event"] > 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"] == [{"path": str(tensor_file), "size_bytes": tensor_file.stat().st_size,
                               "sha256": sha256_file(tensor_file)}]
    assert prov["config"]["models"] == {"small": cfg["models"]["small"]}
    assert load_checkpoint(out / "model.pt")["model"]["grid_size"] == 5


@pytest.mark.parametrize("limit", [4.0, 0.0])
def test_device_resident_and_streamed_from_the_file(tensor_file: Path, tmp_path: Path, limit: float) -> None:
    cfg = tiny_config(epochs=2, device_data_limit_gb=limit, stream_chunk_events=16)
    info = train_model(cfg, "tiny", tensor_file, tmp_path / "out", tmp_path / "state", model_builder=tiny_builder())
    assert info["data"] == ("device" if limit else "stream")
    state = load_checkpoint(tmp_path / "out" / "model.pt")["model_state"]
    assert all(torch.isfinite(v).all() for v in state.values())


def test_another_schema_version_is_refused(tensor_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "v99.h5"
    other.write_bytes(tensor_file.read_bytes())
    with h5py.File(other, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(InputFileError, match=r"v99.h5: tensor schema version 99"):
        train_model(tiny_config(), "tiny", other, tmp_path / "out", model_builder=tiny_builder())


def test_changed_tensors_invalidate_the_state(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_tensor_file(tmp_path / "t.h5", make_batch(48, seed=1))

    def crash(epoch: int, step: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_model(tiny_config(), "tiny", path, tmp_path / "out", tmp_path / "state", model_builder=tiny_builder(),
                    step_hook=crash)
    assert (tmp_path / "state" / "last.pt").exists()
    write_tensor_file(path, make_batch(48, seed=2))
    with caplog.at_level(logging.INFO, logger="airshower.train"):
        info = train_model(tiny_config(), "tiny", path, tmp_path / "out", tmp_path / "state",
                           model_builder=tiny_builder())
    assert "starting afresh" in caplog.text and info["resumed_after_epoch"] == 0


def test_file_without_a_trained_target(tmp_path: Path, events: Batch) -> None:
    path = write_tensor_file(tmp_path / "t.h5", events)
    with h5py.File(path, "r+") as f:
        del f["targets/core"]
    with pytest.raises(InputFileError, match=r"holds no target\(s\) \['core'\]"):
        train_model(tiny_config(), "tiny", path, tmp_path / "out", model_builder=tiny_builder())


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_targets_are_named_before_training(tmp_path: Path, bad: float,
                                                      capsys: pytest.CaptureFixture) -> None:
    events = make_batch(48)
    xmax = events.targets["xmax"].clone()
    xmax[[3, 17, 40]] = bad
    path = write_tensor_file(tmp_path / "t.h5", Batch(events.traces, events.start_time, events.state, events.position,
                                                      {**events.targets, "xmax": xmax}))
    built: list[str] = []

    def builder(*args, **kw):
        built.append("model")
        return tiny_builder()(*args, **kw)

    with pytest.raises(InputFileError, match=rf"{path}: targets/xmax is NaN or inf in 3 of 48 events"):
        train_model(tiny_config(), "tiny", path, tmp_path / "out", tmp_path / "state", model_builder=builder)
    assert built == [] and not (tmp_path / "out").exists() and not (tmp_path / "state").exists()
    # a column that is not trained may hold anything; the CLI exits 2 naming the file and the target
    axis = events.targets["axis"].clone()
    axis[5, 1] = bad
    other = write_tensor_file(tmp_path / "axis.h5", Batch(events.traces, events.start_time, events.state,
                                                          events.position, {**events.targets, "axis": axis}))
    cfg = {"models": {"tiny": {"type": "hexcnn"}}, "training": {"epochs": 1, "targets": ["xmax", "axis"]}}
    code = main(["train", "--config-json", json.dumps(cfg), "--model", "tiny", "--tensors", str(other),
                 "--output", str(tmp_path / "cli"), "--state-dir", str(tmp_path / "cli-state"), "--threads", "1"])
    assert code == 2
    assert f"{other}: targets/axis is NaN or inf in 1 of 48 events" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()


def test_non_finite_targets_in_memory_are_named(tmp_path: Path) -> None:
    from airshower.inference.tensor_sources import MemorySource

    events = make_batch(48)
    core = events.targets["core"].clone()
    core[:2, 0] = float("-inf")
    source = MemorySource(Batch(events.traces, events.start_time, events.state, events.position,
                                {**events.targets, "core": core}))
    with pytest.raises(InputFileError, match=r"<memory: 48 events in memory>: targets/core is NaN or inf in 2 of 48"):
        train_model(tiny_config(), "tiny", source, tmp_path / "out", model_builder=tiny_builder())
