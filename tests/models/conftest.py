"""Shared helpers for the network tests: tiny synthetic batches."""

from __future__ import annotations

import pytest
import torch

from airshower.batch import Batch
from airshower.models.flops import make_example_batch
from airshower.station_state import StationState


def tiny_batch(grid_size: int = 5, trace_bins: int = 16, batch_size: int = 3, seed: int = 0) -> Batch:
    """A small batch with every station state, and two cells outside the array in each event."""
    batch = make_example_batch(grid_size, trace_bins, batch_size, seed=seed)
    state = batch.state.clone()
    state[:, 0, 0] = StationState.ABSENT
    state[:, 0, 1] = StationState.ABSENT
    state[0, -1, -1] = StationState.DEAD
    state[1, grid_size // 2, grid_size // 2] = StationState.SATURATED
    traces = batch.traces.clone()
    traces[state < StationState.TRIGGERED] = 0.0
    return Batch(traces=traces, start_time=batch.start_time, state=state, position=batch.position)


def scramble_absent(batch: Batch, seed: int = 1) -> Batch:
    """The same batch with large random traces, times and positions in the ABSENT cells."""
    g = torch.Generator().manual_seed(seed)
    absent = batch.state == StationState.ABSENT
    traces, start, pos = batch.traces.clone(), batch.start_time.clone(), batch.position.clone()
    traces[absent] = torch.rand(traces[absent].shape, generator=g) * 1e4
    start[absent] = torch.randn(start[absent].shape, generator=g) * 1e5
    pos[absent] = torch.randn(pos[absent].shape, generator=g) * 1e5
    return Batch(traces=traces, start_time=start, state=batch.state, position=pos)


@pytest.fixture
def make_batch():
    """tiny_batch(grid_size=5, trace_bins=16, batch_size=3, seed=0) -> Batch."""
    return tiny_batch


@pytest.fixture
def scramble():
    """scramble_absent(batch, seed=1) -> Batch."""
    return scramble_absent
