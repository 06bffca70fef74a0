"""Parameter and FLOP counts of the networks, and a representative synthetic batch.

FLOPs are counted, not estimated: :func:`forward_flops` runs one forward pass on a batch
under :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products, convolutions,
attention; 1 multiply-add = 2 FLOPs; element-wise operations, normalisations and
activations are not counted). Two additions to its table:

* the CPU flash-attention kernel (``aten._scaled_dot_product_flash_attention_for_cpu``)
  gets the same formula as the CUDA kernels (4 N H Lq Lk D);
* LSTMs run as fused kernels the counter does not see; they are counted from the input
  shape by a forward hook: 2 x N x L x 4H x (I_l + H) per layer l.

Hexagonal convolutions are counted as the dense (2k+1)^2 convolutions they run as (the
taps outside the hexagon are multiplied by zero). The count depends on the data (stations
are packed, tokens padded per batch): by default it is taken on :func:`make_example_batch`,
a synthetic batch with a realistic fill of present, dead, silent, triggered and saturated
stations, and divided by the number of events.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from airshower.batch import Batch
from airshower.hexgrid import axial_to_xy, hex_distance
from airshower.station_state import StationState



def _cpu_flash_attention_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of the CPU flash-attention forward: q k^T and p v, 2 * 2 N H Lq Lk D."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


EXTRA_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_flash_attention_flop}
SPEED_OF_LIGHT_M_PER_NS = 0.299792458


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def lstm_flops(module: nn.LSTM, inputs: torch.Tensor) -> int:
    """Multiply-add FLOPs of one LSTM forward on ``inputs`` (N, L, I) (batch_first) or (L, N, I)."""
    if inputs.dim() == 2:  # unbatched (L, I)
        steps = inputs.shape[0]
    else:
        steps = inputs.shape[0] * inputs.shape[1]
    h = module.hidden_size
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        in_size = module.input_size if layer == 0 else h * directions
        total += directions * 2 * steps * 4 * h * (in_size + h)
    return total


def make_example_batch(grid_size: int, trace_bins: int, batch_size: int = 8, seed: int = 0) -> Batch:
    """A synthetic batch with a realistic fill of the window (for FLOP counts, benchmarks, tests).

    Per event: the window lies at the array's edge for half of the events (cells beyond a
    random straight line are ABSENT); 1 % of the present stations are DEAD; stations within
    1-3 rings of the centre are TRIGGERED (those of the outermost ring with probability
    1/2), the centre is SATURATED in 30 % of the events, the rest SILENT. Triggered traces
    are exponential pulses [VEM/bin] whose size falls with distance; start times follow a
    plane front of random direction (zenith < 60 deg). Positions are the lattice positions
    [m] relative to the centre with +-20 m of altitude. Not physics: a stand-in with the
    right occupancy for counting and timing.
    """
    if grid_size < 1 or trace_bins < 1 or batch_size < 1:
        raise ValueError("grid_size, trace_bins and batch_size must be >= 1")
    rng = np.random.default_rng(seed)
    half = grid_size // 2
    offsets = np.arange(grid_size) - half
    dq, dr = np.meshgrid(offsets, offsets, indexing="ij")
    dist = hex_distance(dq, dr)
    x, y = axial_to_xy(dq, dr)
    t_axis = np.arange(trace_bins)
    state = np.full((batch_size, grid_size, grid_size), StationState.SILENT, dtype=np.int64)
    traces = np.zeros((batch_size, grid_size, grid_size, trace_bins), dtype=np.float32)
    start = np.zeros((batch_size, grid_size, grid_size), dtype=np.float32)
    pos = np.zeros((batch_size, grid_size, grid_size, 3), dtype=np.float32)
    for b in range(batch_size):
        present = np.ones_like(dist, dtype=bool)
        if b % 2 == 1:
            phi = rng.uniform(0, 2 * np.pi)
            edge = rng.uniform(2.5, max(3.0, half)) * 1500.0
            present = x * np.cos(phi) + y * np.sin(phi) < edge
        present[half, half] = True
        dead = present & (rng.random(dist.shape) < 0.01)
        dead[half, half] = False
        ring = int(rng.integers(1, 4))
        trig = present & ~dead & ((dist < ring) | ((dist == ring) & (rng.random(dist.shape) < 0.5)))
        trig[half, half] = True
        s = state[b]
        s[~present] = StationState.ABSENT
        s[dead] = StationState.DEAD
        s[trig] = StationState.TRIGGERED
        if rng.random() < 0.3:
            s[half, half] = StationState.SATURATED
        zenith = np.arcsin(np.sqrt(rng.uniform(0, 0.75)))
        azimuth = rng.uniform(0, 2 * np.pi)
        ux, uy = np.sin(zenith) * np.cos(azimuth), np.sin(zenith) * np.sin(azimuth)
        start[b][trig] = (-(x * ux + y * uy) / SPEED_OF_LIGHT_M_PER_NS)[trig]
        pos[b, ..., 0] = np.where(present, x, 0.0)
        pos[b, ..., 1] = np.where(present, y, 0.0)
        pos[b, ..., 2] = np.where(present, rng.normal(0.0, 20.0, dist.shape), 0.0)
        onset = max(1, trace_bins // 8)
        for i, j in zip(*np.nonzero(trig)):
            total = 300.0 * np.exp(-1.5 * dist[i, j]) * rng.lognormal(0.0, 0.2)
            tau = 3.0 + 4.0 * dist[i, j]
            pulse = np.where(t_axis >= onset, np.exp(-(t_axis - onset) / tau), 0.0)
            pulse = total * pulse / max(pulse.sum(), 1e-9)
            traces[b, i, j] = np.clip(pulse + rng.normal(0.0, 0.02, trace_bins), 0.0, None)
    return Batch(
        traces=torch.from_numpy(traces),
        start_time=torch.from_numpy(start),
        state=torch.from_numpy(state),
        position=torch.from_numpy(pos),
    )


def forward_flops(model: nn.Module, grid_size: int, trace_bins: int, example_batch: Batch | None = None) -> int:
    """FLOPs of one forward pass per event (counted on ``example_batch`` or the synthetic one).

    Runs the model once in eval mode on the device of its parameters (autograd on: the
    counter's module tracker needs it; nothing is backpropagated);
    the training flag is restored afterwards.
    """
    batch = example_batch if example_batch is not None else make_example_batch(grid_size, trace_bins)
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    batch = batch.to(device)
    lstm_total = 0

    def hook(module: nn.Module, args: tuple, _output: object) -> None:
        nonlocal lstm_total
        lstm_total += lstm_flops(module, args[0])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.LSTM)]
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS) as counter:
            model(batch)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return int(round((counter.get_total_flops() + lstm_total) / len(batch)))
