"""Benchmark of the convert stage: events/s, MB/s and peak memory, against a plain per-event loop.

Run as ``.venv/bin/python benchmarks/bench_convert.py [--events 100000] [--grid 13] [--trace-bins 120]``.

1. Input: an events file of ``--events`` events per events-file compression
   (``--events-compression``, default ``lz4 zstd zlib``: the writer's default first). With
   the simulator available (``--source sim``, the default), ``--sim-events`` events are
   simulated with the default study's settings and repeated (new event ids) until there are
   enough; otherwise (``--source synthetic``) the synthetic footprints of
   ``tests/synthetic_events.py``. The file is written ``--cluster-events`` events per
   :meth:`EventWriter.write` (one cluster each), like the simulator's ``chunk_events``. The
   files are built in ``--workdir`` (kept for later runs with ``--keep-input``); the CPU
   time of writing each is reported.
2. The vectorised conversion (:func:`airshower.convert.convert_dataset`, default chunking
   and compression) runs on every input, and with the ``--variants`` of the trace-row
   compression on the first, each in a fresh subprocess so that its peak resident memory
   (``getrusage``) is the conversion's own; ``--repeats`` runs each, the fastest (CPU and
   wall separately) is reported. Reported: wall and CPU seconds, events/s on both, input
   and output MB/s, peak RSS.
3. Where the time goes, in CPU seconds (first input): reading alone
   (``iterate_station_chunks``), the array operations (``convert_chunk``), hashing the input
   (``file_record``), and the rest (HDF5 writing and compression) = whole run - those.
4. A plain Python loop over events and stations doing the same conversion on the first
   ``--loop-events`` events (same reader, same writer), checked to give identical arrays;
   its rate is extrapolated to the whole file.

BLAS/OpenMP are pinned to one thread before numpy loads: the figures are for one core.
The machine may be shared: the load average before and after is printed with the results,
and CPU time (``time.process_time``) is reported next to wall time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import awkward as ak  # noqa: E402
import numpy as np  # noqa: E402

from airshower.convert import (  # noqa: E402
    EVENT_INPUT_FIELDS,
    POSITION_TOLERANCE_M,
    convert_chunk,
    convert_dataset,
    event_targets,
    file_record,
)
from airshower.detector.array import sd1500  # noqa: E402
from airshower.io.events import (  # noqa: E402
    EVENT_FIELDS,
    MC_STATION_FIELDS,
    STATION_FIELDS,
    EventWriter,
    build_chunk,
    iterate_station_chunks,
    read_events,
)
from airshower.io.tensors import TensorChunk, TensorWriter, read_arrays  # noqa: E402
from airshower.station_state import StationState  # noqa: E402
from airshower.targets import truth_fields  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """Where the benchmark ran: CPU model, cores, memory, load, versions."""
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    import h5py
    import uproot

    return {
        "cpu": model, "nproc": os.cpu_count(), "mem_gib": round(mem_kb / 2**20, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
        "numpy": np.__version__, "awkward": ak.__version__, "uproot": uproot.__version__, "h5py": h5py.__version__,
    }


# --- input -----------------------------------------------------------------------------------


def _flat_chunk(arrays: ak.Array, trace_bins: int, first_id: int) -> dict[str, Any]:
    counts = ak.to_numpy(ak.num(arrays.station.id))
    events = {k: ak.to_numpy(arrays[k]) for k in EVENT_FIELDS}
    events["event_id"] = first_id + np.arange(len(arrays), dtype=np.int64)
    stations = {k: ak.to_numpy(ak.flatten(arrays.station[k])) for k in STATION_FIELDS}
    mc = {k: ak.to_numpy(ak.flatten(arrays.mc_station[k])) for k in MC_STATION_FIELDS}
    traces = ak.to_numpy(ak.flatten(arrays.station_trace, axis=None)).reshape(-1, trace_bins)
    return build_chunk(events, counts, stations, mc, traces)


CODECS = {"lz4": "LZ4", "zstd": "ZSTD", "zlib": "ZLIB", "lzma": "LZMA"}


def make_input(args: argparse.Namespace, codec: str) -> tuple[Path, str, float | None]:
    """The events file of the benchmark for one compression (built once, then reused):
    (path, source, CPU seconds of writing it or None when reused)."""
    import uproot

    source = args.source
    if source == "sim":
        try:
            import airshower.simulate as simulate
        except ImportError:
            source = "synthetic"
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"events_{source}_{args.events}_T{args.trace_bins}_{codec}1_c{args.cluster_events}.root"
    if path.exists():
        return path, source, None
    compression = getattr(uproot, CODECS[codec])(1)
    meta: dict[str, Any] = {"trace_bins": args.trace_bins, "bin_ns": 25.0, "benchmark": True}
    if source == "sim":
        from airshower.config import dataset_simulation, validate_config

        cfg = validate_config({"simulation": {"trace_bins": args.trace_bins}})
        sim = dataset_simulation(cfg, "train")
        base = workdir / f"sim_{args.sim_events}_T{args.trace_bins}.root"
        if not base.exists():
            simulate.simulate_shard(sim, args.sim_events, seed=123, shard=0, output=base, dataset="bench")
        arrays = read_events(base)  # traces (event, station, T)
        parts = []
        done = 0
        while done < args.events:  # repeat the simulated events, one cluster per write
            offset = done % len(arrays)
            n = min(args.cluster_events, args.events - done, len(arrays) - offset)
            parts.append(_flat_chunk(arrays[offset : offset + n], args.trace_bins, done))
            done += n
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from synthetic_events import synthetic_chunk

        parts = [
            synthetic_chunk(min(args.cluster_events, args.events - start), seed=start, trace_bins=args.trace_bins,
                            first_id=start)
            for start in range(0, args.events, args.cluster_events)
        ]
    cpu = time.process_time()
    with EventWriter(path, meta, compression=compression) as writer:
        for part in parts:
            writer.write(part)
    write_cpu = time.process_time() - cpu
    print(f"built {path} ({source}, {args.events} events, {compression}): writing {write_cpu:.1f} CPU s",
          file=sys.stderr)
    return path, source, write_cpu


# --- the plain loop (reference) ----------------------------------------------------------------


def loop_convert(chunk: Any, g: int, trace_dtype: str) -> TensorChunk:
    """The same conversion as :func:`airshower.convert.convert_chunk`, one event and one station at a time."""
    array = sd1500()
    h = g // 2
    st = chunk.stations
    n = chunk.n_events
    state = np.zeros((n, g, g), dtype=np.int8)
    position = np.zeros((n, g, g, 3), dtype=np.float32)
    start_time = np.zeros((n, g, g), dtype=np.float32)
    values, cells, counts = [], [], []
    n_outside = np.zeros(n, dtype=np.int32)
    hottest = np.zeros(n, dtype=np.int64)
    hot_xy = np.zeros((n, 2))
    first = 0
    for e in range(n):
        stop = first + int(chunk.counts[e])
        best = -1
        for s in range(first, stop):
            if st["triggered"][s] and st["working"][s]:
                if best < 0 or st["signal"][s] > st["signal"][best] or (
                    st["signal"][s] == st["signal"][best] and st["id"][s] < st["id"][best]
                ):
                    best = s
        hid = int(st["id"][best])
        hottest[e] = best
        hq, hr = int(array.q[hid]), int(array.r[hid])
        hx, hy, hz = float(st["x"][best]), float(st["y"][best]), float(st["z"][best])
        hot_xy[e] = hx, hy
        ht = float(st["start_time"][best])
        lx, ly, lz = float(array.x[hid]), float(array.y[hid]), float(array.z[hid])
        if max(abs(lx - hx), abs(ly - hy), abs(lz - hz)) > POSITION_TOLERANCE_M:
            lx, ly, lz = hx, hy, hz
        size = array.lookup.shape[0]
        for i in range(g):
            for j in range(g):
                qi, rj = hq + i - h + array.offset, hr + j - h + array.offset
                k = int(array.lookup[qi, rj]) if 0 <= qi < size and 0 <= rj < size else -1
                if k >= 0:
                    state[e, i, j] = StationState.SILENT
                    position[e, i, j] = (array.x[k] - lx, array.y[k] - ly, array.z[k] - lz)
        rows = []
        for s in range(first, stop):
            sid = int(st["id"][s])
            i, j = int(array.q[sid]) - hq + h, int(array.r[sid]) - hr + h
            trig = bool(st["triggered"][s] and st["working"][s])
            if not (0 <= i < g and 0 <= j < g):
                n_outside[e] += trig
                continue
            if not st["working"][s]:
                state[e, i, j] = StationState.DEAD
            elif trig:
                state[e, i, j] = StationState.SATURATED if st["saturated"][s] else StationState.TRIGGERED
            else:
                state[e, i, j] = StationState.SILENT
            position[e, i, j] = (st["x"][s] - hx, st["y"][s] - hy, st["z"][s] - hz)
            if st["working"][s]:
                start_time[e, i, j] = st["start_time"][s] - ht
                rows.append(s)
                cells.append(i * g + j)
        values.extend(chunk.traces[s] for s in rows)
        counts.append(len(rows))
        first = stop
    targets = event_targets(chunk, hot_xy[:, 0], hot_xy[:, 1])
    meta = {
        "event_id": chunk.events["event_id"].astype(np.int64), "source": np.zeros(n, dtype=np.int32),
        "n_outside": n_outside, "t5": chunk.events["event_t5"].astype(bool),
        "hottest_station": st["id"][hottest].astype(np.int32),
    }
    trace_values = np.array(values, dtype=trace_dtype).reshape(-1, chunk.traces.shape[1])
    return TensorChunk(trace_values, np.array(cells, dtype=np.int16), np.array(counts), start_time, state,
                       position, targets, meta)


# --- measurements ------------------------------------------------------------------------------


def child_convert(args: argparse.Namespace) -> None:
    """(In a subprocess) convert the whole file once; print wall, CPU and peak RSS as JSON."""
    wall, cpu = time.perf_counter(), time.process_time()
    summary = convert_dataset([Path(args.input)], Path(args.output), args.grid, args.chunk_events, "float16",
                              {"benchmark": True}, trace_compression=args.trace_compression)
    out = {
        "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "events": summary["events"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "output_bytes": Path(args.output).stat().st_size,
    }
    print(json.dumps(out))


def run_child(path: Path, output: Path, args: argparse.Namespace, trace_compression: str) -> dict[str, Any]:
    """``--repeats`` conversions in fresh subprocesses: the fastest CPU and wall time (each its own
    minimum), the largest peak RSS."""
    cmd = [sys.executable, __file__, "--child", "--input", str(path), "--output", str(output), "--grid", str(args.grid),
           "--chunk-events", str(args.chunk_events), "--trace-compression", trace_compression]
    runs = []
    for _ in range(args.repeats):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = dict(runs[0])
    best["wall_s"] = min(r["wall_s"] for r in runs)
    best["cpu_s"] = min(r["cpu_s"] for r in runs)
    best["cpu_s_runs"] = [round(r["cpu_s"], 3) for r in runs]
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return best


def breakdown(path: Path, args: argparse.Namespace) -> dict[str, float]:
    """CPU seconds of reading alone, of the array conversion alone and of hashing the input
    (each the fastest of ``--repeats``)."""
    fields = EVENT_INPUT_FIELDS + truth_fields()
    read, convert, hashing = [], [], []
    for _ in range(args.repeats):
        cpu = time.process_time()
        n = sum(c.n_events for c in iterate_station_chunks(path, args.chunk_events, fields))
        read.append(time.process_time() - cpu)
        convert_s = 0.0
        for chunk in iterate_station_chunks(path, args.chunk_events, fields):
            c0 = time.process_time()
            convert_chunk(chunk, args.grid, 0, None, "float16")
            convert_s += time.process_time() - c0
        convert.append(convert_s)
        cpu = time.process_time()
        file_record(path)
        hashing.append(time.process_time() - cpu)
    return {"events": n, "read_cpu_s": min(read), "convert_cpu_s": min(convert), "hash_cpu_s": min(hashing)}


def loop_reference(path: Path, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The plain loop on the first events against the vectorised code: conversion alone (CPU s
    of each on the same chunk) and the whole stage (read, convert, write); outputs compared."""
    n = args.loop_events
    fields = EVENT_INPUT_FIELDS + truth_fields()
    chunk = next(iterate_station_chunks(path, n, fields))
    cpu = time.process_time()
    looped = loop_convert(chunk, args.grid, "float16")
    loop_convert_s = time.process_time() - cpu
    cpu = time.process_time()
    vector = convert_chunk(chunk, args.grid, 0, None, "float16")
    vector_convert_s = time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    out = workdir / "loop.h5"
    with TensorWriter(out, args.grid, args.trace_bins, 25.0, "float16") as writer:
        writer.append(loop_convert(next(iterate_station_chunks(path, n, fields)), args.grid, "float16"))
    result = {
        "events": chunk.n_events, "stage_wall_s": time.perf_counter() - wall, "stage_cpu_s": time.process_time() - cpu,
        "loop_convert_cpu_s": loop_convert_s, "vector_convert_cpu_s": vector_convert_s,
    }
    ref = workdir / "vector.h5"
    with TensorWriter(ref, args.grid, args.trace_bins, 25.0, "float16") as writer:
        writer.append(vector)
    a, b = read_arrays(out), read_arrays(ref)
    result["identical"] = all(np.array_equal(a[k], b[k]) for k in a) and looped.n_events == vector.n_events
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sim-events", type=int, default=5_000, help="simulated events repeated to --events")
    parser.add_argument("--source", choices=["sim", "synthetic"], default="sim")
    parser.add_argument("--grid", type=int, default=13)
    parser.add_argument("--trace-bins", type=int, default=120)
    parser.add_argument("--chunk-events", type=int, default=5000, help="convert.chunk_events (default of the config)")
    parser.add_argument("--cluster-events", type=int, default=1000,
                        help="events per write of the events file (simulation.chunk_events of the config)")
    parser.add_argument("--events-compression", nargs="+", choices=sorted(CODECS), default=["lz4", "zstd", "zlib"],
                        help="compressions (level 1) of the events file; the first is used for the variants")
    parser.add_argument("--loop-events", type=int, default=2000)
    parser.add_argument("--variants", nargs="*", default=["lzf", "gzip"],
                        help="trace-row compressions to time besides the default (none)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; the fastest counts")
    parser.add_argument("--workdir", default="/tmp/airshower-bench-convert")
    parser.add_argument("--keep-input", action="store_true", help="keep the events files in --workdir for later runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--trace-compression", default="none", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_convert(args)
        return

    before = machine()
    workdir = Path(args.workdir)
    inputs = {}
    for codec in args.events_compression:
        path, source, write_cpu = make_input(args, codec)
        inputs[codec] = {"path": str(path), "source": source, "mb": path.stat().st_size / 1e6, "write_cpu_s": write_cpu}
    results: dict[str, Any] = {"machine": before, "inputs": inputs, "args": vars(args)}
    runs = [(codec, "none") for codec in args.events_compression]
    runs += [(args.events_compression[0], v) for v in args.variants if v != "none"]
    rows = []
    for codec, variant in runs:
        path, in_mb = Path(inputs[codec]["path"]), inputs[codec]["mb"]
        r = run_child(path, workdir / f"tensors_{codec}_{variant}.h5", args, variant)
        r.update({
            "events_compression": codec, "trace_compression": variant, "input_mb": in_mb,
            "events_per_s_wall": r["events"] / r["wall_s"],
            "events_per_s_cpu": r["events"] / r["cpu_s"],
            "input_mb_per_s_cpu": in_mb / r["cpu_s"],
            "output_mb": r["output_bytes"] / 1e6,
            "output_mb_per_s_cpu": r["output_bytes"] / 1e6 / r["cpu_s"],
        })
        rows.append(r)
        print(f"vectorised ({codec:4s} events, {variant:4s} traces): {r['events']} events  wall {r['wall_s']:.2f} s "
              f"({r['events_per_s_wall']:.0f}/s)  CPU {r['cpu_s']:.2f} s ({r['events_per_s_cpu']:.0f}/s; runs "
              f"{r['cpu_s_runs']})  in {in_mb:.0f} MB  out {r['output_mb']:.0f} MB  peak RSS {r['peak_rss_mib']:.0f} MiB",
              flush=True)
    results["vectorised"] = rows
    first = Path(inputs[args.events_compression[0]]["path"])
    split = breakdown(first, args)
    whole = rows[0]["cpu_s"]
    split["write_rest_cpu_s"] = whole - split["read_cpu_s"] - split["convert_cpu_s"] - split["hash_cpu_s"]
    results["breakdown"] = split
    per = {k: v / split["events"] * 1e6 for k, v in split.items() if k.endswith("_s")}
    print(f"CPU per event ({args.events_compression[0]} events, default compression): read {per['read_cpu_s']:.1f} us, "
          f"convert (array ops) {per['convert_cpu_s']:.1f} us, sha256 of the input {per['hash_cpu_s']:.1f} us, "
          f"HDF5 writing and the rest {per['write_rest_cpu_s']:.1f} us (whole run {whole / split['events'] * 1e6:.1f} us)")
    loop = loop_reference(first, args, workdir)
    m = loop["events"]
    loop["stage_events_per_s_cpu"] = m / loop["stage_cpu_s"]
    loop["loop_convert_us_per_event"] = loop["loop_convert_cpu_s"] / m * 1e6
    loop["vector_convert_us_per_event"] = loop["vector_convert_cpu_s"] / m * 1e6
    loop["extrapolated_stage_cpu_s"] = loop["stage_cpu_s"] / m * split["events"]
    results["loop"] = loop
    print(f"plain loop on {m} events: conversion {loop['loop_convert_us_per_event']:.0f} us/event CPU against "
          f"{loop['vector_convert_us_per_event']:.1f} vectorised "
          f"({loop['loop_convert_cpu_s'] / loop['vector_convert_cpu_s']:.0f}x); "
          f"whole stage {loop['stage_events_per_s_cpu']:.0f} events/CPU-s ({split['events']} events: "
          f"~{loop['extrapolated_stage_cpu_s']:.0f} CPU s); identical output: {loop['identical']}")
    results["machine_after"] = {"loadavg": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(results, indent=1, default=float))
    print("\n| events file | trace rows | wall s | events/s (wall) | CPU s | events / CPU s | input | output | peak RSS |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['events_compression'].upper()}-1, {r['input_mb']:.0f} MB | {r['trace_compression']} | "
              f"{r['wall_s']:.2f} | {r['events_per_s_wall']:,.0f} | {r['cpu_s']:.2f} | {r['events_per_s_cpu']:,.0f} | "
              f"{r['input_mb_per_s_cpu']:.0f} MB/CPU-s | {r['output_mb']:.0f} MB | {r['peak_rss_mib']:.0f} MiB |")
    for made in workdir.glob("*.h5"):
        made.unlink()
    if not args.keep_input:
        for made in workdir.glob("*.root"):
            made.unlink()


if __name__ == "__main__":
    main()
