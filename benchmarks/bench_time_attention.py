"""Scaling of a training step with the trace length L: efficient time attention against the rest.

Variants, all at the same width (``dim`` / ``lstm_hidden`` = ``--dim``):

* ``temporal`` with per-bin time tokens (``patch_bins: 1``, so L tokens per trace) and
  ``time_attention`` full (fused ``scaled_dot_product_attention``), sparse (local +
  strided, defaults: window 32, stride round(sqrt(L))) and lsh (Reformer, defaults: chunk
  32, 2 rounds); activation checkpointing off (``time_checkpoint: off``) so that the
  memory is that of the attention, not of a recompute;
* ``perceiver`` (latent cross-attention over all (station, bin) tokens);
* ``lstm_hexcnn`` (trace LSTM, ``lstm_hidden`` = dim).

For each (variant, L) a fresh subprocess (under glibc's pinned mmap threshold, see
``benchmarks/memory.py``) builds the model for L-bin traces, runs one warm-up step on 8-bin
traces, then one measured training step (forward + backward of the mean squared outputs)
on a synthetic batch of ``--events`` events (``make_example_batch``, window ``--grid``), then
``--repeat`` more timed steps. Two memory figures, both above what was in use before the step:

* peak RSS: the resident set size high-water mark during the step (``VmHWM`` of
  ``/proc/self/status``, reset through ``/proc/self/clear_refs`` just before it): all memory
  the process touched, allocator slack and temporaries included;
* saved: the bytes of the distinct storages that autograd saved for the backward pass
  during the forward pass (a ``saved_tensors_hooks`` pack hook; parameters excluded): the
  activations, counted exactly.

The events are the same at every L: a synthetic 120-bin batch (``make_example_batch``, seed 1)
whose traces are linearly resampled to L bins (same stations, same pulse shapes in units of
the trace length).

Time: the fastest of the ``--repeat`` steps after the measured one (``step_s``; their
median is kept as ``step_s_median``, the measured step's own time, with one-time
allocations, as ``first_step_s``): on a machine shared with other jobs the fastest step is
the one least disturbed by them, and ``--threads 1`` makes the times steadier still. The
exponents are the slopes of a least-squares line through (log L, log value) over the
lengths measured.

Run (about 5 minutes on 2 shared cores)::

    .venv/bin/python benchmarks/bench_time_attention.py --threads 1 --json results.json \
        --figure docs/images/time_attention_scaling.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_attention import machine  # noqa: E402
from memory import MALLOC_ENV, MemoryProbe  # noqa: E402

VARIANTS = ("full", "sparse", "lsh", "perceiver", "lstm_hexcnn")
LENGTHS = (120, 360, 1080, 2048)
WARM_BINS = 8
BASE_BINS = 120  # the synthetic events are drawn with this trace length, then resampled to L


def spec(variant: str, dim: int) -> dict:
    """The config entry of ``variant`` at width ``dim``."""
    if variant in ("full", "sparse", "lsh"):
        return {
            "type": "temporal",
            "dim": dim,
            "patch_bins": 1,
            "time_attention": variant,
            "time_checkpoint": "off",
        }
    if variant == "perceiver":
        return {"type": "perceiver", "dim": dim}
    return {"type": "lstm_hexcnn", "lstm_hidden": dim}


def child(args: argparse.Namespace) -> dict:
    """One (variant, L): warm up, measure one step's memory, time the steps."""
    import torch

    from airshower.batch import Batch
    from airshower.models.features import signal_mask, trace_input
    from airshower.models.flops import count_parameters, make_example_batch
    from airshower.models.registry import build_model

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model("m", spec(args.variant, args.dim), args.grid, args.bins, ["xmax", "axis"])
    # the same events at every L: the stations and traces of a 120-bin batch, resampled to L bins
    base = make_example_batch(args.grid, BASE_BINS, args.events, seed=1)
    traces = torch.nn.functional.interpolate(
        base.traces.reshape(-1, 1, BASE_BINS), size=args.bins, mode="linear", align_corners=True
    ).reshape(*base.traces.shape[:-1], args.bins)
    batch = Batch(traces=traces, start_time=base.start_time, state=base.state, position=base.position)
    warm = make_example_batch(args.grid, WARM_BINS, 1, seed=2)
    n_seq = int(signal_mask(trace_input(batch)).sum())

    def step(b) -> None:
        out = model(b)
        sum(v.square().mean() for v in out.values()).backward()
        model.zero_grad(set_to_none=True)

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    params |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    step(warm)
    probe = MemoryProbe(torch.device("cpu"))
    probe.reset_peak()
    now0, peak0 = probe.allocated(), probe.peak()
    t0 = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(batch)
    sum(v.square().mean() for v in out.values()).backward()
    first = time.perf_counter() - t0
    times = []
    peak = probe.peak() - (now0 if probe.peak_resettable else peak0)
    del out
    model.zero_grad(set_to_none=True)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - t0)
    return {
        "variant": args.variant,
        "bins": args.bins,
        "sequences": n_seq,
        "parameters": count_parameters(model),
        "peak_bytes": int(peak),
        "saved_bytes": int(sum(saved.values())),
        "step_s": min(times) if times else first,
        "step_s_median": statistics.median(times) if times else first,
        "first_step_s": first,
        "steps_timed": len(times),
        "method": probe.method + ", MALLOC_MMAP_THRESHOLD_=131072",
    }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1.0e-12)) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def exponents(results: list[dict]) -> dict[str, dict[str, float]]:
    """Per variant: log-log slopes of peak RSS, saved bytes and step time against L."""
    fits = {}
    for variant in VARIANTS:
        rows = sorted((r for r in results if r["variant"] == variant), key=lambda r: r["bins"])
        if len(rows) < 2:
            continue
        xs = [r["bins"] for r in rows]
        fits[variant] = {
            key: slope(xs, [r[key] for r in rows]) for key in ("peak_bytes", "saved_bytes", "step_s")
        } | {"lengths": xs}
    return fits


def markdown(results: list[dict], fits: dict) -> str:
    """The results table and the fitted exponents as Markdown."""
    lines = [
        "| variant | L [bins] | traces | peak RSS [MiB] | saved [MiB] | step [s] |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(results, key=lambda r: (VARIANTS.index(r["variant"]), r["bins"])):
        lines.append(
            f"| {r['variant']} | {r['bins']} | {r['sequences']} | {r['peak_bytes'] / 2**20:.1f} | "
            f"{r['saved_bytes'] / 2**20:.1f} | {r['step_s']:.3f} |"
        )
    lines += ["", "| variant | exponent peak RSS | exponent saved | exponent time | lengths |"]
    lines += ["|---|---:|---:|---:|---|"]
    for variant, f in fits.items():
        lines.append(
            f"| {variant} | {f['peak_bytes']:.2f} | {f['saved_bytes']:.2f} | {f['step_s']:.2f} | "
            f"{', '.join(map(str, f['lengths']))} |"
        )
    return "\n".join(lines)


def figure(results: list[dict], fits: dict, path: str, command: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    panels = (("peak_bytes", "peak RSS of a step [MiB]", 2**20), ("saved_bytes", "saved activations [MiB]", 2**20))
    panels += (("step_s", "training step [s]", 1.0),)
    for ax, (key, label, unit) in zip(axes, panels):
        for variant in VARIANTS:
            rows = sorted((r for r in results if r["variant"] == variant), key=lambda r: r["bins"])
            if not rows:
                continue
            name = f"temporal {variant}" if variant in ("full", "sparse", "lsh") else variant
            exp = f" (slope {fits[variant][key]:.2f})" if variant in fits else ""
            ax.plot([r["bins"] for r in rows], [r[key] / unit for r in rows], "o-", label=name + exp)
        ax.set_xscale("log")
        ax.set_yscale("log")
        lengths = sorted({r["bins"] for r in results})
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("trace length L [bins]")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(command, fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="trace lengths L [bins]")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--grid", type=int, default=13, help="window size G")
    p.add_argument("--events", type=int, default=4, help="events per batch")
    p.add_argument("--dim", type=int, default=32, help="width of every variant (dim; lstm_hidden)")
    p.add_argument("--repeat", type=int, default=3, help="timed steps after the measured one (0: time that one)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds per (variant, L) before it is skipped")
    p.add_argument("--json", help="write the results to this file")
    p.add_argument("--figure", help="draw the scaling figure into this file")
    p.add_argument("--from-json", help="only redraw table and figure from this results file")
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--bins", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    command = "python benchmarks/bench_time_attention.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        results, skipped = data["results"], data.get("skipped", [])
        command = data.get("command", command)
    else:
        env = dict(os.environ, **MALLOC_ENV)
        results, skipped = [], []
        for variant in args.variants:
            for bins in args.lengths:
                cmd = [sys.executable, os.path.abspath(__file__), "--child", "--variant", variant, "--bins", str(bins)]
                for key in ("grid", "events", "dim", "repeat", "threads"):
                    cmd += [f"--{key}", str(getattr(args, key))]
                t0 = time.perf_counter()
                try:
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    skipped.append({"variant": variant, "bins": bins, "why": f"over {args.timeout:.0f} s"})
                    print(f"{variant} L={bins}: skipped (over {args.timeout:.0f} s)", flush=True)
                    continue
                if out.returncode:
                    why = (out.stderr.strip().splitlines() or ["failed"])[-1]
                    skipped.append({"variant": variant, "bins": bins, "why": why})
                    print(f"{variant} L={bins}: failed: {why}", flush=True)
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(r)
                print(
                    f"{variant} L={bins}: peak {r['peak_bytes'] / 2**20:.1f} MiB, saved "
                    f"{r['saved_bytes'] / 2**20:.1f} MiB, step {r['step_s']:.3f} s "
                    f"({time.perf_counter() - t0:.0f} s wall)",
                    flush=True,
                )
    fits = exponents(results)
    info = machine() if not args.from_json else data.get("machine", {})
    print(f"machine: {json.dumps(info)}")
    print(markdown(results, fits))
    for s in skipped:
        print(f"skipped: {s['variant']} L={s['bins']}: {s['why']}")
    if args.json and not args.from_json:
        payload = {"command": command, "machine": info, "results": results, "skipped": skipped, "exponents": fits}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    if args.figure:
        figure(results, fits, args.figure, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
