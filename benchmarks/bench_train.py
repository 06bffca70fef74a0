"""Training throughput [events/s] of every registered model: data on the device vs. a fixed batch, and streamed.

For each architecture (default hyperparameters) one optimiser step is timed in three ways:

* ``fixed``: the same batch, already on the device, every step (no data handling at all);
* ``device``: the engine's device-resident data (:class:`~airshower.training.data.DeviceData`):
  a shuffled permutation drawn on the device and an index-select per batch;
* ``stream``: the engine's streaming from an HDF5 tensor file
  (:class:`~airshower.training.data.StreamData`, background reader thread).

Every step includes the hexagon augmentation, the target standardisation, the loss, the
backward pass, gradient clipping and AdamW, as in training. The figure of merit is
``fixed / device`` (target on a GPU: <= 1.1, i.e. the GPU does not wait for data). The
time to draw one batch without any training (``draw ms``, median of 20) shows the data path's own cost
next to the time of one step, which is steadier than the ratio on a loaded machine.

    .venv/bin/python benchmarks/bench_train.py                       # CPU here, CUDA when present
    .venv/bin/python benchmarks/bench_train.py --models hexcnn --events 2048 --batch-size 256

Events are synthetic (:func:`airshower.models.flops.make_example_batch`, realistic station
occupancy) with random targets. Each figure is the best of ``--repeats`` timings of
``--steps`` steps (after ``--warmup`` steps), the three ways interleaved in each round.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from airshower.batch import Batch
from airshower.config import validate_config
from airshower.inference.device import autocast_dtype, choose_device, device_name, synchronize
from airshower.inference.normalise import TargetNormaliser
from airshower.inference.tensor_sources import H5Source, MemorySource, as_model_input, take
from airshower.models.flops import make_example_batch
from airshower.models.registry import MODEL_TYPES, build_model
from airshower.training.augment import HexSymmetries
from airshower.training.data import DeviceData, StreamData
from airshower.training.distributed import DistContext
from airshower.training.loop import LRSchedule, StepContext, build_optimizer, train_step
from airshower.training.settings import training_settings

TARGETS = ["xmax", "lg_energy", "axis", "core"]
SETTINGS = training_settings(validate_config({
    "models": {"bench": {"type": "hexcnn"}},
    "training": {"learning_rate": 1e-3, "weight_decay": 1e-4, "optimizer": "adamw", "momentum": 0.9,
                 "scheduler": "constant", "warmup_epochs": 0, "epochs": 1, "min_lr_factor": 0.01,
                 "plateau_factor": 0.5, "plateau_patience": 2, "targets": TARGETS},
}), "bench")


def synthetic_events(n: int, grid: int, bins: int, seed: int = 0) -> Batch:
    """``n`` events with a realistic window fill, float16 traces (as stored) and random targets."""
    b = make_example_batch(grid, bins, batch_size=n, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    theta = torch.asin(torch.sqrt(0.75 * torch.rand(n, generator=gen)))
    phi = 6.283185307 * torch.rand(n, generator=gen)
    targets = {
        "xmax": 750.0 + 60.0 * torch.randn(n, generator=gen),
        "lg_energy": 18.5 + 1.5 * torch.rand(n, generator=gen),
        "axis": torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1),
        "core": 300.0 * torch.randn(n, 2, generator=gen),
        "ln_a": torch.zeros(n),  # protons: every truth column of the tensor file is there
        "mass": torch.ones(n),
    }
    return Batch(b.traces.to(torch.float16), b.start_time, b.state.to(torch.int8), b.position, targets)


def write_tensor_file(events: Batch, path: Path) -> None:
    """Write ``events`` as a tensor file (float16 trace rows of the cells with a signal)."""
    import numpy as np

    from airshower.io.tensors import TensorChunk, TensorWriter

    n, g, _, t = events.traces.shape
    traces = events.traces.float().numpy().reshape(n, g * g, t)
    has = np.abs(traces).sum(-1) > 0
    ev, cell = np.nonzero(has)
    chunk = TensorChunk(
        trace_values=traces[ev, cell], trace_cell=cell.astype(np.int16), trace_count=has.sum(1),
        start_time=events.start_time.numpy(), state=events.state.numpy().astype(np.int8),
        position=events.position.numpy(), targets={k: v.numpy() for k, v in events.targets.items()},
        meta={"event_id": np.arange(n), "source": np.zeros(n, np.int32), "n_outside": np.zeros(n, np.int32),
              "t5": np.ones(n, bool), "hottest_station": np.zeros(n, np.int32)},
    )
    with TensorWriter(path, g, t, 25.0, trace_dtype="float16") as writer:
        writer.append(chunk)


def time_modes(sc: StepContext, modes: dict[str, Iterator[Batch]], args: argparse.Namespace) -> dict[str, float]:
    """Best events/s of each mode over ``repeats`` rounds of ``steps`` steps, the modes interleaved
    within each round (so that a change of load on a shared machine hits them alike)."""
    for batches in modes.values():
        for _ in range(args.warmup):
            train_step(sc, next(batches))
    best = dict.fromkeys(modes, 0.0)
    for _ in range(args.repeats):
        for name, batches in modes.items():
            synchronize(sc.device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                train_step(sc, next(batches))
            synchronize(sc.device)
            best[name] = max(best[name], args.steps * args.batch_size / (time.perf_counter() - t0))
    return best


def draw_ms(batches: Iterator[Batch], n: int, dev: torch.device) -> float:
    """Median milliseconds to draw one batch (no training step): the data path's own cost."""
    next(batches)
    times = []
    for _ in range(n):
        synchronize(dev)
        t0 = time.perf_counter()
        next(batches)
        synchronize(dev)
        times.append(time.perf_counter() - t0)
    return sorted(times)[n // 2] * 1e3


def endless(data: DeviceData | StreamData, indices: torch.Tensor, bs: int, ctx: DistContext, seed: int) -> Iterator[Batch]:
    gen = data.generator(seed)
    while True:
        yield from data.batches(indices, bs, ctx, gen)


def step_context(model: torch.nn.Module, events: Batch, targets: list[str], dev: torch.device, amp: str) -> StepContext:
    """What :func:`train_step` needs for ``model`` as the engine sets it up (AdamW, clipping,
    augmentation with its generator on the device, targets standardised on ``events``)."""
    optimizer = build_optimizer(model, SETTINGS)
    return StepContext(
        model=model, optimizer=optimizer, schedule=LRSchedule(optimizer, SETTINGS, 1000),
        normaliser=TargetNormaliser.fit([events.targets], targets), weights={t: 1.0 for t in targets},
        grad_clip=1.0, device=dev, amp_dtype=autocast_dtype(dev, amp),
        symmetries=HexSymmetries(events.traces.shape[1], dev), augment_generator=torch.Generator(device=dev).manual_seed(1),
    )


def bench_model(kind: str, events: Batch, args: argparse.Namespace, dev: torch.device, h5: Path | None) -> dict:
    grid, bins = events.traces.shape[1], events.traces.shape[3]
    torch.manual_seed(0)
    model = build_model(kind, {"type": kind}, grid, bins, TARGETS).to(dev)
    sc = step_context(model, events, TARGETS, dev, args.amp)
    bs, ctx = args.batch_size, DistContext(0, 1, 0, dev)
    all_idx = torch.arange(len(events))
    fixed = as_model_input(take(events, torch.arange(bs))).to(dev)
    out = {"model": kind, "parameters": sum(p.numel() for p in model.parameters())}
    modes = {
        "fixed": itertools.repeat(fixed),
        "device": endless(DeviceData(MemorySource(events), dev), all_idx, bs, ctx, 2),
    }
    if h5 is not None:
        modes["stream"] = endless(StreamData(H5Source(h5), dev, args.chunk_events), all_idx, bs, ctx, 3)
    out.update(time_modes(sc, modes, args))
    out["step_ms"] = args.batch_size / out["fixed"] * 1e3
    draws = {"draw_device_ms": endless(DeviceData(MemorySource(events), dev), all_idx, bs, ctx, 4)}
    if h5 is not None:
        draws["draw_stream_ms"] = endless(StreamData(H5Source(h5), dev, args.chunk_events), all_idx, bs, ctx, 5)
    for name, batches in draws.items():
        out[name] = draw_ms(batches, 20, dev)
    for batches in [*modes.values(), *draws.values()]:
        if hasattr(batches, "close"):
            batches.close()  # stops the reader thread of the streamed data
    out["ratio"] = out["fixed"] / out["device"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODEL_TYPES), help="comma-separated architectures")
    p.add_argument("--events", type=int, default=512, help="events in the dataset")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--grid", type=int, default=13, help="G (default: the default study)")
    p.add_argument("--bins", type=int, default=120, help="T (default: the default study)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chunk-events", type=int, default=256, help="events per HDF5 read when streaming")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "off"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-stream", action="store_true", help="skip the HDF5 streaming measurement")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = choose_device(args.device)
    events = synthetic_events(args.events, args.grid, args.bins)
    print(f"# bench_train: {' '.join(sys.argv)}")
    print(f"# machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; device {device_name(dev)}; torch {torch.__version__}; "
          f"amp {autocast_dtype(dev, args.amp)}")
    print(f"# events {args.events}, G {args.grid}, T {args.bins}, batch {args.batch_size}, "
          f"best of {args.repeats} x {args.steps} steps")
    with tempfile.TemporaryDirectory() as tmp:
        h5 = None
        if not args.no_stream:
            h5 = Path(tmp) / "bench.h5"
            write_tensor_file(events, h5)
        cols = ["model", "parameters", "fixed ev/s", "device ev/s", "stream ev/s", "fixed/device",
                "step ms", "draw ms device", "draw ms stream"]
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for kind in args.models.split(","):
            r = bench_model(kind.strip(), events, args, dev, h5)
            cells = [r["model"], f"{r['parameters']:,}"]
            cells += [f"{r[k]:.0f}" if k in r else "-" for k in ("fixed", "device", "stream")]
            cells.append(f"{r['ratio']:.2f}")
            cells += [f"{r[k]:.2f}" if k in r else "-" for k in ("step_ms", "draw_device_ms", "draw_stream_ms")]
            print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
