"""Benchmark of the simulate stage: events/s on one core and peak memory of one shard.

Run as ``.venv/bin/python benchmarks/bench_simulate.py [--events N] [--trace-bins T]``.
BLAS and OpenMP are pinned to one thread (set before numpy loads) so the figure is per core.
The shard is simulated with the default study's settings (mixed composition,
lg(E/eV) 18.5-20, zenith < 60 deg, UB electronics) into a temporary file, which is removed.
Prints the machine, the load on it, wall time, events/s (simulation alone, with the events
passing the T3 trigger and the 6T5 ones among them, and with the ROOT writing) and the peak
resident memory of the process.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from airshower.config import dataset_simulation, validate_config  # noqa: E402
from airshower.simulate import simulate_events, simulate_shard  # noqa: E402


def machine() -> dict[str, object]:
    """CPU model, core count and load average (the machine may be shared)."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "nproc": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events thrown (default 20000)")
    parser.add_argument("--trace-bins", type=int, default=120)
    parser.add_argument("--chunk-events", type=int, default=2000)
    parser.add_argument("--skip-simulate-only", action="store_true", help="only the end-to-end run")
    args = parser.parse_args()
    cfg = validate_config({"simulation": {"trace_bins": args.trace_bins, "chunk_events": args.chunk_events}})
    sim = dataset_simulation(cfg, "train")
    result: dict[str, object] = {"machine": machine(), "events": args.events, "trace_bins": args.trace_bins,
                                 "chunk_events": args.chunk_events}
    if not args.skip_simulate_only:
        t0 = time.perf_counter()
        counts = {"triggered": 0, "t5": 0}
        for _, stats in simulate_events(sim, args.events, seed=1, shard=0):
            for key in counts:
                counts[key] += stats[key]
        wall = time.perf_counter() - t0
        result["simulate_only"] = {"wall_s": round(wall, 2), "events_per_s": round(args.events / wall, 1), **counts}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.root"
        summary = simulate_shard(sim, args.events, seed=1, shard=0, output=out)
        size = out.stat().st_size
    result["with_writing"] = {"wall_s": summary["wall_s"], "events_per_s": summary["events_per_s"],
                              "events_written": summary["events_written"],
                              "stations_written": summary["stations_written"], "file_mb": round(size / 2**20, 1)}
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
