"""``vit``: the spatial transformer.

The per-station trace encoder of the baseline (an LSTM over each existing station's trace,
:class:`~airshower.models.trace_encoders.LSTMTraceEncoder`) gives each station a code that
joins its features (start time, position, total signal, state); a linear embedding turns
each station into a token and a plain pre-norm ViT encoder relates them.

Two token layouts (``tokens``):

* ``window``: one token per window cell (G x G tokens, patch size 1) with a learned
  position embedding per cell; cells without a station carry only their position
  embedding (their features are zero);
* ``stations``: one token per cell holding a station (dead ones included: they say where
  no data could be taken), padded per event with a key-padding mask; the position
  embedding is a small MLP of the station coordinates (x, y, z) / 1500 m.

Readout (``pool``): a class token (``cls``) or the mean over the station tokens (``mean``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from airshower.batch import Batch
from airshower.models.features import N_STATION_FEATURES, present_mask, station_features, trace_input, working_mask
from airshower.models.packing import Packing, dense_tokens, pad_groups
from airshower.models.specs import ARCHITECTURES
from airshower.models.trace_encoders import LSTMTraceEncoder
from airshower.models.transformer import TransformerNetwork, masked_mean

POSITION_COLUMNS = slice(1, 4)  # (x, y, z) / 1500 m in station_features


class SpatialViT(TransformerNetwork):
    """LSTM trace encoder + ViT over stations.

    Hyperparameters (config ``models.<name>``):

    * ``lstm_hidden`` 16, ``lstm_layers`` 1: the trace LSTM;
    * ``tokens`` window | stations; ``pool`` cls | mean;
    * ``dim`` 32, ``depth`` 2, ``heads`` 4, ``mlp_ratio`` 2.0, ``dropout`` 0.0;
    * ``attention`` fused | materialized; ``head_hidden`` [64].
    """

    TYPE = "vit"
    # declared in airshower.models.specs (the config check needs no torch), as the rule: heads divide dim
    HYPERPARAMETERS = ARCHITECTURES[TYPE].hyperparameters
    SUPPORTS_UNCERTAINTY = ARCHITECTURES[TYPE].supports_uncertainty

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hp: Any) -> None:
        super().__init__(grid_size, trace_bins, targets, **hp)
        dim = hp["dim"]
        self.tokens = hp["tokens"]
        self.pool = hp["pool"]
        self.encoder = LSTMTraceEncoder(hp["lstm_hidden"], hp["lstm_layers"])
        self.embed = nn.Linear(self.encoder.out_features + N_STATION_FEATURES, dim)
        if self.tokens == "window":
            self.position = nn.Parameter(torch.zeros(1, grid_size * grid_size, dim))
            nn.init.trunc_normal_(self.position, std=0.02)
        else:
            self.position_mlp = nn.Sequential(nn.Linear(3, dim), nn.GELU(), nn.Linear(dim, dim))
        self._build_class_token_stack(dim, hp["depth"], hp)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        n_events = batch.traces.shape[0]
        codes = self.encoder(trace_input(batch), working_mask(batch.state))
        feats = torch.cat([codes, station_features(batch)], dim=-1)
        present = present_mask(batch.state)
        if self.tokens == "window":
            x = self.embed(feats) * present.unsqueeze(-1).to(feats.dtype)
            x = x.reshape(n_events, -1, x.shape[-1]) + self.position
            valid = None  # every cell is a token attention may look at
            station = present.reshape(n_events, -1)
        else:
            offset = self.encoder.out_features
            columns = slice(offset + POSITION_COLUMNS.start, offset + POSITION_COLUMNS.stop)
            if self.static_shapes:
                rows, station = dense_tokens(feats, present)
                x = self.embed(rows) + self.position_mlp(rows[..., columns])
            else:
                packing = Packing.from_mask(present)
                rows = packing.gather(feats)
                rows = self.embed(rows) + self.position_mlp(rows[:, columns])
                x, station, _ = pad_groups(rows, packing.event, n_events)
            valid = station
        x = self.norm(self._run_blocks(x, valid))
        pooled = x[:, 0] if self.pool == "cls" else masked_mean(x[:, 1:], station)
        return self.head(pooled)
