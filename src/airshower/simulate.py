"""Simulate SD-1500 events: physics + detector -> one ROOT events file per shard.

One event, step by step (``docs/physics.md``):

1. primary (A, E, direction) and core (:mod:`airshower.physics.primaries`);
2-3. per shower, coherently for the hadronic model (:mod:`~airshower.physics.showers`): Xmax
   from its generalised Gumbel (:mod:`~airshower.physics.xmax`), the muon content Rmu of the
   model times the data/simulation factor ``muon_scale``, correlated with Xmax
   (:mod:`~airshower.physics.muons`), and the shower's fluctuations of the EM signal, the
   lateral slopes and the arrival-time scale;
4. geometry: for every station near the core, the distance r to the axis and the DX of
   its projection on the axis (:mod:`~airshower.physics.atmosphere`);
5. expected signal of each component (:mod:`~airshower.physics.signals`);
6-8. particles, arrival times, pulses, electronics and station triggers
   (:mod:`airshower.detector.station`, :mod:`~airshower.detector.trigger`); front time =
   plane front + curved-front delay (de Mauro Rc with scatter) + per-station jitter;
9. events passing the T3 event trigger (ToT-2C1&3C2 or 2C1&3C2&4C4,
   :func:`airshower.detector.trigger.t3_trigger`) are written with
   :class:`airshower.io.events.EventWriter`: triggered stations and dead stations within
   ``DEAD_RECORD_RADIUS_M`` of the core, plus the Monte-Carlo truth in ``mc_`` fields.

Everything is vectorised over the events of a chunk and their stations (flat arrays of
(event, station) pairs); the only Python loops are over chunks and the four components.
Each chunk draws from ``default_rng(SeedSequence([seed, shard, chunk]))``: shards are
independent and the same (seed, shard, settings) give identical event content.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from airshower import __version__, layout
from airshower.config import dataset_simulation
from airshower.detector.array import ALTITUDE_M, Array, sd1500
from airshower.detector.footprint import candidate_offsets
from airshower.detector.station import station_traces
from airshower.detector.tank import Electronics, electronics
from airshower.detector.trigger import minimum_trigger_signal, six_t5, station_trigger, t3_trigger
from airshower.errors import ConfigError
from airshower.hexgrid import SPACING_M
from airshower.io.events import (
    DEAD_RECORD_RADIUS_M,
    HADRONIC_MODELS,
    EventWriter,
    build_chunk,
    read_events,
    read_meta,
    with_trace_shape,
)
from airshower.io.files import require_writable
from airshower.physics.atmosphere import vertical_depth
from airshower.physics.muons import check_muon_scale
from airshower.physics.primaries import axis_vector, primary_fractions, sample_in_hexagon, sample_primaries
from airshower.physics.showers import sample_showers
from airshower.physics.signals import COMPONENTS, expected_signals
from airshower.physics.timing import (
    C_M_PER_NS,
    curvature_parameters,
    curvature_radius,
    front_delay_ns,
    start_time_extra_sigma,
)
from airshower.physics.xmax import HADRONIC_MODELS as XMAX_MODELS

MAX_ZENITH_DEG = 65.0  # the universality and time-template parametrisations end near 60 deg
CANDIDATE_RADIUS_M = DEAD_RECORD_RADIUS_M + SPACING_M  # covers the hottest station's neighbours (6T5)
MIN_EXPECTED_VEM = 0.1  # stations expecting less trigger with probability < 3e-4 (a ToT needs >= 2 muons)
MODEL_CODES = {name: code for code, name in HADRONIC_MODELS.items()}
VALIDATION_SHARD = 2**31 - 1  # the random stream of the validation sample, apart from every dataset shard
SIMULATION_KEYS = (
    "hadronic_model", "primaries", "lg_energy", "max_zenith_deg", "muon_scale",
    "electronics", "trace_bins", "dead_fraction", "curvature", "chunk_events",
)


@dataclass(frozen=True)
class Settings:
    """The checked simulation settings of one dataset."""

    config: dict[str, Any]
    hadronic_model: str
    primaries: dict[str, float]
    lg_energy: tuple[float, float]
    max_zenith_deg: float
    muon_scale: float | dict[str, float]  # a number, or {value, lg_energy_ref, slope} (airshower.physics.muons)
    elec: Electronics
    trace_bins: int
    dead_fraction: float
    curvature: str
    chunk_events: int


def _number(sim: Mapping[str, Any], key: str, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, integer: bool = False) -> Any:
    value = sim[key]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value):
        raise ConfigError(f"'simulation.{key}' = {value!r} must be a finite {'integer' if integer else 'number'}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"'simulation.{key}' = {value!r} is out of range; it must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"'simulation.{key}' = {value!r} is out of range; it must be <= {hi}")
    return value


def _muon_scale(value: Any) -> float | dict[str, float]:
    """``simulation.muon_scale`` checked: a number > 0, or {value, lg_energy_ref, slope} (docs/physics.md step 3)."""
    spec = check_muon_scale(value)
    return spec["value"] if isinstance(value, (int, float)) else spec


def check_settings(sim_cfg: Mapping[str, Any]) -> Settings:
    """Check a (schema-validated or hand-made) ``simulation`` section; raise ConfigError naming the key.

    Beyond the schema: the zenith range where the parametrisations hold, and all checks
    again for callers of the library who bypass the schema.
    """
    missing = [k for k in SIMULATION_KEYS if k not in sim_cfg]
    if missing:
        raise ConfigError(f"simulation settings lack {missing}; load the config through airshower.config")
    unknown = sorted(set(sim_cfg) - set(SIMULATION_KEYS))
    if unknown:
        raise ConfigError(f"unknown simulation keys {unknown}; allowed: {list(SIMULATION_KEYS)}")
    if sim_cfg["hadronic_model"] not in XMAX_MODELS:
        raise ConfigError(
            f"'simulation.hadronic_model' = {sim_cfg['hadronic_model']!r} is not known; choose one of {list(XMAX_MODELS)}"
        )
    primaries = dict(sim_cfg["primaries"])
    primary_fractions(primaries)  # raises on unknown names or bad fractions
    lg = sim_cfg["lg_energy"]
    if not (isinstance(lg, (list, tuple)) and len(lg) == 2 and all(isinstance(v, (int, float)) for v in lg)
            and 17.0 <= lg[0] < lg[1] <= 21.0):
        raise ConfigError(f"'simulation.lg_energy' = {lg!r} must be [min, max] with 17 <= min < max <= 21")
    zen = _number(sim_cfg, "max_zenith_deg", 0.0, 90.0, lo_open=True)
    if zen > MAX_ZENITH_DEG:
        raise ConfigError(
            f"'simulation.max_zenith_deg' = {zen} exceeds {MAX_ZENITH_DEG}: the signal and time-template "
            "parametrisations of sd_parameters.json hold up to ~60 deg"
        )
    curvature_parameters(sim_cfg["curvature"])  # raises on unknown variants
    return Settings(
        config=dict(sim_cfg),
        hadronic_model=sim_cfg["hadronic_model"],
        primaries=primaries,
        lg_energy=(float(lg[0]), float(lg[1])),
        max_zenith_deg=float(zen),
        muon_scale=_muon_scale(sim_cfg["muon_scale"]),
        elec=electronics(sim_cfg["electronics"]),
        trace_bins=int(_number(sim_cfg, "trace_bins", 1, 2048, integer=True)),
        dead_fraction=float(_number(sim_cfg, "dead_fraction", 0.0, 1.0)),
        curvature=sim_cfg["curvature"],
        chunk_events=int(_number(sim_cfg, "chunk_events", 1, integer=True)),
    )


def _first_per_event(event: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Index of the entry with the largest ``key`` for each distinct event (sorted by event)."""
    order = np.lexsort((-key, event))
    ev_sorted = event[order]
    first = np.ones(ev_sorted.size, dtype=bool)
    first[1:] = ev_sorted[1:] != ev_sorted[:-1]
    return order[first]


def simulate_chunk(rng: np.random.Generator, settings: Settings, n_events: int, first_id: int,
                   array: Array | None = None, flags: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Simulate ``n_events`` thrown events; return the triggered ones as :func:`build_chunk` arguments.

    Returns (``dict(events=..., counts=..., stations=..., mc_stations=..., traces=...)``, stats).
    Event ids are ``first_id`` + the index of the thrown event. ``flags``: stats also holds
    ``flags``, per thrown event: ``lg_energy``, ``zenith`` [rad], ``mass``, ``t3_tot``
    (ToT-2C1&3C2), ``t3_4c4`` (2C1&3C2&4C4), ``t3`` (either) and ``t5`` (6T5) (the
    trigger efficiencies of the validation figures).
    """
    array = array or sd1500()
    elec = settings.elec
    # 1-3: primary, core, Xmax, Rmu, curvature
    prim = sample_primaries(rng, n_events, settings.primaries, settings.lg_energy, settings.max_zenith_deg)
    lg_e, zenith, azimuth, mass = prim["lg_energy"], prim["zenith"], prim["azimuth"], prim["mass"]
    shower = sample_showers(rng, lg_e, mass, settings.hadronic_model, settings.muon_scale)
    xmax, rmu = shower.xmax, shower.rmu
    cell = rng.integers(0, array.n, size=n_events)
    off_x, off_y = sample_in_hexagon(rng, n_events)
    core_x, core_y = array.x[cell] + off_x, array.y[cell] + off_y
    cos_t = np.cos(zenith)
    axis = axis_vector(zenith, azimuth)
    x_ground = float(vertical_depth(ALTITUDE_M))
    dx_ground = x_ground / cos_t - xmax
    rc = curvature_radius(dx_ground, zenith, lg_e, settings.curvature, rng)

    # 4: (event, station) pairs within the candidate radius; geometry and DX per pair
    dq, dr = candidate_offsets(CANDIDATE_RADIUS_M)
    sid = array.station_at(array.q[cell][:, None] + dq, array.r[cell][:, None] + dr)
    ev, col = np.nonzero(sid >= 0)
    st = sid[ev, col].astype(np.int64)
    px, py = array.x[st] - core_x[ev], array.y[st] - core_y[ev]
    ground = np.hypot(px, py)
    near = ground <= CANDIDATE_RADIUS_M
    ev, st, px, py, ground = ev[near], st[near], px[near], py[near], ground[near]
    along = px * axis[ev, 0] + py * axis[ev, 1]  # [m] along the axis, > 0 upstream
    r_axis = np.sqrt(np.maximum(ground**2 - along**2, 0.0))
    dx_station = vertical_depth(ALTITUDE_M + along * cos_t[ev]) / cos_t[ev] - xmax[ev]

    # 5: expected signals; dead stations; candidates that may trigger
    expected = expected_signals(lg_e[ev], zenith[ev], dx_station, dx_ground[ev], r_axis, shower.rmu_signal[ev],
                                shower.em_factor[ev], shower.dbeta[ev])  # (4, P)
    dead = rng.random(ev.size) < settings.dead_fraction
    live = np.nonzero(~dead & (expected.sum(axis=0) >= MIN_EXPECTED_VEM))[0]

    # 6-8: traces, triggers and times of the live candidates
    cand = np.ascontiguousarray(expected[:, live].T)
    sim = station_traces(rng, cand, r_axis[live], dx_station[live], 1.0 / cos_t[ev[live]], elec,
                         settings.trace_bins, minimum_trigger_signal(elec), time_shift=shower.time_shift[ev[live]])
    th, tot = station_trigger(sim.trace, elec)
    trig = np.nonzero(th | tot)[0]  # rows of sim
    tp = live[sim.index[trig]]  # pair index of each triggered station
    jitter = rng.normal(0.0, start_time_extra_sigma(r_axis[tp], zenith[ev[tp]], elec.bin_ns))
    t_start = (-along[tp] / C_M_PER_NS + front_delay_ns(r_axis[tp], rc[ev[tp]]) + jitter
               + sim.start_ns[trig])
    t_ev, t_st = ev[tp], st[tp]
    t3_tot, t3_4c4 = t3_trigger(t_ev, t_st, tot[trig], n_events, array)
    event_ok = t3_tot | t3_4c4

    signal = sim.trace[trig].sum(axis=1, dtype=np.float64)
    hot = _first_per_event(t_ev, signal)
    hottest = np.full(n_events, -1, dtype=np.int64)
    hottest[t_ev[hot]] = t_st[hot]
    t_first = np.full(n_events, np.inf)
    np.minimum.at(t_first, t_ev, t_start)
    with_hot = np.nonzero(hottest >= 0)[0]
    t5 = np.zeros(n_events, dtype=bool)
    t5[with_hot] = six_t5(hottest[with_hot], with_hot, ev[dead], st[dead], array)

    # 9: records of the triggered events: triggered stations + dead ones near the core
    rec_dead = np.nonzero(dead & (ground <= DEAD_RECORD_RADIUS_M) & event_ok[ev])[0]
    keep_trig = np.nonzero(event_ok[t_ev])[0]  # rows of the triggered-station arrays
    pair = np.concatenate([tp[keep_trig], rec_dead])  # indices into the pair arrays
    n_trig = keep_trig.size
    order = np.lexsort((st[pair], ev[pair]))
    pair = pair[order]
    is_trig = order < n_trig
    src = keep_trig[order[is_trig]]  # triggered-station row of each stored triggered station
    n_rec = pair.size
    traces = np.zeros((n_rec, settings.trace_bins), dtype=np.float32)
    traces[is_trig] = sim.trace[trig[src]]
    rec_signal = np.zeros(n_rec)
    rec_signal[is_trig] = signal[src]
    start = np.zeros(n_rec)
    start[is_trig] = t_start[src] - t_first[ev[pair][is_trig]]
    saturated = np.zeros(n_rec, dtype=bool)
    saturated[is_trig] = sim.saturated[trig[src]]

    kept = np.nonzero(event_ok)[0]
    new_index = np.full(n_events, -1, dtype=np.int64)
    new_index[kept] = np.arange(kept.size)
    counts = np.bincount(new_index[ev[pair]], minlength=kept.size)
    rec_st = st[pair]
    stations = {
        "id": rec_st, "x": array.x[rec_st], "y": array.y[rec_st], "z": array.z[rec_st],
        "signal": rec_signal, "start_time": start, "saturated": saturated,
        "triggered": is_trig, "working": is_trig.copy(),
    }
    mc_stations = {f"signal_{c}": expected[i, pair] for i, c in enumerate(COMPONENTS)}
    events = {
        "event_id": first_id + kept, "event_t5": t5[kept], "mc_mass": mass[kept],
        "mc_energy": 10.0 ** lg_e[kept], "mc_zenith": zenith[kept], "mc_azimuth": azimuth[kept],
        "mc_core_x": core_x[kept], "mc_core_y": core_y[kept], "mc_xmax": xmax[kept], "mc_rmu": rmu[kept],
        "mc_muon_scale": shower.muon_scale[kept],
        "mc_hadronic_model": np.full(kept.size, MODEL_CODES[settings.hadronic_model]),
        "mc_curvature_radius": rc[kept],
    }
    stats: dict[str, Any] = {"thrown": n_events, "triggered": int(kept.size), "stations": int(n_trig),
                             "candidates": int(live.size), "simulated": int(sim.index.size),
                             "t3_tot": int(t3_tot.sum()), "t3_4c4": int(t3_4c4.sum()), "t5": int(t5[kept].sum())}
    if flags:
        stats["flags"] = {"lg_energy": lg_e, "zenith": zenith, "mass": mass, "t3_tot": t3_tot, "t3_4c4": t3_4c4,
                          "t3": event_ok, "t5": t5 & event_ok}
    return {"events": events, "counts": counts, "stations": stations, "mc_stations": mc_stations,
            "traces": traces}, stats


def chunk_rng(seed: int, shard: int, chunk: int) -> np.random.Generator:
    """The random generator of one chunk: independent across seeds, shards and chunks."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(shard), int(chunk)]))


def shard_range(n_events: int, n_shards: int, shard: int) -> tuple[int, int]:
    """(first event index, number of events) of ``shard`` when ``n_events`` are split evenly."""
    if not 0 <= shard < n_shards:
        raise ConfigError(f"--shard {shard} is out of range: the dataset has {n_shards} shard(s) (0..{n_shards - 1})")
    base, extra = divmod(n_events, n_shards)
    first = shard * base + min(shard, extra)
    return first, base + (1 if shard < extra else 0)


def simulate_events(sim_cfg: Mapping[str, Any], n_events: int, seed: int, shard: int = 0,
                    first_event_id: int = 0):
    """Yield (chunk arguments, stats) for ``n_events`` thrown events, chunk by chunk (no file)."""
    settings = check_settings(sim_cfg)
    if n_events < 0:
        raise ConfigError(f"number of events {n_events} must be >= 0")
    for chunk, start in enumerate(range(0, n_events, settings.chunk_events)):
        n = min(settings.chunk_events, n_events - start)
        yield simulate_chunk(chunk_rng(seed, shard, chunk), settings, n, first_event_id + start)


def simulated_sample(sim_cfg: Mapping[str, Any], n_events: int, seed: int) -> tuple[ak.Array, dict[str, Any]]:
    """Simulate ``n_events`` thrown events in memory, for the validation figures.

    Returns (the triggered events as :func:`airshower.io.events.read_events` returns them,
    meta with ``trace_bins``, ``bin_ns`` [ns] and ``n_thrown``). The events are drawn from
    ``seed`` on the stream of :data:`VALIDATION_SHARD`, apart from every dataset shard.
    """
    settings = check_settings(sim_cfg)
    parts = [ak.Array(build_chunk(**args)) for args, _ in simulate_events(sim_cfg, n_events, seed, VALIDATION_SHARD)]
    arrays = ak.concatenate(parts) if parts else ak.Array([])
    meta = {"trace_bins": settings.trace_bins, "bin_ns": settings.elec.bin_ns, "n_thrown": n_events}
    return with_trace_shape(arrays, settings.trace_bins), meta


def trigger_flags(sim_cfg: Mapping[str, Any], n_events: int, seed: int,
                  lg_energy: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Per thrown event: ``lg_energy``, ``zenith`` [rad], ``mass`` and the flags ``t3_tot``,
    ``t3_4c4``, ``t3`` and ``t5`` (6T5 of a T3 event), for the trigger efficiencies.

    ``lg_energy``: (min, max) to throw instead of the settings' range (to show the turn-on
    below it). Drawn on the stream of :data:`VALIDATION_SHARD` + 1, apart from every dataset shard.
    """
    cfg = dict(sim_cfg)
    if lg_energy is not None:
        cfg["lg_energy"] = [float(lg_energy[0]), float(lg_energy[1])]
    settings = check_settings(cfg)
    parts: list[dict[str, np.ndarray]] = []
    for chunk, start in enumerate(range(0, n_events, settings.chunk_events)):
        n = min(settings.chunk_events, n_events - start)
        _, stats = simulate_chunk(chunk_rng(seed, VALIDATION_SHARD - 1, chunk), settings, n, start, flags=True)
        parts.append(stats["flags"])
    keys = ("lg_energy", "zenith", "mass", "t3_tot", "t3_4c4", "t3", "t5")
    return {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in keys}


def simulate_shard(sim_cfg: Mapping[str, Any], n_events: int, seed: int, shard: int, output: str | Path,
                   dataset: str = "", first_event_id: int = 0, progress: bool = False) -> dict[str, Any]:
    """Simulate ``n_events`` thrown events of one shard into the events file ``output`` (atomic write).

    Returns a summary: events thrown and written, stations written, wall time, events/s.
    """
    settings = check_settings(sim_cfg)
    require_writable(output, "events file")
    if n_events < 0:
        raise ConfigError(f"number of events {n_events} must be >= 0")
    meta = {
        "n_thrown": int(n_events), "trace_bins": settings.trace_bins, "bin_ns": settings.elec.bin_ns,
        "electronics": settings.elec.name, "dataset": dataset, "shard": int(shard), "seed": int(seed),
        "first_event_id": int(first_event_id), "simulation": settings.config,
        "airshower_version": __version__,
    }
    t0 = time.perf_counter()
    totals = {"thrown": 0, "triggered": 0, "stations": 0}
    with EventWriter(output, meta) as writer:
        for args, stats in simulate_events(sim_cfg, n_events, seed, shard, first_event_id):
            writer.write(build_chunk(**args))
            for k in totals:
                totals[k] += stats[k]
            if progress:
                print(f"simulate: {totals['thrown']}/{n_events} thrown, {totals['triggered']} triggered",
                      file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    return {"output": str(output), "events_thrown": totals["thrown"], "events_written": totals["triggered"],
            "stations_written": totals["stations"], "wall_s": round(wall, 3),
            "events_per_s": round(totals["thrown"] / wall, 1) if wall > 0 else None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower simulate``."""
    parser.add_argument("--dataset", default=None, help="dataset (key of 'datasets'); default: the only one")
    parser.add_argument("--shard", type=int, default=0, help="shard index, 0 .. shards-1 (default 0)")
    parser.add_argument("--output", default=None,
                        help="events file to write (default data/{study}/sim/{dataset}/{shard}.root unless --validate)")
    parser.add_argument("--validate", default=None, metavar="DIR",
                        help="draw the validation figures into DIR (from --output if simulated, else from a "
                             "sample simulated in memory)")
    parser.add_argument("--validate-events", type=int, default=3000,
                        help="events thrown for the in-memory validation sample (default 3000)")


def _pick_dataset(config: Mapping[str, Any], name: str | None) -> str:
    datasets = sorted(config["datasets"])
    if name is None:
        if len(datasets) == 1:
            return datasets[0]
        raise ConfigError(f"--dataset is required: the config defines {datasets}")
    if name not in config["datasets"]:
        raise ConfigError(f"--dataset {name!r} is not a key of 'datasets' ({datasets})")
    return name


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower simulate``: one shard of a dataset, and/or the validation figures."""
    dataset = _pick_dataset(config, args.dataset)
    entry = config["datasets"][dataset]
    sim_cfg = dataset_simulation(config, dataset)
    check_settings(sim_cfg)  # fail before any work
    n_total, n_shards, seed = int(entry["events"]), int(entry.get("shards", 1)), int(entry["seed"])
    if args.validate_events < 1:
        raise ConfigError(f"--validate-events {args.validate_events} must be >= 1")
    output = args.output
    if output is None and args.validate is None:
        output = str(layout.shard_file(config["study"], dataset, args.shard))
    first, count = shard_range(n_total, n_shards, args.shard)
    if args.validate is not None:
        from airshower.figures.validation import (  # matplotlib only when asked
            EFFICIENCY_EVENTS,
            draw_validation,
            efficiency_range,
        )

        Path(args.validate).mkdir(parents=True, exist_ok=True)
    if output is not None:
        summary = simulate_shard(sim_cfg, count, seed, args.shard, output, dataset, first, progress=True)
        summary.update(dataset=dataset, shard=args.shard, seed=seed)
        print(json.dumps(summary))
    if args.validate is not None:
        if output is not None:
            events, meta = read_events(output), read_meta(output)
        else:
            events, meta = simulated_sample(sim_cfg, args.validate_events, seed)
        flags = trigger_flags(sim_cfg, EFFICIENCY_EVENTS, seed, efficiency_range(sim_cfg))
        files = draw_validation(args.validate, sim_cfg, events, meta, trigger_flags=flags)
        print(json.dumps({"validation": [str(f) for f in files]}))
    return 0
