"""Station triggers (threshold, ToT), the T3 event trigger (ToT-2C1&3C2, 2C1&3C2&4C4; NIM A 613 (2010) 29), 6T5 flag."""

from __future__ import annotations

import numpy as np

from airshower.detector.array import sd1500
from airshower.detector.tank import electronics
from airshower.detector.trigger import (
    crown_rings,
    crown_tables,
    minimum_trigger_signal,
    six_t5,
    station_trigger,
    t3_trigger,
)

UB = electronics("ub")
PEAK = UB.peak_to_charge  # VEM-charge per bin of one VEM peak


def _trace(values: list[float], n: int = 120) -> np.ndarray:
    t = np.zeros(n, dtype=np.float32)
    t[: len(values)] = values
    return t


def test_threshold_trigger() -> None:
    traces = np.stack([_trace([3.3 * PEAK]), _trace([3.1 * PEAK])])
    th, tot = station_trigger(traces, UB)
    assert th.tolist() == [True, False]
    assert not tot.any()


def test_time_over_threshold() -> None:
    traces = np.stack([_trace([0.25 * PEAK] * 13), _trace([0.25 * PEAK] * 12), _trace([0.15 * PEAK] * 60)])
    th, tot = station_trigger(traces, UB)
    assert tot.tolist() == [True, False, False]
    assert not th.any()
    # 13 bins over threshold but spread over more than the 120-bin window
    long = np.zeros((1, 400), dtype=np.float32)
    long[0, ::40] = 0.25 * PEAK
    assert not station_trigger(long, UB)[1][0]
    long[0, 200:213] = 0.25 * PEAK
    assert station_trigger(long, UB)[1][0]


def test_uub_triggers_on_25ns_sums() -> None:
    uub = electronics("uub")
    t = np.zeros((1, 360), dtype=np.float32)
    t[0, :39] = 0.25 * PEAK / 3  # 13 UB bins of 0.25 VEM peak
    assert station_trigger(t, uub)[1][0]


def test_minimum_trigger_signal_bounds_the_triggers() -> None:
    rng = np.random.default_rng(1)
    gate = minimum_trigger_signal(UB, margin=1.0)
    traces = rng.random((5000, 120)).astype(np.float32) ** 8
    traces *= (gate / traces.sum(axis=1))[:, None] * 0.999
    th, tot = station_trigger(traces, UB)
    assert not (th | tot).any()


def _neighbour(station: int, k: int) -> int:
    first, _ = crown_tables()
    return int(first[station, k])


def test_crown_rings() -> None:
    ids, ring = crown_rings(max_ring=4)
    assert [int((ring == k).sum()) for k in (1, 2, 3, 4)] == [6, 12, 18, 24]
    first, second = crown_tables()
    c = int(sd1500().station_at(0, 0))
    assert set(ids[c, ring == 1]) == set(first[c]) and set(ids[c, ring == 2]) == set(second[c])


def test_t3_tot_configuration() -> None:
    """ToT-2C1&3C2: three ToT stations, one with a ToT neighbour in C1 and another within C2."""
    arr = sd1500()
    c = int(arr.station_at(0, 0))
    a, b = _neighbour(c, 0), _neighbour(c, 1)  # a triangle
    second = int(arr.station_at(2, 0))  # two steps from c, one from a
    far = int(arr.station_at(10, 0))
    events = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    stations = np.array([c, a, b, c, a, second, c, a, far, c, a])
    tot = np.ones(events.size, dtype=bool)
    tot_mode, four_mode = t3_trigger(events, stations, tot, 5)
    assert tot_mode.tolist() == [True, True, False, False, False]
    assert not four_mode.any()  # never four stations
    # a threshold-only station does not count for the ToT configuration
    tot[2] = False
    assert t3_trigger(events, stations, tot, 5)[0].tolist() == [False, True, False, False, False]


def test_t3_four_station_configuration() -> None:
    """2C1&3C2&4C4: four stations of any trigger, one with others in C1, within C2 and within C4."""
    arr = sd1500()
    c = int(arr.station_at(0, 0))
    a = _neighbour(c, 0)
    second = int(arr.station_at(0, 2))  # C2 of c
    ring4 = int(arr.station_at(0, -4))  # C4 of c
    ring5 = int(arr.station_at(0, -5))  # C5 of c, C6 of a
    ring3 = int(arr.station_at(3, -3))  # C3 of c
    events = np.array([0] * 4 + [1] * 4 + [2] * 4 + [3] * 3)
    stations = np.array([c, a, second, ring4, c, a, second, ring5, c, a, ring3, ring4, c, a, ring4])
    no_tot = np.zeros(events.size, dtype=bool)
    tot_mode, four_mode = t3_trigger(events, stations, no_tot, 4)
    assert four_mode.tolist() == [True, False, False, False]  # [2]: nothing within C2 but the C1 pair
    assert not tot_mode.any()
    # a line of stations two cells apart: no C1 pair
    line = np.array([int(arr.station_at(0, k)) for k in (0, 2, 4, 6)])
    assert not t3_trigger(np.zeros(4, int), line, np.ones(4, bool), 1)[1][0]


def test_six_t5() -> None:
    arr = sd1500()
    c = int(arr.station_at(0, 0))
    edge = int(arr.station_at(23, 0))
    ok = six_t5(np.array([c, c, edge]), np.array([0, 1, 2]), np.array([1]), np.array([_neighbour(c, 3)]))
    assert ok.tolist() == [True, False, False]
