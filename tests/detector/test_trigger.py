"""Station triggers (threshold, ToT), compact event trigger, 6T5 flag."""

from __future__ import annotations

import numpy as np

from airshower.detector.array import sd1500
from airshower.detector.tank import electronics
from airshower.detector.trigger import compact_triplet, crown_tables, minimum_trigger_signal, six_t5, station_trigger

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


def test_compact_triplet() -> None:
    arr = sd1500()
    c = int(arr.station_at(0, 0))
    a, b = _neighbour(c, 0), _neighbour(c, 1)  # a triangle
    far = int(arr.station_at(10, 0))
    second = int(arr.station_at(2, 0))  # two steps away from c, one from a
    line_far = int(arr.station_at(0, 4))
    events = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    stations = np.array([c, a, b, c, a, far, c, a, c, a, second])
    ok = compact_triplet(events, stations, 5)
    assert ok.tolist() == [True, False, False, True, False]
    # three stations in a line with gaps: no neighbour pair
    assert not compact_triplet(np.zeros(3, int), np.array([c, int(arr.station_at(0, 2)), line_far]), 1)[0]


def test_six_t5() -> None:
    arr = sd1500()
    c = int(arr.station_at(0, 0))
    edge = int(arr.station_at(23, 0))
    ok = six_t5(np.array([c, c, edge]), np.array([0, 1, 2]), np.array([1]), np.array([_neighbour(c, 3)]))
    assert ok.tolist() == [True, False, False]
