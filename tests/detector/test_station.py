"""Station traces: rise time (t10 -> t50) and start-time behaviour of the simulated traces."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.detector.station import rise_times, station_traces, window_bins
from airshower.detector.tank import electronics
from airshower.detector.trigger import minimum_trigger_signal
from airshower.physics.signals import expected_signals

UB = electronics("ub")
X_GROUND = 875.5


def _simulate(zenith_deg: float, r: float, dx: float, lg_e: float = 19.5, n: int = 600, seed: int = 0,
              gate: float = 0.0):
    zen = np.radians(zenith_deg)
    comp = expected_signals(lg_e, zen, dx, dx, r, 1.0)
    expected = np.tile(comp.reshape(1, 4), (n, 1))
    rng = np.random.default_rng(seed)
    return station_traces(rng, expected, np.full(n, r), np.full(n, dx), np.full(n, 1 / np.cos(zen)), UB, 160, gate)


def rise_time_ns(traces: np.ndarray) -> float:
    """Median over stations of the time between 10% and 50% of the integrated trace [ns]."""
    cum = np.cumsum(np.maximum(traces, 0.0), axis=1, dtype=np.float64)
    cum /= cum[:, -1:]
    t10 = np.array([np.interp(0.1, c, np.arange(c.size)) for c in cum])
    t50 = np.array([np.interp(0.5, c, np.arange(c.size)) for c in cum])
    return float(np.median(t50 - t10) * UB.bin_ns)


def test_rise_time_grows_with_distance() -> None:
    dx = X_GROUND / np.cos(np.radians(30.0)) - 750.0
    rise = [rise_time_ns(_simulate(30.0, r, dx).trace) for r in (600.0, 1000.0, 1500.0)]
    assert rise[0] < rise[1] < rise[2]
    assert 100 < rise[1] < 600  # Auger: t1/2 of a few hundred ns at 1000 m


def test_rise_time_shrinks_with_zenith() -> None:
    rise = [rise_time_ns(_simulate(z, 1000.0, X_GROUND / np.cos(np.radians(z)) - 750.0).trace) for z in (0, 30, 55)]
    assert rise[0] > rise[1] > rise[2]


def test_deeper_showers_rise_slower() -> None:
    """Physical direction (and that of the Pothast templates): small DX (deep shower, close to the
    ground) gives broader, slower-rising traces than large DX at the same distance."""
    deep = rise_time_ns(_simulate(30.0, 1000.0, 150.0, seed=1).trace)
    shallow = rise_time_ns(_simulate(30.0, 1000.0, 450.0, seed=2).trace)
    assert deep > 1.1 * shallow


def test_start_time_is_sharper_for_large_signals() -> None:
    small = _simulate(30.0, 1800.0, 300.0, lg_e=19.0, seed=3)
    large = _simulate(30.0, 1800.0, 300.0, lg_e=20.0, seed=4)
    assert np.std(small.start_ns) > 1.5 * np.std(large.start_ns)
    assert np.median(small.start_ns) > np.median(large.start_ns)  # first particle arrives later


def test_gate_and_window() -> None:
    gate = minimum_trigger_signal(UB)
    out = _simulate(30.0, 4000.0, 300.0, lg_e=18.5, n=400, seed=5, gate=gate)
    assert 0 < out.index.size < 200  # tiny expected signals: most stations draw too little to trigger
    assert np.all(out.deposit[out.index] >= gate)
    assert window_bins(120, UB) == 120 + 24
    assert out.trace.shape[1] == 160


def test_rise_times_of_known_traces() -> None:
    """t1/2 = time from 10% to 50% of the integrated signal, interpolated within bins."""
    flat = np.zeros((1, 10), dtype=np.float32)
    flat[0, :4] = 1.0  # uniform over 4 bins: 10% at 0.4 bins, 50% at 2 bins
    assert rise_times(flat, 25.0)[0] == pytest.approx(1.6 * 25.0)
    spike = np.zeros((1, 10), dtype=np.float32)
    spike[0, 3] = 5.0  # everything in one bin
    assert rise_times(spike, 25.0)[0] == pytest.approx(0.4 * 25.0)
    assert np.isnan(rise_times(np.zeros((1, 10)), 25.0)[0])


def test_stations_at_equal_expectation_differ_beyond_sampling() -> None:
    """Large signals (sampling fluctuations small): the per-station template fluctuations widen the
    spread of t1/2 between stations with the same expected signals, r and DX."""
    zen = np.radians(30.0)
    dx = X_GROUND / np.cos(zen) - 750.0
    comp = expected_signals(20.0, zen, dx, dx, 1000.0, 1.0)
    expected = np.tile(comp.reshape(1, 4), (800, 1))
    args = (expected, np.full(800, 1000.0), np.full(800, dx), np.full(800, 1 / np.cos(zen)), UB, 160)
    fixed = rise_times(station_traces(np.random.default_rng(1), *args, fluctuate=False).trace, UB.bin_ns)
    free = rise_times(station_traces(np.random.default_rng(1), *args).trace, UB.bin_ns)
    assert np.std(free) > 1.3 * np.std(fixed)
