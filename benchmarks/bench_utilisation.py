"""Model FLOPs utilisation of one training step per network, against the machine's measured matmul rate.

For every network of a study config (default: ``config/paper.yaml``, the published sizes):

* ``peak``: the best rate of a large dense matrix product on the device, measured here
  (float32 on a CPU; bfloat16 on a GPU, the dtype the GPU trains in), in TFLOP/s
  (:func:`airshower.inference.peak.matmul_peak`, which ``airshower gpu-report`` uses too);
* ``train GFLOP/event``: 3 x the counted forward FLOPs per event
  (:func:`airshower.models.flops.forward_flops` on the timed batch; backward = 2 x forward).
  Recomputation under activation checkpointing is overhead and is *not* counted, as in the
  usual definition of model FLOPs utilisation (MFU);
* ``step ms``: best of ``--repeats`` timings of one optimiser step on a fixed batch already
  on the device (augmentation, loss, backward, clipping, AdamW: :func:`train_step`);
* ``utilisation``: train FLOPs per step / step time / peak;
* ``step peak MiB``: the highest memory use during one step above the use before it
  (``in use MiB``: model, optimiser state, batch; CUDA allocator, or the CPU's resident set
  size, :mod:`memory`);
* ``host syncs``: operators in one step that make the host wait for a GPU
  (:class:`tests.kit.host_syncs.HostSyncCounter`; the optimiser's CPU-side step counts
  excluded), counted on whatever device runs the benchmark.

    .venv/bin/python benchmarks/bench_utilisation.py                                 # paper sizes, CPU here
    .venv/bin/python benchmarks/bench_utilisation.py --batch-size 256 --device cuda   # on a GPU
    .venv/bin/python benchmarks/bench_utilisation.py --config config/config.yaml --models hexcnn,temporal
    .venv/bin/python benchmarks/bench_utilisation.py --config config/paper_360.yaml --models temporal_360 \
        --set time_checkpoint=off                                                    # a hyperparameter changed

Events are synthetic (:func:`bench_train.synthetic_events`: realistic station occupancy).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.kit
from bench_train import step_context, synthetic_events  # noqa: E402
from memory import MemoryProbe, reexec_with_malloc_env  # noqa: E402

from airshower.config import load_config  # noqa: E402
from airshower.errors import ConfigError  # noqa: E402
from airshower.inference.device import autocast_dtype, choose_device, device_name, synchronize  # noqa: E402
from airshower.inference.peak import SIZES_CPU, SIZES_CUDA, matmul_peak  # noqa: E402
from airshower.inference.tensor_sources import as_model_input, take  # noqa: E402
from airshower.models.flops import forward_flops  # noqa: E402
from airshower.models.registry import build_model  # noqa: E402
from airshower.training.loop import train_step  # noqa: E402
from tests.kit.host_syncs import HostSyncCounter  # noqa: E402


def bench_model(name: str, spec: dict, events, args: argparse.Namespace, dev: torch.device, peak: float) -> dict:
    grid, bins = events.traces.shape[1], events.traces.shape[3]
    targets = ["xmax"]
    torch.manual_seed(0)
    model = build_model(name, spec, grid, bins, targets).to(dev)
    batch = as_model_input(take(events, torch.arange(args.batch_size))).to(dev)
    fwd = forward_flops(model, grid, bins, example_batch=batch)  # per event
    sc = step_context(model, events, targets, dev, args.amp)
    for _ in range(args.warmup):
        train_step(sc, batch)
    with HostSyncCounter() as syncs, syncs.excluding_optimizer(sc.optimizer):
        train_step(sc, batch)
    probe = MemoryProbe(dev)
    synchronize(dev)
    probe.reset_peak()
    in_use = probe.allocated()
    train_step(sc, batch)
    synchronize(dev)
    step_peak = probe.peak() - in_use
    best = float("inf")
    for _ in range(args.repeats):
        synchronize(dev)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            train_step(sc, batch)
        synchronize(dev)
        best = min(best, (time.perf_counter() - t0) / args.steps)
    train_flops = 3 * fwd * args.batch_size
    return {
        "model": name, "type": spec["type"], "parameters": sum(p.numel() for p in model.parameters()),
        "train_gflop_event": 3 * fwd / 1e9, "step_ms": best * 1e3, "events_s": args.batch_size / best,
        "achieved_tflops": train_flops / best / 1e12, "utilisation": train_flops / best / peak, "syncs": syncs.describe(),
        "step_peak_mib": step_peak / 2**20, "in_use_mib": in_use / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="config/paper.yaml", help="study config whose models are measured")
    p.add_argument("--models", default=None, help="comma-separated model names of the config (default: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bins", type=int, default=None, help="T (default: the config's simulation.trace_bins)")
    p.add_argument("--steps", type=int, default=2, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "off"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter of every measured model (YAML value); repeatable")
    args = p.parse_args(argv)
    if args.device != "cuda":
        reexec_with_malloc_env()  # CPU memory is read from the resident set size
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    dev = choose_device(args.device)
    amp = autocast_dtype(dev, args.amp)
    grid = cfg["convert"]["grid_size"]
    bins = args.bins or cfg["simulation"]["trace_bins"]
    names = args.models.split(",") if args.models else list(cfg["models"])
    unknown = [n for n in names if n not in cfg["models"]]
    if unknown:
        p.error(f"--models: {', '.join(unknown)} not in {args.config} (it has {', '.join(cfg['models'])})")
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            p.error(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    peak_dtype = amp or torch.float32
    sizes = SIZES_CUDA if dev.type == "cuda" else SIZES_CPU
    peak, peak_n = matmul_peak(dev, peak_dtype, sizes)
    events = synthetic_events(args.batch_size, grid, bins)
    print(f"# bench_utilisation: {' '.join(sys.argv)}")
    print(f"# machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}; device {device_name(dev)}; "
          f"torch {torch.__version__}; amp {amp}")
    if overrides:
        print(f"# hyperparameters set: {overrides}")
    print(f"# peak: {peak / 1e12:.3f} TFLOP/s ({str(peak_dtype).removeprefix('torch.')} {peak_n}x{peak_n} matmul); "
          f"config {args.config}, G {grid}, T {bins}, batch {args.batch_size}, best of {args.repeats} x {args.steps} steps")
    cols = ["model", "type", "parameters", "train GFLOP/event", "step ms", "events/s", "TFLOP/s", "utilisation",
            "host syncs/step", "step peak MiB", "in use MiB"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for name in names:
        try:
            r = bench_model(name, {**cfg["models"][name], **overrides}, events, args, dev, peak)
        except ConfigError as err:
            p.error(f"{err} (with --set {' '.join(args.set)})" if overrides else str(err))
        cells = [r["model"], r["type"], f"{r['parameters']:,}", f"{r['train_gflop_event']:.3g}", f"{r['step_ms']:.1f}",
                 f"{r['events_s']:.0f}", f"{r['achieved_tflops']:.3g}", f"{100 * r['utilisation']:.0f} %", r["syncs"],
                 f"{r['step_peak_mib']:.0f}", f"{r['in_use_mib']:.0f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
