"""``perceiver``: a small latent array reads all (station, time-bin) tokens of an event.

Tokens (built per event, padded with a key-padding mask):

* every time bin of every working station with signal: an MLP of the bin's log1p(signal)
  + a learned time-bin embedding + the station's embedding (a linear map of its features:
  start time, position, total signal, state; see :mod:`airshower.models.features`);
* one token per other station (silent or dead: no trace to read): its station embedding
  plus a learned "no trace" vector.

``latents`` learned vectors cross-attend to the tokens (cost O(latents x tokens), never
tokens x tokens), then ``self_layers`` latent self-attention blocks follow; this
cross + self stack repeats ``cross_layers`` times (separate weights). The mean latent goes
to the dense head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from airshower.batch import Batch
from airshower.models.features import (
    N_STATION_FEATURES,
    present_mask,
    signal_mask,
    station_features,
    trace_input,
    working_mask,
)
from airshower.models.packing import Packing, dense_tokens, pad_groups
from airshower.models.specs import ARCHITECTURES
from airshower.models.transformer import CrossAttentionBlock, TransformerBlock, TransformerNetwork


class Perceiver(TransformerNetwork):
    """Latent cross-attention over (station, bin) tokens, latent self-attention, head.

    Hyperparameters (config ``models.<name>``):

    * ``latents`` 16: size of the latent array;
    * ``cross_layers`` 1: cross-attention + self-attention stacks;
    * ``self_layers`` 2: latent self-attention blocks per stack;
    * ``dim`` 32 (tokens and latents), ``heads`` 4, ``mlp_ratio`` 2.0, ``dropout`` 0.0;
    * ``attention`` fused | materialized; ``head_hidden`` [64].
    """

    TYPE = "perceiver"
    # declared in airshower.models.specs (the config check needs no torch), as the rule: heads divide dim
    HYPERPARAMETERS = ARCHITECTURES[TYPE].hyperparameters
    SUPPORTS_UNCERTAINTY = ARCHITECTURES[TYPE].supports_uncertainty

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hp: Any) -> None:
        super().__init__(grid_size, trace_bins, targets, **hp)
        dim = hp["dim"]
        heads, ratio, drop, mode = hp["heads"], hp["mlp_ratio"], hp["dropout"], hp["attention"]
        self.value = nn.Sequential(nn.Linear(1, dim), nn.GELU(), nn.Linear(dim, dim))
        self.time = nn.Parameter(torch.zeros(trace_bins, dim))
        self.no_trace = nn.Parameter(torch.zeros(dim))
        self.latents = nn.Parameter(torch.zeros(hp["latents"], dim))
        for p in (self.time, self.no_trace, self.latents):
            nn.init.trunc_normal_(p, std=0.02)
        self.station = nn.Linear(N_STATION_FEATURES, dim)
        self.cross = nn.ModuleList(
            CrossAttentionBlock(dim, dim, heads, ratio, drop, mode) for _ in range(hp["cross_layers"])
        )
        self.selfs = nn.ModuleList(
            nn.ModuleList(TransformerBlock(dim, heads, ratio, drop, mode) for _ in range(hp["self_layers"]))
            for _ in range(hp["cross_layers"])
        )
        self.norm = nn.LayerNorm(dim)
        self.head = self.make_head(dim, hp["head_hidden"], drop)

    def tokens(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L_max, dim) tokens of each event and their (B, L_max) validity."""
        traces = trace_input(batch)
        t = traces.shape[-1]
        if t > self.time.shape[0]:
            raise ValueError(f"traces have {t} bins; this network was built for at most {self.time.shape[0]}")
        working = working_mask(batch.state)
        with_signal = working & signal_mask(traces)
        other = present_mask(batch.state) & ~with_signal
        station = self.station(station_features(batch))
        if self.static_shapes:  # a token per bin of every cell and one per cell; the masks decide
            n = traces.shape[0]
            bins = self.value(traces.unsqueeze(-1)) + self.time[:t] + station.unsqueeze(3)  # (B, G, G, T, dim)
            bins, bins_valid = dense_tokens(bins, with_signal)
            cells, cells_valid = dense_tokens(station + self.no_trace, other)
            tokens = torch.cat([bins.reshape(n, -1, bins.shape[-1]), cells], dim=1)
            valid = torch.cat([bins_valid.unsqueeze(-1).expand(-1, -1, t).reshape(n, -1), cells_valid], dim=1)
            return tokens, valid
        sig = Packing.from_mask(with_signal)
        rest = Packing.from_mask(other)
        bins = self.value(sig.gather(traces).unsqueeze(-1)) + self.time[:t] + sig.gather(station).unsqueeze(1)
        tokens = torch.cat([bins.reshape(-1, bins.shape[-1]), rest.gather(station) + self.no_trace], dim=0)
        event = torch.cat([sig.event.repeat_interleave(t), rest.event])
        padded, valid, _ = pad_groups(tokens, event, batch.traces.shape[0])
        return padded, valid

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        context, valid = self.tokens(batch)
        x = self.latents.unsqueeze(0).expand(batch.traces.shape[0], -1, -1)
        for cross, selfs in zip(self.cross, self.selfs):
            x = cross(x, context, valid)
            for block in selfs:
                x = block(x)
        return self.head(self.norm(x).mean(dim=1))
