"""Input transforms: scales, and exactly zero features for cells without a (working) station."""

from __future__ import annotations

import math

import torch

from airshower.models.features import (
    N_STATION_FEATURES,
    ONE_HOT_STATES,
    station_features,
    trace_input,
)
from airshower.station_state import StationState



def test_absent_cells_give_exactly_zero_features(make_batch, scramble):
    batch = scramble(make_batch())
    absent = batch.state == StationState.ABSENT
    assert absent.any()
    assert torch.all(station_features(batch)[absent] == 0)
    assert torch.all(trace_input(batch)[absent] == 0)


def test_dead_station_keeps_position_and_state_only(make_batch):
    batch = make_batch()
    batch.traces[0, -1, -1] = 7.0
    batch.start_time[0, -1, -1] = 1234.0
    f = station_features(batch)[0, -1, -1]
    assert f[0] == 0 and f[4] == 0  # time, total signal
    torch.testing.assert_close(f[1:4], batch.position[0, -1, -1] / 1500.0)
    assert f[5 + ONE_HOT_STATES.index(StationState.DEAD)] == 1 and f[5:].sum() == 1
    assert torch.all(trace_input(batch)[0, -1, -1] == 0)


def test_scales_of_a_triggered_station(make_batch):
    batch = make_batch()
    c = batch.state.shape[1] // 2
    f = station_features(batch)
    assert f.shape == (*batch.state.shape, N_STATION_FEATURES)
    torch.testing.assert_close(f[0, c, c, 0], batch.start_time[0, c, c] / 1000.0)
    total = float(batch.traces[0, c, c].sum())
    assert math.isclose(float(f[0, c, c, 4]), math.log1p(total), rel_tol=1e-5)
    torch.testing.assert_close(trace_input(batch)[0, c, c], torch.log1p(batch.traces[0, c, c]))


def test_negative_signal_is_clamped(make_batch):
    batch = make_batch()
    c = batch.state.shape[1] // 2
    batch.traces[0, c, c, 0] = -3.0
    assert trace_input(batch)[0, c, c, 0] == 0
