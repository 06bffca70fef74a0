"""DistributedDataParallel: two CPU processes with gloo hold the same weights, equal to one process."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp

from airshower.inference.tensor_sources import MemorySource
from airshower.training.engine import train_model

from tests.kit.training import ddp_worker, make_batch, tiny_builder, tiny_config_with_model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_agree_with_each_other_and_with_one_process(tmp_path: Path) -> None:
    training = {"epochs": 2, "batch_size": 8, "augment": False}
    model = {"dropout": 0.0}
    # fork (on Linux) spares the children importing torch again; each uses one thread
    method = "fork" if sys.platform == "linux" else "spawn"
    mp.start_processes(ddp_worker, args=(2, free_port(), str(tmp_path), training, model), nprocs=2, start_method=method)
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert (tmp_path / "out" / "model.pt").exists()  # written by rank 0

    single = tmp_path / "single"
    train_model(tiny_config_with_model(model, **training), "tiny", MemorySource(make_batch(48)), single / "out",
                 single / "state", model_builder=tiny_builder())
    w = torch.load(single / "out" / "model.pt", weights_only=True)["model_state"]
    torch.manual_seed(0)  # the engine's seed: the initial weights
    initial = tiny_builder()("tiny", {}, 5, 16, ["xmax", "lg_energy", "axis", "core"]).state_dict()
    assert not torch.equal(w0["cell.0.weight"], initial["cell.0.weight"])  # it did train
    for k in w:
        assert torch.allclose(w0[k], w[k], atol=1e-5, rtol=1e-4), k
