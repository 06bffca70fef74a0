"""Temporal attention memory: fused (flash) attention against the materialised softmax(QK^T)V.

One training step (forward + backward) over 360-bin traces, for each attention mode
(``attention: fused | materialized`` of the ``temporal`` network), at three scopes:

* ``model``: the whole ``temporal`` network (per-bin time tokens, ``patch_bins: 1``) on a
  synthetic batch with a realistic station fill (:func:`airshower.models.flops.make_example_batch`),
  once without and once with activation checkpointing of the time blocks
  (``time_checkpoint: off | on``; the same setting for both attention modes, so that only
  the attention kernel differs between the rows compared);
* ``layer``: one multi-head self-attention sublayer (QKV projection, attention, output
  projection) on the time tokens of the same stations (N stations x L bins x dim);
* ``core``: the attention operation alone on given Q, K, V (N x heads x L x dim/heads).

Each (mode, scope, checkpointing) runs in its own subprocess, after a warm-up step on
8-bin traces. Three figures, all above what was in use before the step (model, inputs):

* activations: memory held between the end of the forward pass and the backward pass
  (what autograd saved); CUDA: ``torch.cuda.memory_allocated``; CPU: the resident set
  size from ``/proc/self/statm``;
* saved: the same counted exactly, as the bytes of the distinct storages that autograd
  saved for the backward pass during the forward pass (a
  :func:`torch.autograd.graph.saved_tensors_hooks` pack hook; parameters and the step's
  inputs excluded); with checkpointing these are the segment inputs only;
* step peak: the highest use during forward + backward (with checkpointing this includes
  the recompute of one block in the backward pass); CUDA:
  ``torch.cuda.max_memory_allocated``; CPU: the resident set size high-water mark
  (``VmHWM``, reset through ``/proc/self/clear_refs`` just before the step; where that is
  unavailable, the ``getrusage`` peak above the peak before the step).

On the CPU, glibc's mmap threshold is pinned at 128 KiB so that freed tensors leave the
resident set at once.

Time: median of ``--repeat`` steps after the measured one. The attention kernels that ran
are read from the profiler. Run: ``.venv/bin/python benchmarks/bench_attention.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import MALLOC_ENV, MemoryProbe  # noqa: E402

MODES = ("fused", "materialized")
SCOPES = ("core", "layer", "model")
CHECKPOINT = ("off", "on")  # time_checkpoint of the model scope (core / layer: off only)
WARM_BINS = 8  # warm-up steps run on short traces so they set no memory peak


def machine() -> dict:
    """A description of where the benchmark ran."""
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def child(args: argparse.Namespace) -> dict:
    """Build the variant, warm up, measure one step's peak memory, then time steps."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from airshower.models.features import signal_mask, trace_input
    from airshower.models.flops import make_example_batch
    from airshower.models.registry import build_model
    from airshower.models.transformer import MultiHeadAttention, attention

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    spec = {
        "type": "temporal",
        "dim": args.dim,
        "heads": args.heads,
        "time_layers": args.time_layers,
        "mlp_ratio": args.mlp_ratio,
        "station_layers": 1,
        "patch_bins": 1,
        "attention": args.mode,
        "time_checkpoint": args.checkpoint,
    }
    batch = make_example_batch(args.grid, args.bins, args.events, seed=1)
    n_seq = int(signal_mask(trace_input(batch)).sum()) + 1  # + the shared empty trace
    warm_batch = make_example_batch(args.grid, WARM_BINS, 1, seed=2).to(device)
    batch = batch.to(device)

    if args.scope == "model":
        model = build_model("temporal", spec, args.grid, args.bins, ["xmax"]).to(device)
        inputs, warm_inputs = batch, warm_batch

        def forward(b):
            return model(b)["xmax"].square().mean()

    elif args.scope == "layer":
        model = MultiHeadAttention(args.dim, args.heads, mode=args.mode).to(device)
        inputs = torch.randn(n_seq, args.bins, args.dim, device=device, requires_grad=True)
        warm_inputs = torch.randn(2, WARM_BINS, args.dim, device=device, requires_grad=True)

        def forward(x):
            return model(x).square().mean()

    else:
        model = torch.nn.Module()  # nothing to train: Q, K, V are the leaves
        head_dim = args.dim // args.heads
        inputs = [torch.randn(n_seq, args.heads, args.bins, head_dim, device=device) for _ in range(3)]
        warm_inputs = [torch.randn(2, args.heads, WARM_BINS, head_dim, device=device) for _ in range(3)]
        for t in inputs + warm_inputs:
            t.requires_grad_(True)

        def forward(qkv):
            return attention(*qkv, mode=args.mode).square().mean()

    leaves = inputs if isinstance(inputs, list) else [inputs] if torch.is_tensor(inputs) else []

    def clear_grads() -> None:
        model.zero_grad(set_to_none=True)
        for t in leaves + (warm_inputs if isinstance(warm_inputs, list) else [warm_inputs]):
            if torch.is_tensor(t):
                t.grad = None

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    probe = MemoryProbe(device)

    before = {p.untyped_storage().data_ptr() for p in model.parameters()}
    before |= {t.untyped_storage().data_ptr() for t in leaves}
    saved_storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in before:
            saved_storages[storage.data_ptr()] = storage.nbytes()
        return t

    forward(warm_inputs).backward()  # warm-up on short traces: kernels, threads, allocator
    clear_grads()
    sync()
    probe.reset_peak()
    method = probe.method + ", MALLOC_MMAP_THRESHOLD_=131072"
    now0, peak0 = probe.allocated(), probe.peak()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward(inputs)
    sync()
    held = probe.allocated() - now0  # held between forward and backward: the activations
    loss.backward()
    sync()
    step_peak = probe.peak() - (now0 if device.type == "cuda" or probe.peak_resettable else peak0)
    del loss
    clear_grads()
    times = []
    for _ in range(args.repeat):
        sync()
        t0 = time.perf_counter()
        forward(inputs).backward()
        sync()
        times.append(time.perf_counter() - t0)
        clear_grads()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        forward(inputs).backward()
        sync()
    kernels = sorted(
        {
            e.key
            for e in prof.key_averages()
            if any(s in e.key.lower() for s in ("attention", "softmax", "flash", "fmha", "bmm"))
        }
    )
    heads_l2 = n_seq * args.heads * args.bins * args.bins * 4
    return {
        "mode": args.mode,
        "scope": args.scope,
        "checkpoint": args.checkpoint if args.scope == "model" else "off",
        "device": str(device),
        "sequences": n_seq,
        "activation_bytes": int(held),
        "saved_bytes": int(sum(saved_storages.values())),
        "peak_bytes": int(step_peak),
        "method": method,
        "step_s_median": statistics.median(times),
        "one_layer_probabilities_bytes": heads_l2,
        "kernels": kernels,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu or cuda")
    p.add_argument("--bins", type=int, default=360, help="trace length L [bins]")
    p.add_argument("--grid", type=int, default=13, help="window size G")
    p.add_argument("--events", type=int, default=4, help="events per batch (CUDA: try 64)")
    p.add_argument("--dim", type=int, default=128, help="token width (paper-scale temporal: 128)")
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--time-layers", type=int, default=2)
    p.add_argument("--mlp-ratio", type=float, default=2.0, help="MLP width / dim (config/paper_360.yaml: 4)")
    p.add_argument("--repeat", type=int, default=3, help="timed steps per variant")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    p.add_argument("--scope", choices=SCOPES, help=argparse.SUPPRESS)
    p.add_argument("--checkpoint", choices=CHECKPOINT, default="off", help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    env = dict(os.environ, **MALLOC_ENV)
    variants = [(scope, "off") for scope in SCOPES if scope != "model"]
    variants += [("model", ck) for ck in CHECKPOINT]
    results = []
    for scope, ck in variants:
        for mode in MODES:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--mode", mode, "--scope", scope]
            cmd += ["--checkpoint", ck]
            for key in ("device", "bins", "grid", "events", "dim", "heads", "time_layers", "mlp_ratio", "repeat", "threads"):
                cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode:
                sys.stderr.write(out.stderr)
                return out.returncode
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    info = machine()
    print(f"machine: {json.dumps(info)}")
    print(
        f"temporal attention, L = {args.bins} bins, dim {args.dim}, heads {args.heads}, "
        f"{args.time_layers} time layers, {args.events} events (G = {args.grid}), device {args.device}"
    )
    print(
        f"{'scope':6s} {'ckpt':4s} {'mode':13s} {'seqs':>5s} {'act. MiB':>9s} {'saved MiB':>9s} "
        f"{'peak MiB':>9s} {'step s':>8s}  kernels"
    )
    for r in results:
        kernels = [k if k.startswith("aten::") else k[:60] for k in r["kernels"] if "::" in k or "fmha" in k]
        kernels = [k for k in kernels if not k.startswith("autograd::")]
        print(
            f"{r['scope']:6s} {r['checkpoint']:4s} {r['mode']:13s} {r['sequences']:5d} "
            f"{r['activation_bytes'] / 2**20:9.1f} {r['saved_bytes'] / 2**20:9.1f} "
            f"{r['peak_bytes'] / 2**20:9.1f} {r['step_s_median']:8.3f}  {', '.join(kernels)}"
        )

    def pick(scope: str, mode: str, ck: str) -> dict:
        return next(r for r in results if r["scope"] == scope and r["mode"] == mode and r["checkpoint"] == ck)

    comparisons = [(f"{scope}", (scope, "off"), (scope, "off")) for scope in SCOPES if scope != "model"]
    comparisons += [
        ("model, checkpointing off on both", ("model", "off"), ("model", "off")),
        ("model, checkpointing on on both", ("model", "on"), ("model", "on")),
        ("model, materialized without / fused with checkpointing", ("model", "off"), ("model", "on")),
    ]
    for label, (m_scope, m_ck), (f_scope, f_ck) in comparisons:
        mat, fused = pick(m_scope, "materialized", m_ck), pick(f_scope, "fused", f_ck)
        act = mat["activation_bytes"] / max(fused["activation_bytes"], 1)
        saved = mat["saved_bytes"] / max(fused["saved_bytes"], 1)
        ratio = mat["peak_bytes"] / max(fused["peak_bytes"], 1)
        speed = mat["step_s_median"] / fused["step_s_median"]
        print(
            f"{label}: materialized / fused: activations {act:.1f}x (saved {saved:.1f}x), "
            f"step peak {ratio:.1f}x, step time {speed:.2f}x"
        )
    print(
        f"one layer's (N x H x L x L) float32 probabilities: "
        f"{results[0]['one_layer_probabilities_bytes'] / 2**20:.1f} MiB; method: {results[0]['method']}"
    )
    if args.json:
        tmp = f"{args.json}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"machine": info, "args": vars(args), "results": results}, fh, indent=1)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
