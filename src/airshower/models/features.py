"""Input transforms shared by all networks: from a :class:`~airshower.batch.Batch` to features.

Cell classes (from :class:`~airshower.station_state.StationState`):

* *absent* (no station there): every feature is exactly zero, whatever the tensors hold;
* *present* (state >= DEAD): the cell holds a station; its position and state one-hot are
  features;
* *working* (state >= SILENT, :attr:`Batch.exists`): the station took data; its trace, start
  time and signal are features as well (a dead station's trace and time are zeroed).

Transforms (chosen so that typical values are O(1)):

* trace: ``log1p(max(S, 0))`` with S the signal per bin [VEM];
* start time: t / 1000 ns (relative to the hottest station);
* position: (x, y, z) / 1500 m (relative to the hottest station; 1500 m = lattice spacing);
* total signal: log1p(sum of the trace) [log VEM];
* state: one-hot over DEAD, SILENT, TRIGGERED, SATURATED (ABSENT is all zeros).
"""

from __future__ import annotations

import torch

from airshower.batch import Batch
from airshower.station_state import StationState

TIME_SCALE_NS = 1000.0
POSITION_SCALE_M = 1500.0
# plain ints, not IntEnum members: torch.compile does not trace tensor comparisons with an IntEnum
ONE_HOT_STATES: tuple[int, ...] = tuple(
    int(s) for s in (StationState.DEAD, StationState.SILENT, StationState.TRIGGERED, StationState.SATURATED)
)
# start time, x, y, z, total signal, one-hot state
N_STATION_FEATURES = 5 + len(ONE_HOT_STATES)


def present_mask(state: torch.Tensor) -> torch.Tensor:
    """(B, G, G) bool: cells holding a station (dead or working)."""
    return state >= int(StationState.DEAD)


def working_mask(state: torch.Tensor) -> torch.Tensor:
    """(B, G, G) bool: cells holding a working station (silent, triggered or saturated)."""
    return state >= int(StationState.SILENT)


def trace_input(batch: Batch, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, G, G, T) log1p of the signal per bin [log VEM]; exactly zero where not working."""
    working = working_mask(batch.state)
    x = torch.log1p(batch.traces.to(dtype).clamp_min(0.0))
    return torch.where(working.unsqueeze(-1), x, torch.zeros((), dtype=dtype, device=x.device))


def signal_mask(traces: torch.Tensor) -> torch.Tensor:
    """(B, G, G) bool: cells whose (already masked) trace has any non-zero bin."""
    return (traces != 0).any(dim=-1)


def station_features(batch: Batch, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, G, G, N_STATION_FEATURES) per-cell features; exactly zero for absent cells.

    Order: start time / 1000 ns, x / 1500 m, y / 1500 m, z / 1500 m, log1p(total signal
    [VEM]), one-hot(DEAD, SILENT, TRIGGERED, SATURATED). Time and signal are zero for dead
    stations.
    """
    state = batch.state
    working = working_mask(state).unsqueeze(-1)
    present = present_mask(state).unsqueeze(-1)
    zero = torch.zeros((), dtype=dtype, device=state.device)
    time = torch.where(working, (batch.start_time.to(dtype) / TIME_SCALE_NS).unsqueeze(-1), zero)
    pos = torch.where(present, batch.position.to(dtype) / POSITION_SCALE_M, zero)
    total = torch.log1p(batch.traces.to(dtype).clamp_min(0.0).sum(dim=-1, keepdim=True))
    total = torch.where(working, total, zero)
    one_hot = torch.stack([(state == s) for s in ONE_HOT_STATES], dim=-1).to(dtype)
    return torch.cat([time, pos, total, one_hot], dim=-1)
