"""``temporal``: attention over the time bins of each trace, then over the stations.

Stage 1 (per station, shared weights, :class:`TimeTransformerEncoder`): the trace of each
working station with signal is cut into tokens of ``patch_bins`` bins (1: one token per
bin, L = T tokens), embedded linearly with a learned time-position embedding and passed
through ``time_layers`` pre-norm transformer blocks; the mean over tokens is the
station's code. Stations are packed (see
:class:`~airshower.models.trace_encoders.TraceEncoder`): no attention runs for empty
cells, and silent stations share the code of an empty trace. All packed traces have the
same length, so this attention needs no mask and ``fused`` mode runs a flash kernel that
never stores the (L x L) matrix (see ``benchmarks/bench_attention.py``).
``time_attention`` replaces this full attention by the sparse (local + strided) or LSH
(Reformer) patterns of :mod:`airshower.models.time_attention`, whose memory and work grow
slower than L^2 (see ``benchmarks/bench_time_attention.py``).

Activation checkpointing of stage 1 (``time_checkpoint``): once the (L x L) matrix is gone,
a time block still stores about 13 vectors of width ``dim`` per token for the backward pass
(layer-norm inputs and outputs, Q/K/V, attention output, MLP hidden states). With
checkpointing, each time block is one :func:`torch.utils.checkpoint.checkpoint` segment
(``use_reentrant=False``; the token embedding joins the first segment, the final
layer-norm and the mean over tokens join the last), so the forward pass keeps only the
segment inputs (the raw traces and the ``time_layers - 1`` outputs between blocks) and the
backward pass recomputes one block at a time with the same attention kernel. Outputs and
gradients are the same as without it (the recompute replays the random-number state, so
dropout masks match too); the cost is one more forward pass of the time blocks per step.

Stage 2: one token per cell holding a station (code + station features, linear
embedding), padded per event with a key-padding mask, a class token, ``station_layers``
transformer blocks, and a dense head on the class token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from airshower.batch import Batch
from airshower.models.features import N_STATION_FEATURES, present_mask, station_features, trace_input, working_mask
from airshower.models.packing import Packing, dense_tokens, pad_groups
from airshower.models.specs import ARCHITECTURES, CHECKPOINT_AUTO_TOKENS, CHECKPOINT_CHOICES
from airshower.models.time_attention import time_attention_layer
from airshower.models.trace_encoders import TraceEncoder
from airshower.models.transformer import TransformerBlock, TransformerNetwork


def use_time_checkpoint(choice: str, n_tokens: int) -> bool:
    """Whether ``time_checkpoint`` = ``choice`` checkpoints traces of ``n_tokens`` time tokens.

    ``on`` / ``off`` decide outright; ``auto`` is on for n_tokens >= CHECKPOINT_AUTO_TOKENS
    (128: e.g. 360-bin traces with ``patch_bins`` 1 or 2, where stage 1's activations are
    the bulk of a step's memory), off for shorter token sequences.
    """
    if choice not in CHECKPOINT_CHOICES:
        raise ValueError(f"time_checkpoint must be one of {CHECKPOINT_CHOICES}, got {choice!r}")
    if choice == "auto":
        return n_tokens >= CHECKPOINT_AUTO_TOKENS
    return choice == "on"


class TimeTransformerEncoder(TraceEncoder):
    """Transformer over the time tokens of one trace; the code is the mean output token.

    ``checkpoint`` True: while gradients are recorded, each block runs as one activation
    checkpoint segment (see the module docstring); the results are unchanged.
    """

    def __init__(
        self,
        trace_bins: int,
        dim: int,
        heads: int,
        layers: int,
        patch_bins: int = 1,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
        mode: str = "fused",
        checkpoint: bool = False,
        time_attention: str = "full",
        attention_options: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.patch_bins = patch_bins
        self.checkpoint = checkpoint
        self.n_tokens = math.ceil(trace_bins / patch_bins)
        self.value = nn.Linear(patch_bins, dim)
        self.position = nn.Parameter(torch.zeros(1, self.n_tokens, dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.time_attention = time_attention
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio, dropout, mode) for _ in range(layers))
        if time_attention != "full":
            for block in self.blocks:
                block.attn = time_attention_layer(
                    time_attention, dim, heads, self.n_tokens, dropout, mode, **(attention_options or {})
                )
        self.norm = nn.LayerNorm(dim)
        self.out_features = dim

    def tokens(self, traces: torch.Tensor) -> torch.Tensor:
        """(N, T) -> (N, ceil(T / patch_bins), dim) embedded time tokens."""
        n, t = traces.shape
        n_tok = math.ceil(t / self.patch_bins)
        if n_tok > self.n_tokens:
            longest = self.n_tokens * self.patch_bins
            raise ValueError(f"traces have {t} bins; this network was built for at most {longest}")
        pad = n_tok * self.patch_bins - t
        if pad:
            traces = F.pad(traces, (0, pad))
        return self.value(traces.reshape(n, n_tok, self.patch_bins)) + self.position[:, :n_tok]

    def _segment(self, h: torch.Tensor, index: int) -> torch.Tensor:
        """Block ``index``; the first also embeds the (N, T) traces, the last also pools."""
        if index == 0:
            h = self.tokens(h)
        h = self.blocks[index](h)
        if index == len(self.blocks) - 1:
            h = self.norm(h).mean(dim=1)
        return h

    def encode(self, traces: torch.Tensor) -> torch.Tensor:
        if not self.blocks:
            return self.norm(self.tokens(traces)).mean(dim=1)
        checkpointed = self.checkpoint and torch.is_grad_enabled()
        h = traces
        for index in range(len(self.blocks)):
            if checkpointed:
                h = torch.utils.checkpoint.checkpoint(self._segment, h, index, use_reentrant=False)
            else:
                h = self._segment(h, index)
        return h


class TemporalTransformer(TransformerNetwork):
    """Time transformer per station, then a station transformer.

    Hyperparameters (config ``models.<name>``):

    * ``patch_bins`` 4: trace bins per time token (1: L = T tokens);
    * ``time_layers`` 2, ``station_layers`` 2: transformer blocks of the two stages;
    * ``dim`` 32, ``heads`` 4, ``mlp_ratio`` 2.0, ``dropout`` 0.0 (shared by both stages);
    * ``attention`` fused | materialized (the benchmark switches it); ``head_hidden`` [64];
    * ``time_checkpoint`` auto | on | off: activation checkpointing of the time blocks
      (auto: on from 128 time tokens per trace, see :func:`use_time_checkpoint`); it
      changes memory and time of a training step, not the results;
    * ``time_attention`` full | sparse | lsh: the self-attention of the time blocks
      (:mod:`airshower.models.time_attention`), with ``sparse_window`` 32 and ``sparse_stride``
      0 (auto: sqrt of the time tokens) for sparse, ``lsh_chunk`` 32 and ``lsh_rounds`` 2 for lsh.
    """

    TYPE = "temporal"
    # declared in airshower.models.specs (the config check needs no torch), as the rules:
    # heads divide dim, patch_bins <= the trace length
    HYPERPARAMETERS = ARCHITECTURES[TYPE].hyperparameters
    SUPPORTS_UNCERTAINTY = ARCHITECTURES[TYPE].supports_uncertainty

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hp: Any) -> None:
        super().__init__(grid_size, trace_bins, targets, **hp)
        dim = hp["dim"]
        n_tokens = math.ceil(trace_bins / hp["patch_bins"])
        self.encoder = TimeTransformerEncoder(
            trace_bins,
            dim,
            hp["heads"],
            hp["time_layers"],
            hp["patch_bins"],
            hp["mlp_ratio"],
            hp["dropout"],
            hp["attention"],
            use_time_checkpoint(hp["time_checkpoint"], n_tokens),
            hp["time_attention"],
            {key: hp[key] for key in ("sparse_window", "sparse_stride", "lsh_chunk", "lsh_rounds")},
        )
        self.embed = nn.Linear(dim + N_STATION_FEATURES, dim)
        self._build_class_token_stack(dim, hp["station_layers"], hp)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        n_events = batch.traces.shape[0]
        codes = self.encoder(trace_input(batch), working_mask(batch.state))
        feats = torch.cat([codes, station_features(batch)], dim=-1)
        if self.static_shapes:
            x, station = dense_tokens(self.embed(feats), present_mask(batch.state))
        else:
            packing = Packing.from_mask(present_mask(batch.state))
            x, station, _ = pad_groups(self.embed(packing.gather(feats)), packing.event, n_events)
        x = self._run_blocks(x, station)
        return self.head(self.norm(x[:, 0]))
