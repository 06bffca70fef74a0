"""Station and event triggers of the SD-1500 (``detector.triggers`` in sd_parameters.json).

Station trigger (T2 level; Auger, NIM A 613 (2010) 29):

* threshold (TH): a bin above 3.2 VEM peak;
* time-over-threshold (ToT): at least 13 bins above 0.2 VEM peak within a window of
  120 bins (3 us).

Thresholds in VEM peak convert to the traces' VEM-charge per bin with the electronics'
peak/charge ratio. UUB traces (8.333 ns) are triggered like the UB, on the trace summed
into 25 ns bins with the UB peak/charge ratio (the UUB firmware emulates the UB triggers
on filtered, down-sampled traces).

Event trigger (T3; Auger, NIM A 613 (2010) 29, section 3): either of two compact
configurations, Cn being the n-th crown of neighbours of a station (hexagonal distance n):

* **ToT-2C1&3C2**: three stations with a time-over-threshold trigger, one of which has
  another within its first crown and the third within its second (at least one ToT
  neighbour in C1 and at least two in C1 + C2);
* **2C1&3C2&4C4**: four stations with any station trigger (T2), one of which has another
  in C1, a third within C2 and a fourth within C4 (at least 1 in C1, 2 in C1 + C2, 3 in
  C1 + ... + C4).

The coincidence windows of the T3 ((6 + 5 Cn) us) are always met by the stations of one
simulated shower, so only the geometry is checked. Events that pass neither are not
recorded (as by the array). The 6T5 quality flag (:func:`six_t5`: all six neighbours of the
hottest station exist and work) is stored per event; training and evaluation select on it
(``training.selection`` and ``evaluation.selection`` in the config).
"""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=4)
def _ring_offsets(max_ring: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axial offsets (dq, dr) of every cell at hexagonal distance 1..max_ring, and that distance."""
    span = range(-max_ring, max_ring + 1)
    rows = [(dq, dr, (abs(dq) + abs(dr) + abs(dq + dr)) // 2) for dq in span for dr in span]
    rows = sorted((d, dq, dr) for dq, dr, d in rows if 1 <= d <= max_ring)
    ring, dq, dr = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return dq, dr, ring


def crown_rings(array: Array | None = None, max_ring: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Station ids of every cell within ``max_ring`` crowns of every station (n, c), -1 where none,
    and the crown (hexagonal distance) of each column (c,)."""
    array = array or sd1500()
    key = (id(array), max_ring)
    cached = _RINGS.get(key)
    if cached is not None and cached[0] is array:
        return cached[1], cached[2]
    dq, dr, ring = _ring_offsets(max_ring)
    ids = array.station_at(array.q[:, None] + dq, array.r[:, None] + dr)
    _RINGS[key] = (array, ids, ring)
    return ids, ring


_RINGS: dict[tuple[int, int], tuple[Array, np.ndarray, np.ndarray]] = {}


def _compact(event: np.ndarray, station: np.ndarray, n_events: int, need: tuple[int, ...],
             array: Array) -> np.ndarray:
    """Per event: some station of the set has >= need[k] others of the set within crowns 1..k+1."""
    if event.size == 0:
        return np.zeros(n_events, dtype=bool)
    ids, ring = crown_rings(array, len(need))
    n = np.int64(array.n)
    keys = np.sort(event * n + station)
    nb = ids[station]
    hit = _member(event[:, None] * n + nb, keys) & (nb >= 0)
    ok = np.ones(event.size, dtype=bool)
    for k, count in enumerate(need):
        ok &= hit[:, ring <= k + 1].sum(axis=1) >= count
    return np.bincount(event[ok], minlength=n_events)[:n_events] > 0


def t3_trigger(event: np.ndarray, station: np.ndarray, tot: np.ndarray, n_events: int,
               array: Array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two T3 configurations per event, bool (n_events,) each: (ToT-2C1&3C2, 2C1&3C2&4C4).

    ``event``, ``station``: (event index, station id) of every station with a station trigger
    (T2); ``tot``: whether that trigger includes a time-over-threshold. The event trigger is
    their logical or.
    """
    array = array or sd1500()
    event = np.asarray(event, dtype=np.int64)
    station = np.asarray(station, dtype=np.int64)
    tot = np.asarray(tot, dtype=bool)
    tot_mode = _compact(event[tot], station[tot], n_events, (1, 2), array)
    four_mode = _compact(event, station, n_events, (1, 2, 2, 3), array)
    return tot_mode, four_mode


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
