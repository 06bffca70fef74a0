"""DistributedDataParallel: two CPU processes with gloo hold the same weights, equal to one process,
and stop together at a time budget although their clocks differ."""

from __future__ import annotations

import csv
import socket
import sys
import time
from pathlib import Path

import pytest
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
    run_workers(2, free_port(), str(tmp_path), training, model)
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


def run_workers(*args, timeout_s: float = 300.0) -> None:
    """Two DDP processes of :func:`ddp_worker`; fails (instead of hanging) when they do not end in time,
    e.g. when one stops training and the other waits for it in a collective."""
    method = "fork" if sys.platform == "linux" else "spawn"  # fork spares the children importing torch again
    ctx = mp.start_processes(ddp_worker, args=args, nprocs=2, start_method=method, join=False)
    deadline = time.monotonic() + timeout_s
    while not ctx.join(timeout=2):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"the DDP processes did not finish within {timeout_s:.0f} s (a rank left a collective?)")


def test_under_ddp_the_time_budget_stops_every_process_at_the_same_step(tmp_path: Path) -> None:
    """Rank 1's clock runs three times faster than rank 0's: by its own it would stop at step 2; the
    shared decision (rank 0's clock, at the measured steps 4, 8, ...) stops both at step 8."""
    training = {"epochs": 50, "patience": 50, "batch_size": 2, "augment": False, "budget_minutes": 6.0 / 60}
    run_workers(2, free_port(), str(tmp_path), training, {}, [1.0, 3.0])
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    rows = list(csv.DictReader((tmp_path / "out" / "history.csv").open()))
    assert len(rows) == 1  # stopped inside the first epoch (about 10 steps of 2 x 2 events)
    info = torch.load(tmp_path / "out" / "model.pt", weights_only=True)
    assert info["scheduler"]["step_count"] == 8
