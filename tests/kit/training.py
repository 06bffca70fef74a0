"""Helpers of the training and inference tests: a tiny network, in-memory events, configs and settings, a tensor file.

Imported by the DDP worker processes of ``tests/training/test_train_distributed.py`` too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from airshower.batch import Batch
from airshower.config import validate_config
from airshower.hexgrid import axial_to_xy
from airshower.inference.normalise import TargetNormaliser
from airshower.models.flops import make_example_batch
from airshower.models.heads import RegressionHead
from airshower.models.registry import build_model
from airshower.station_state import StationState
from airshower.training.augment import HexSymmetries
from airshower.training.loop import LRSchedule, StepContext, build_optimizer
from airshower.training.settings import TrainingSettings, training_settings

G, T = 5, 16


class TinyNet(nn.Module):
    """Per-cell features -> small MLP -> masked mean over the window -> one linear head per target.

    Features per cell: lg(1 + total signal), start time [us], the existing-station flag and the
    position [km]. A dropout layer makes the result depend on the global RNG (for resume tests).
    ``nan_at_step``: the forward pass returns NaN from that call on (in training mode).
    ``uncertainty``: the head also returns log-variances (the registry networks' head).
    """

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], hidden: int = 16,
                 dropout: float = 0.1, nan_at_step: int | None = None, uncertainty: bool = False) -> None:
        super().__init__()
        self.targets = list(targets)
        self.cell = nn.Sequential(nn.Linear(6, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = RegressionHead(hidden, self.targets, hidden=(), uncertainty=uncertainty)
        self.nan_at_step = nan_at_step
        self.calls = 0

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        exists = batch.exists.float()
        signal = torch.log10(1.0 + batch.traces.float().sum(-1).clamp_min(0.0))
        feats = torch.cat(
            [signal.unsqueeze(-1), (batch.start_time / 1000.0).unsqueeze(-1), exists.unsqueeze(-1),
             batch.position / 1000.0],
            dim=-1,
        )
        h = self.cell(feats) * exists.unsqueeze(-1)
        pooled = h.sum(dim=(1, 2)) / exists.sum(dim=(1, 2)).clamp_min(1.0).unsqueeze(-1)
        out = self.head(pooled)
        if self.training:
            self.calls += 1
            if self.nan_at_step is not None and self.calls >= self.nan_at_step:
                out = {t: v * float("nan") for t, v in out.items()}
        return out


def tiny_builder(**extra: Any):
    """A model builder with the registry's signature that makes :class:`TinyNet`."""

    def build(name: str, spec: dict, grid_size: int, trace_bins: int, targets: list,
              uncertainty: bool = False) -> nn.Module:
        kw = {k: v for k, v in spec.items() if k in ("hidden", "dropout")}
        return TinyNet(grid_size, trace_bins, targets, **kw, uncertainty=uncertainty, **extra)

    return build


def make_batch(n: int = 48, grid: int = G, bins: int = T, seed: int = 0) -> Batch:
    """``n`` synthetic events whose signals depend on energy and Xmax (learnable, finite)."""
    gen = torch.Generator().manual_seed(seed)
    h = grid // 2
    dq, dr = torch.meshgrid(torch.arange(grid) - h, torch.arange(grid) - h, indexing="ij")
    x, y = axial_to_xy(dq.numpy(), dr.numpy())
    xy = torch.stack([torch.as_tensor(x), torch.as_tensor(y)], -1).float()
    lg_e = 18.5 + 1.5 * torch.rand(n, generator=gen)
    xmax = 750.0 + 60.0 * torch.randn(n, generator=gen)
    theta = torch.asin(torch.sqrt(0.75 * torch.rand(n, generator=gen)))
    phi = 2 * math.pi * torch.rand(n, generator=gen)
    axis = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1)
    core = 300.0 * torch.randn(n, 2, generator=gen)
    dist = (xy.unsqueeze(0) - core[:, None, None, :]).norm(dim=-1) / 1000.0
    amp = 10 ** (lg_e - 18.5)[:, None, None] * torch.exp(-dist) * (1 + (xmax[:, None, None] - 750) / 300)
    shape = torch.exp(-torch.arange(bins).float() / 4.0)
    traces = amp.unsqueeze(-1) * shape + 0.01 * torch.rand(n, grid, grid, bins, generator=gen)
    state = torch.full((n, grid, grid), int(StationState.TRIGGERED), dtype=torch.int8)
    state[:, 0, 0] = int(StationState.ABSENT)
    state[:, -1, -1] = int(StationState.ABSENT)
    state[torch.rand(n, grid, grid, generator=gen) < 0.05] = int(StationState.DEAD)
    state[:, h, h] = int(StationState.SATURATED)
    mass = torch.tensor([1.0, 4.0, 14.0, 56.0])[torch.randint(0, 4, (n,), generator=gen)]
    absent = state == int(StationState.ABSENT)
    traces[absent] = 0.0
    start = (xy.unsqueeze(0) * axis[:, None, None, :2]).sum(-1) / -0.3
    start[absent] = 0.0
    position = torch.cat([xy.expand(n, grid, grid, 2), torch.zeros(n, grid, grid, 1)], -1).clone()
    position[absent] = 0.0
    return Batch(
        traces=traces.to(torch.float16),
        start_time=start.float(),
        state=state,
        position=position,
        targets={"xmax": xmax, "lg_energy": lg_e, "axis": axis, "core": core, "ln_a": torch.log(mass),
                 "mass": mass},
    )


def tiny_config(**training: Any) -> dict[str, Any]:
    """A validated config with one model ``tiny`` and fast training settings (overridable)."""
    base = {"epochs": 2, "batch_size": 8, "learning_rate": 0.01, "val_fraction": 0.25, "targets": ["xmax", "lg_energy", "axis", "core"]}
    base.update(training)
    return validate_config({"models": {"tiny": {"type": "hexcnn"}}, "training": base})


def settings_of(**training: Any) -> TrainingSettings:
    """The checked settings of a one-model config with these ``training`` keys (schema defaults for the others)."""
    return training_settings(validate_config({"models": {"tiny": {"type": "hexcnn"}}, "training": training}), "tiny")


def tiny_config_with_model(model: dict[str, Any], **training: Any) -> dict[str, Any]:
    """As :func:`tiny_config`, with extra keys in the ``tiny`` model entry (hidden, dropout: TinyNet)."""
    cfg = tiny_config(**training)
    cfg["models"]["tiny"].update(model)
    return cfg


def ddp_worker(
    rank: int,
    world: int,
    port: int,
    out_dir: str,
    training: dict[str, Any],
    model: dict[str, Any],
    seconds_per_step: list[float] | None = None,
) -> None:
    """One process of a gloo DDP run (torch.multiprocessing.spawn): trains and saves its own weights.

    ``seconds_per_step``: each rank's own fake clock advances by its entry at every step (the
    clocks of the processes of a real run differ too); None: the real clock.
    """
    import os
    from pathlib import Path

    from airshower.inference.tensor_sources import MemorySource
    from airshower.training.engine import train_model

    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "AIRSHOWER_DEVICE": "cpu"})
    torch.set_num_threads(1)
    built: list[nn.Module] = []

    def build(name: str, spec: dict, grid_size: int, trace_bins: int, targets: list, **kw: Any) -> nn.Module:
        built.append(tiny_builder()(name, spec, grid_size, trace_bins, targets, **kw))
        return built[-1]

    clock, hook = None, None
    if seconds_per_step is not None:
        now = [1000.0]
        clock = lambda: now[0]  # noqa: E731 - a fake clock

        def hook(epoch: int, step: int) -> None:
            now[0] += seconds_per_step[rank]

    out = Path(out_dir)
    train_model(tiny_config_with_model(model, **training), "tiny", MemorySource(make_batch(48)), out / "out",
                 out / "state", model_builder=build, step_hook=hook, clock=clock)
    torch.save({k: v.detach().clone() for k, v in built[0].state_dict().items()}, out / f"rank{rank}.pt")


def write_tensor_file(path, batch: Batch, trace_dtype: str = "float16"):
    """Write ``batch`` as a tensor file with :class:`airshower.io.tensors.TensorWriter` (rows: cells with signal)."""
    import numpy as np

    from airshower.io.tensors import TensorChunk, TensorWriter

    n, g, _, t = batch.traces.shape
    traces = batch.traces.float().numpy().reshape(n, g * g, t)
    has = np.abs(traces).sum(-1) > 0
    ev, cell = np.nonzero(has)
    chunk = TensorChunk(
        trace_values=traces[ev, cell],
        trace_cell=cell.astype(np.int16),
        trace_count=has.sum(1),
        start_time=batch.start_time.numpy(),
        state=batch.state.numpy().astype(np.int8),
        position=batch.position.numpy(),
        targets={k: v.numpy() for k, v in batch.targets.items()},
        meta={"event_id": np.arange(n), "source": np.zeros(n, np.int32), "n_outside": np.zeros(n, np.int32),
              "t5": np.ones(n, bool), "hottest_station": np.zeros(n, np.int32)},
    )
    with TensorWriter(path, g, t, 25.0, trace_dtype=trace_dtype, config={"made_by": "tests/training"}) as w:
        w.append(chunk)
    return path


# One optimiser step of a real network on example events (test_train_syncs, test_device).
STEP_TARGETS = ["xmax", "axis"]
STEP_SETTINGS = settings_of(learning_rate=1e-3, weight_decay=1e-4, optimizer="adamw", momentum=0.9,
                            scheduler="cosine", warmup_epochs=1, epochs=2, min_lr_factor=0.01,
                            plateau_factor=0.5, plateau_patience=2, targets=STEP_TARGETS)


def step_events(n: int = 6, grid: int = 5, bins: int = 16) -> Batch:
    """``n`` example events (:func:`airshower.models.flops.make_example_batch`) with Xmax [g/cm2] and axis targets."""
    b = make_example_batch(grid, bins, batch_size=n, seed=3)
    gen = torch.Generator().manual_seed(0)
    axis = torch.nn.functional.normalize(torch.rand(n, 3, generator=gen) + torch.tensor([0.0, 0.0, 1.0]), dim=1)
    targets = {"xmax": 700.0 + 50.0 * torch.randn(n, generator=gen), "axis": axis}
    return Batch(b.traces, b.start_time, b.state, b.position, targets)


def step_context(model: nn.Module, events: Batch, grid: int, amp_dtype: torch.dtype | None = None) -> StepContext:
    """The :class:`~airshower.training.loop.StepContext` of ``model`` on the CPU (AdamW, cosine, augmentation)."""
    optimizer = build_optimizer(model, STEP_SETTINGS)
    return StepContext(
        model=model, optimizer=optimizer, schedule=LRSchedule(optimizer, STEP_SETTINGS, 10),
        normaliser=TargetNormaliser.fit([events.targets], STEP_TARGETS), weights={t: 1.0 for t in STEP_TARGETS},
        grad_clip=1.0, device=torch.device("cpu"), amp_dtype=amp_dtype, symmetries=HexSymmetries(grid),
        augment_generator=torch.Generator().manual_seed(1),
    )


def network_step(kind: str, amp_dtype: torch.dtype | None = None, grid: int = 5, bins: int = 16) -> tuple[StepContext, Batch]:
    """A freshly seeded network of type ``kind`` at its default size, its step context and the events."""
    events = step_events(grid=grid, bins=bins)
    torch.manual_seed(0)
    model = build_model(kind, {"type": kind}, grid, bins, STEP_TARGETS)
    return step_context(model, events, grid, amp_dtype), events
