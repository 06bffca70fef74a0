"""Transformer building blocks shared by ``vit``, ``temporal`` and ``perceiver``, and their common base
:class:`TransformerNetwork` (hyperparameters, class token and blocks).

Attention runs in one of two modes (hyperparameter ``attention``):

* ``fused``: :func:`torch.nn.functional.scaled_dot_product_attention`; PyTorch picks a
  kernel that never stores the (L x L) score matrix where one exists (flash attention on
  CPU and CUDA, memory-efficient attention on CUDA with a padding mask);
* ``materialized``: the explicit softmax(Q K^T / sqrt(d)) V, which stores the (L x L)
  probabilities for the backward pass; kept as the reference for tests and benchmarks.

Blocks are pre-norm (LayerNorm before attention and MLP, residual around each).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from airshower.models.base import AirshowerModel
from airshower.models.specs import ATTENTION_MODES, TRANSFORMER_PARAMS, heads_divide_dim  # noqa: F401  (re-exported)


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    valid: torch.Tensor | None = None,
    mode: str = "fused",
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v over keys where ``valid`` (N, Lk) is True.

    q (N, H, Lq, D), k and v (N, H, Lk, D) -> (N, H, Lq, D). Every row of ``valid`` must
    hold at least one True (an empty key set has no softmax).
    """
    if mode == "fused":
        mask = None if valid is None else valid[:, None, None, :]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    if mode != "materialized":
        raise ValueError(f"attention mode must be one of {ATTENTION_MODES}, got {mode!r}")
    scores = torch.matmul(q * (1.0 / math.sqrt(q.shape[-1])), k.transpose(-2, -1))
    if valid is not None:
        scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
    probs = scores.softmax(dim=-1)
    if dropout_p > 0:
        probs = F.dropout(probs, dropout_p)
    return torch.matmul(probs, v)


class MultiHeadAttention(nn.Module):
    """Multi-head self- (``kv_dim`` None) or cross-attention with a key padding mask."""

    def __init__(
        self, dim: int, heads: int, kv_dim: int | None = None, mode: str = "fused", dropout: float = 0.0
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.mode = mode
        self.dropout = dropout
        self.cross = kv_dim is not None
        if self.cross:
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(kv_dim, 2 * dim)
        else:
            self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        return x.reshape(n, length, self.heads, -1).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, valid: torch.Tensor | None = None):
        """x (N, Lq, dim); context (N, Lk, kv_dim) for cross-attention; valid (N, Lk) bool."""
        if self.cross:
            q = self.q(x)
            k, v = self.kv(context).chunk(2, dim=-1)
        else:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        o = attention(
            self._split(q),
            self._split(k),
            self._split(v),
            valid,
            self.mode,
            self.dropout if self.training else 0.0,
        )
        return self.out(o.transpose(1, 2).reshape(x.shape))


class FeedForward(nn.Sequential):
    """Linear -> GELU -> Linear with hidden width ``mlp_ratio * dim``."""

    def __init__(self, dim: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        hidden = max(1, int(round(dim * mlp_ratio)))
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class TransformerBlock(nn.Module):
    """Pre-norm self-attention block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0, mode: str = "fused"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, mode=mode, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), valid=valid)
        return x + self.mlp(self.norm2(x))


class CrossAttentionBlock(nn.Module):
    """Pre-norm block in which queries ``x`` attend to a ``context`` of other tokens."""

    def __init__(
        self, dim: int, context_dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0, mode: str = "fused"
    ):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(context_dim)
        self.attn = MultiHeadAttention(dim, heads, kv_dim=context_dim, mode=mode, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm_q(x), self.norm_kv(context), valid=valid)
        return x + self.mlp(self.norm2(x))


def set_attention_mode(model: nn.Module, mode: str) -> None:
    """Switch every attention layer of ``model`` to ``fused`` or ``materialized``."""
    if mode not in ATTENTION_MODES:
        raise ValueError(f"attention mode must be one of {ATTENTION_MODES}, got {mode!r}")
    for module in model.modules():
        if isinstance(module, MultiHeadAttention):
            module.mode = mode


def masked_mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of x (N, L, C) over the rows where valid (N, L) is True."""
    w = valid.unsqueeze(-1).to(x.dtype)
    return (x * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


class TransformerNetwork(AirshowerModel):
    """What the transformer networks share: :data:`~airshower.models.specs.TRANSFORMER_PARAMS`
    and its rule (:func:`~airshower.models.specs.heads_divide_dim`; both declared in
    :mod:`airshower.models.specs`), and the class-token stack of ``vit`` and ``temporal``."""

    def _build_class_token_stack(self, dim: int, depth: int, hp: dict[str, Any]) -> None:
        """A learned class token, ``depth`` transformer blocks, a final LayerNorm and the regression head.

        They are the attributes ``cls_token``, ``blocks``, ``norm`` and ``head`` (the names
        the weights have in checkpoints).
        """
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, hp["heads"], hp["mlp_ratio"], hp["dropout"], hp["attention"]) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.head = self.make_head(dim, hp["head_hidden"], hp["dropout"])

    def _run_blocks(self, x: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        """Tokens ``x`` (N, L, dim) with the class token put first, through the blocks: (N, 1 + L, dim).

        ``valid`` (N, L): the tokens attention may look at (None: all); the class token always.
        The final LayerNorm is left to the caller.
        """
        n = x.shape[0]
        x = torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)
        if valid is not None:
            valid = torch.cat([valid.new_ones(n, 1), valid], dim=1)
        for block in self.blocks:
            x = block(x, valid)
        return x
