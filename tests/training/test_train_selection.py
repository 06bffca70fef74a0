"""training.selection reaches the engine: only 6T5 events of a tensor file are trained and validated on."""

from __future__ import annotations

import h5py
import torch

from airshower.batch import Batch
from airshower.training.engine import train_model
from tests.kit.training import tiny_builder, tiny_config, write_tensor_file


def test_the_engine_trains_on_the_selected_events_only(tmp_path, events: Batch) -> None:
    path = write_tensor_file(tmp_path / "t.h5", events)
    n = len(events)
    t5 = torch.arange(n) % 3 != 0
    with h5py.File(path, "r+") as f:
        f["meta/t5"][...] = t5.numpy()
    selected = int(t5.sum())
    info = train_model(tiny_config(epochs=1), "tiny", path, tmp_path / "out", tmp_path / "state",
                       model_builder=tiny_builder())
    assert info["train_events"] + info["val_events"] == selected < n
    every = train_model(tiny_config(epochs=1, selection={"t5": False}), "tiny", path, tmp_path / "all",
                        tmp_path / "state-all", model_builder=tiny_builder())
    assert every["train_events"] + every["val_events"] == n
