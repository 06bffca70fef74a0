"""Synthetic events files for the converter's tests and benchmark (until and beside the simulator).

Not physics: a plausible footprint on the real SD-1500 lattice so that the converter sees
realistic geometry and sizes. Per event: a core inside the array, an arrival direction with
sin^2(zenith) uniform up to 60 deg, a power-law-like lateral profile scaled with energy,
stations of hex distance <= 4 from the core cell with signal above 3 VEM stored as
triggered, a few dead stations stored with a zero trace, plane-front start times and
exponential pulses with baseline noise. Vectorised: ~10-20 stations per event, 10^5 events
in seconds.

Everything is built as flat numpy arrays and handed to :func:`airshower.io.events.build_chunk`,
so the file contract is exactly the simulator's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airshower.detector.array import sd1500
from airshower.hexgrid import hex_distance
from airshower.io.events import EVENT_FIELDS, MC_STATION_FIELDS, STATION_FIELDS, EventWriter, build_chunk

C_M_PER_NS = 0.299792458
MASSES = np.array([1, 4, 14, 56], dtype=np.int32)
LOW_GAIN_MAX_VEM = 640.0  # 1023 ADC x 32 / 51 ADC per VEM peak: where the low gain clips (UB)


def synthetic_chunk(
    n_events: int, seed: int = 0, trace_bins: int = 120, first_id: int = 0, dead_fraction: float = 0.02
) -> dict[str, Any]:
    """``n_events`` synthetic events as a :func:`build_chunk` chunk (ids first_id, first_id+1, ...)."""
    rng = np.random.default_rng(seed)
    array = sd1500()
    inner = np.flatnonzero(hex_distance(array.q, array.r) <= 18)
    span = np.arange(-4, 5)
    dq, dr = (a.ravel() for a in np.meshgrid(span, span, indexing="ij"))
    keep = hex_distance(dq, dr) <= 4
    dq, dr = dq[keep], dr[keep]  # 61 candidate offsets

    kept: list[dict[str, np.ndarray]] = []
    n_have = 0
    while n_have < n_events:
        n = int(1.5 * (n_events - n_have)) + 8
        lg_e = rng.uniform(18.5, 20.0, n)
        zen = np.arcsin(np.sqrt(rng.uniform(0.0, np.sin(np.radians(60.0)) ** 2, n)))
        azi = rng.uniform(-np.pi, np.pi, n)
        centre = rng.choice(inner, n)
        core_x = array.x[centre] + rng.uniform(-750.0, 750.0, n)
        core_y = array.y[centre] + rng.uniform(-650.0, 650.0, n)
        ids = array.station_at(array.q[centre][:, None] + dq, array.r[centre][:, None] + dr)  # (n, 61)
        ok = ids >= 0
        sid = np.where(ok, ids, 0)
        px, py = array.x[sid] - core_x[:, None], array.y[sid] - core_y[:, None]
        ax = np.sin(zen) * np.cos(azi)
        ay = np.sin(zen) * np.sin(azi)
        along = px * ax[:, None] + py * ay[:, None]
        r_perp = np.sqrt(np.maximum(px**2 + py**2 - along**2, 1.0))
        s1000 = 4.0 * 10.0 ** (lg_e - 18.0)
        ldf = (r_perp / 1000.0) ** -2.0 * ((r_perp + 700.0) / 1700.0) ** -2.0
        signal = s1000[:, None] * ldf * rng.lognormal(0.0, 0.1, ids.shape)
        dead = ok & (rng.random(ids.shape) < dead_fraction) & (r_perp < 4000.0)
        triggered = ok & ~dead & (signal > 3.0)
        good = triggered.sum(axis=1) >= 3
        stored = (triggered | dead)[good]
        take = {
            "lg_e": lg_e[good], "zen": zen[good], "azi": azi[good], "core_x": core_x[good],
            "core_y": core_y[good], "ids": ids[good], "signal": np.where(dead, 0.0, signal)[good],
            "along": along[good], "r_perp": r_perp[good], "dead": dead[good], "stored": stored,
        }
        kept.append(take)
        n_have += int(good.sum())
    ev = {k: np.concatenate([c[k] for c in kept])[:n_events] for k in kept[0]}
    return _assemble(ev, rng, trace_bins, first_id)


def _assemble(ev: Mapping[str, np.ndarray], rng: np.random.Generator, trace_bins: int, first_id: int) -> dict[str, Any]:
    array = sd1500()
    n = ev["lg_e"].size
    stored = ev["stored"]
    counts = stored.sum(axis=1)
    ids = ev["ids"][stored]
    dead = ev["dead"][stored]
    signal = ev["signal"][stored].astype(np.float32)
    r_perp = ev["r_perp"][stored]
    ev_index = np.repeat(np.arange(n), counts)
    time = -ev["along"][stored] / C_M_PER_NS + rng.normal(0.0, 10.0, ids.size)
    time = np.where(dead, 0.0, time)
    first = np.full(n, np.inf)
    np.minimum.at(first, ev_index, np.where(dead, np.inf, time))
    time = np.where(dead, 0.0, time - first[ev_index])

    bins = np.arange(trace_bins, dtype=np.float32)
    width = (2.0 + r_perp / 400.0).astype(np.float32)[:, None]
    onset = np.float32(min(10, trace_bins // 4))
    shape = np.where(bins >= onset, np.exp(-(bins - onset) / width), 0.0).astype(np.float32)
    shape /= np.maximum(shape.sum(axis=1, keepdims=True), 1e-12)
    traces = signal[:, None] * shape + rng.normal(0.0, 0.01, (ids.size, trace_bins)).astype(np.float32)
    saturated = traces.max(axis=1) > LOW_GAIN_MAX_VEM
    np.minimum(traces, LOW_GAIN_MAX_VEM, out=traces)
    traces[dead] = 0.0

    mass = MASSES[rng.integers(0, MASSES.size, n)]
    events = {
        "event_id": first_id + np.arange(n, dtype=np.int64),
        "event_t5": np.ones(n, dtype=bool),
        "mc_mass": mass,
        "mc_energy": 10.0 ** ev["lg_e"],
        "mc_zenith": ev["zen"],
        "mc_azimuth": ev["azi"],
        "mc_core_x": ev["core_x"],
        "mc_core_y": ev["core_y"],
        "mc_xmax": 750.0 + 58.0 * (ev["lg_e"] - 19.0) - 25.0 * np.log(mass) + rng.normal(0.0, 20.0, n),
        "mc_rmu": np.ones(n, dtype=np.float32),
        "mc_muon_scale": np.ones(n, dtype=np.float32),
        "mc_hadronic_model": np.zeros(n, dtype=np.int8),
        "mc_curvature_radius": np.full(n, 10_000.0, dtype=np.float32),
    }
    stations = {
        "id": ids.astype(np.int32),
        "x": array.x[ids],
        "y": array.y[ids],
        "z": array.z[ids],
        "signal": signal,
        "start_time": time,
        "saturated": saturated,
        "triggered": ~dead,
        "working": ~dead,
    }
    mc_stations = {
        "signal_muon": 0.5 * signal,
        "signal_em": 0.3 * signal,
        "signal_em_mu": 0.1 * signal,
        "signal_em_had": 0.1 * signal,
    }
    return build_chunk(events, counts, stations, mc_stations, traces)


def hand_chunk(events: Sequence[Mapping[str, Any]], trace_bins: int) -> dict[str, Any]:
    """A chunk from hand-written events.

    Each event: a mapping with any of the event fields (defaults: id = position, truth of a
    vertical 10^19 eV proton at the origin) and ``stations``: a list of mappings with ``id``
    (required), and optionally ``signal``, ``start_time``, ``triggered``, ``saturated``,
    ``working``, ``x/y/z`` (default: the lattice position), ``trace`` (default: the signal
    in the first bin).
    """
    array = sd1500()
    defaults = {
        "event_t5": True, "mc_mass": 1, "mc_energy": 1e19, "mc_zenith": 0.0, "mc_azimuth": 0.0,
        "mc_core_x": 0.0, "mc_core_y": 0.0, "mc_xmax": 750.0, "mc_rmu": 1.0, "mc_muon_scale": 1.0,
        "mc_hadronic_model": 0, "mc_curvature_radius": 1e4,
    }
    ev_cols: dict[str, list[Any]] = {k: [] for k in EVENT_FIELDS}
    st_cols: dict[str, list[Any]] = {k: [] for k in STATION_FIELDS}
    traces: list[np.ndarray] = []
    counts = []
    for i, event in enumerate(events):
        for k in EVENT_FIELDS:
            ev_cols[k].append(event.get(k, i if k == "event_id" else defaults.get(k)))
        counts.append(len(event["stations"]))
        for st in event["stations"]:
            sid = int(st["id"])
            working = bool(st.get("working", True))
            signal = float(st.get("signal", 10.0 if working else 0.0))
            row = {
                "id": sid, "x": st.get("x", array.x[sid]), "y": st.get("y", array.y[sid]),
                "z": st.get("z", array.z[sid]), "signal": signal, "start_time": st.get("start_time", 0.0),
                "saturated": st.get("saturated", False), "triggered": st.get("triggered", working),
                "working": working,
            }
            for k in STATION_FIELDS:
                st_cols[k].append(row[k])
            trace = st.get("trace")
            if trace is None:
                trace = np.zeros(trace_bins, dtype=np.float32)
                trace[0] = signal
            traces.append(np.asarray(trace, dtype=np.float32))
    n_st = sum(counts)
    traces_arr = np.stack(traces) if traces else np.zeros((0, trace_bins), dtype=np.float32)
    mc_stations = {k: np.zeros(n_st, dtype=np.float32) for k in MC_STATION_FIELDS}
    return build_chunk(
        {k: np.asarray(v) for k, v in ev_cols.items()},
        np.asarray(counts),
        {k: np.asarray(v) for k, v in st_cols.items()},
        mc_stations,
        traces_arr,
    )


def without_truth(chunk: dict[str, Any]) -> dict[str, Any]:
    """An events chunk without any Monte-Carlo field (what measured data look like)."""
    return {k: v for k, v in chunk.items() if not k.startswith("mc_")}


def write_events(
    path: str | Path, chunks: Iterable[Mapping[str, Any]], trace_bins: int, bin_ns: float = 25.0, **meta: Any
) -> Path:
    """Write chunks into one events file with :class:`EventWriter` (the simulator's writer)."""
    with EventWriter(path, {"trace_bins": trace_bins, "bin_ns": bin_ns, **meta}) as writer:
        for chunk in chunks:
            writer.write(chunk)
    return Path(path)
