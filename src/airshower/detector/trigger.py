"""Station and event triggers of the SD-1500 (``detector.triggers`` in sd_parameters.json).

Station trigger (T2 level; Auger, NIM A 613 (2010) 29):

* threshold (TH): a bin above 3.2 VEM peak;
* time-over-threshold (ToT): at least 13 bins above 0.2 VEM peak within a window of
  120 bins (3 us).

Thresholds in VEM peak convert to the traces' VEM-charge per bin with the electronics'
peak/charge ratio. UUB traces (8.333 ns) are triggered like the UB, on the trace summed
into 25 ns bins with the UB peak/charge ratio (the UUB firmware emulates the UB triggers
on filtered, down-sampled traces).

Event trigger (T3, compact configuration "2C1 & 3C2"): at least three triggered stations
such that one has a triggered first-crown neighbour and another triggered station within
its second crown (hexagonal distance <= 2). The 6T5 quality flag: all six neighbours of
the hottest station exist and work; it is stored, not enforced.
"""

from __future__ import annotations

import numpy as np

from airshower.detector.array import Array, sd1500
from airshower.detector.tank import Electronics, electronics
from airshower.hexgrid import NEIGHBOURS
from airshower.physics.parameters import sd_parameters

UB_BIN_NS = 25.0


def _trigger_settings() -> dict[str, float]:
    return sd_parameters()["detector"]["triggers"]


def _as_ub_bins(traces: np.ndarray, elec: Electronics) -> tuple[np.ndarray, float]:
    """Traces in 25 ns bins and the VEM-peak/charge ratio to use with them."""
    factor = int(round(UB_BIN_NS / elec.bin_ns))
    if factor <= 1:
        return traces, elec.peak_to_charge
    n, t = traces.shape
    pad = (-t) % factor
    if pad:
        traces = np.concatenate([traces, np.zeros((n, pad), dtype=traces.dtype)], axis=1)
    return traces.reshape(n, -1, factor).sum(axis=2), electronics("ub").peak_to_charge


def minimum_trigger_signal(elec: Electronics, margin: float = 0.9) -> float:
    """A total signal [VEM] below which no station trigger can fire (times ``margin`` for noise).

    A ToT needs 13 bins above 0.2 VEM peak, i.e. at least 13 x 0.2 VEM peak of charge; a
    threshold trigger needs one bin above 3.2 VEM peak, which no smaller total can give.
    """
    cfg = _trigger_settings()
    ptc = electronics("ub").peak_to_charge if elec.bin_ns < UB_BIN_NS else elec.peak_to_charge
    tot = cfg["tot_bins_over"] * cfg["tot_threshold_vem_peak"] * ptc
    return margin * min(tot, cfg["t2_vem_peak"] * ptc)


def station_trigger(traces: np.ndarray, elec: Electronics) -> tuple[np.ndarray, np.ndarray]:
    """(threshold trigger, ToT trigger) per trace, each a bool array of shape (n,)."""
    cfg = _trigger_settings()
    ub, ptc = _as_ub_bins(np.asarray(traces), elec)
    th = ub.max(axis=1, initial=-np.inf) >= cfg["t2_vem_peak"] * ptc
    over = ub >= cfg["tot_threshold_vem_peak"] * ptc
    window = int(cfg["tot_window_bins"])
    need = int(cfg["tot_bins_over"])
    if over.shape[1] <= window:
        tot = over.sum(axis=1) >= need
    else:
        cs = np.concatenate([np.zeros((over.shape[0], 1), dtype=np.int32), np.cumsum(over, axis=1, dtype=np.int32)], axis=1)
        tot = (cs[:, window:] - cs[:, :-window]).max(axis=1) >= need
    return th, tot


_CROWNS: dict[int, tuple[Array, np.ndarray, np.ndarray]] = {}


def crown_tables(array: Array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Station ids of the first crown (n, 6) and second crown (n, 12) of every station; -1 where none."""
    array = array or sd1500()
    cached = _CROWNS.get(id(array))
    if cached is not None and cached[0] is array:
        return cached[1], cached[2]
    first = np.stack([array.station_at(array.q + dq, array.r + dr) for dq, dr in NEIGHBOURS], axis=1)
    second_offsets = [
        (dq, dr)
        for dq in range(-2, 3)
        for dr in range(-2, 3)
        if (abs(dq) + abs(dr) + abs(dq + dr)) // 2 == 2
    ]
    second = np.stack([array.station_at(array.q + dq, array.r + dr) for dq, dr in second_offsets], axis=1)
    _CROWNS[id(array)] = (array, first, second)
    return first, second


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.clip(np.searchsorted(sorted_keys, keys), 0, sorted_keys.size - 1)
    return sorted_keys[pos] == keys


def compact_triplet(event: np.ndarray, station: np.ndarray, n_events: int, array: Array | None = None) -> np.ndarray:
    """T3 "2C1 & 3C2" per event from its triggered (event index, station id) pairs; bool (n_events,)."""
    array = array or sd1500()
    first, second = crown_tables(array)
    event = np.asarray(event, dtype=np.int64)
    station = np.asarray(station, dtype=np.int64)
    n = np.int64(array.n)
    keys = np.sort(event * n + station)
    c1 = first[station]
    c2 = second[station]
    in1 = _member(event[:, None] * n + c1, keys) & (c1 >= 0)
    in2 = _member(event[:, None] * n + c2, keys) & (c2 >= 0)
    n1 = in1.sum(axis=1)
    ok = (n1 >= 1) & (n1 + in2.sum(axis=1) >= 2)
    return np.bincount(event[ok], minlength=n_events)[:n_events] > 0


def six_t5(hottest: np.ndarray, event: np.ndarray, dead_event: np.ndarray, dead_station: np.ndarray,
           array: Array | None = None) -> np.ndarray:
    """6T5 flag per event: all six neighbours of ``hottest`` (station id per event) exist and are not dead.

    ``dead_event``/``dead_station``: the (event index, station id) pairs of dead stations.
    """
    array = array or sd1500()
    first, _ = crown_tables(array)
    n = np.int64(array.n)
    dead_keys = np.sort(np.asarray(dead_event, dtype=np.int64) * n + np.asarray(dead_station, dtype=np.int64))
    nb = first[hottest]
    exists = (nb >= 0).all(axis=1)
    dead = _member(np.asarray(event, dtype=np.int64)[:, None] * n + nb, dead_keys) & (nb >= 0)
    return exists & ~dead.any(axis=1)
