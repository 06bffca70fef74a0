"""``training.compile``: the engine switches the network to static shapes before compiling it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airshower.batch import Batch
from airshower.inference.tensor_sources import MemorySource
from airshower.training.engine import train_model

from tests.kit.training import tiny_config

HEXCNN = {"type": "hexcnn", "trace_channels": [4], "trace_kernel": 3, "trace_features": 4, "conv_channels": [4],
          "head_hidden": [8]}


@pytest.mark.parametrize("compile_on", [True, False])
def test_compile_switches_the_network_to_static_shapes(events: Batch, tmp_path: Path, monkeypatch, compile_on) -> None:
    compiled: list[bool] = []

    def fake_compile(model: torch.nn.Module, *args, **kwargs) -> torch.nn.Module:
        compiled.append(bool(getattr(model, "static_shapes", False)))
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    cfg = tiny_config(epochs=1, compile=compile_on)
    cfg["models"]["tiny"] = dict(HEXCNN)
    info = train_model(cfg, "tiny", MemorySource(events), tmp_path / "out", tmp_path / "state", device="cpu")
    assert compiled == ([True] if compile_on else [])
    assert info["compiled"] is compile_on
