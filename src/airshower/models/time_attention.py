"""Efficient self-attention over the time tokens of a trace (``temporal``'s ``time_attention``).

Three choices (hyperparameter ``time_attention`` of ``temporal``):

* ``full``: every token attends to every token (:class:`~airshower.models.transformer.MultiHeadAttention`,
  fused ``scaled_dot_product_attention``; on the CPU a flash kernel that never stores the
  (L x L) matrix, but whose work still grows as L^2);
* ``sparse``: the Sparse Transformer's local + strided pattern (Child et al. 2019,
  :func:`sparse_attention`), made bidirectional for an encoder: token i attends to the
  tokens of its own block of ``window`` tokens and of the blocks before and after it
  (local), and to every token j with j = i mod ``stride`` (strided); one softmax over the
  union, keys of both sets counted once. The two parts are computed in blocked layouts, a
  (L / window, window, 3 window) tensor and a (stride, L / stride, L / stride) tensor, so
  memory and work grow as L (3 window + L / stride), i.e. L^1.5 for stride ~ sqrt(L),
  never as L^2; no (L x L) mask is built;
* ``lsh``: Reformer attention (Kitaev et al. 2020, :func:`lsh_attention`): queries and
  keys share one projection (keys are the unit-normalised queries), tokens are hashed
  into buckets by random rotations (argmax over [xR, -xR]), sorted by bucket, cut into
  chunks of ``chunk`` tokens, and each chunk attends to itself and the chunk before it;
  ``rounds`` independent hashings are combined with weights from their log-sum-exps.
  Memory and work grow as L x 2 chunk x rounds. As in Reformer, a token does not attend
  to itself unless no other valid key is in its window. Deviations, on purpose: the random
  rotations are drawn once and stored (Reformer redraws them each step; fixed ones make
  evaluation and the checkpointing recompute reproducible); chunk 0 has no previous chunk
  (no wrap-around, so appended padding cannot change real outputs); within the two chunks
  every key is attended, also one of another bucket (as the trax / HuggingFace code, not
  the paper's same-bucket mask); keys seen in several rounds are not down-weighted.

``torch.nn.attention.flex_attention`` exists in this torch (2.13) and expresses both masks
(``create_block_mask`` builds a block-sparse mask without an (L x L) tensor), but it is not
used: on the CPU it refuses the backward pass ("FlexAttention does not support backward on
CPU"), so it cannot train here; and by its documentation, only under ``torch.compile`` (an
inductor/C++ build per sequence length) does the forward skip the masked blocks. The explicit blocked layouts below run
in plain eager torch on every device and give the memory saving without a compiler.

Masks: both functions take a key-padding mask ``valid`` (N, L) (False: the token is padding;
it gets no weight as a key and its own output is meaningless) and pad the sequence
internally to whole blocks / chunks, those tokens masked the same way. Padding is appended
at the end, blocks and chunks are counted from the start, and invalid tokens sort after all
real ones, so appending padding does not change the outputs of the real tokens (for fixed
``window``, ``stride``, ``n_buckets``, ``chunk``). Masked scores are set to the most
negative finite number rather than -inf, so a fully masked row (a padding query) gives
finite outputs and gradients.

In ``temporal`` the time stage sees only packed stations with signal, all with the same T
bins (:class:`~airshower.models.trace_encoders.TraceEncoder`), so there are no padded time
bins to mask there, only the internal block / chunk padding; absent and padded stations are
handled by the station stage's key-padding mask, which these choices do not touch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from airshower.models.specs import TIME_ATTENTION_CHOICES
from airshower.models.transformer import MultiHeadAttention


def _pad(x: torch.Tensor, dim: int, before: int, after: int) -> torch.Tensor:
    """``x`` with ``before`` / ``after`` zeros (False for bool) around dimension ``dim``."""
    if before == 0 and after == 0:
        return x
    parts = []
    for size in (before, after):
        shape = list(x.shape)
        shape[dim] = size
        parts.append(x.new_zeros(shape))
    return torch.cat([parts[0], x, parts[1]], dim)


def _pad_to(x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """``x`` padded with zeros (False for bool) at the end of dimension ``dim`` to ``length``."""
    return _pad(x, dim, 0, length - x.shape[dim])


def auto_stride(n_tokens: int) -> int:
    """The strided step of ``sparse`` when ``sparse_stride`` is 0: round(sqrt(n_tokens)), at least 1."""
    return max(1, round(math.sqrt(n_tokens)))


def sparse_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window: int,
    stride: int,
    valid: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Bidirectional local + strided sparse attention; q, k, v (N, H, L, D) -> (N, H, L, D).

    Query i attends to the keys j with |j // window - i // window| <= 1 (its block and the
    two neighbouring blocks) and to those with j = i (mod stride), each once, where ``valid``
    (N, L) is True. With window >= L this is full attention.
    """
    n, h, length, d = q.shape
    dev = q.device
    scale = 1.0 / math.sqrt(d)
    masked = torch.finfo(q.dtype).min
    if valid is None:
        valid = torch.ones(n, length, dtype=torch.bool, device=dev)
    q = q * scale

    # local: blocks of ``window`` queries against their block and both neighbours
    nb = math.ceil(length / window)
    lw = nb * window

    def neighbours(x: torch.Tensor, dim: int) -> torch.Tensor:
        """Blocks along ``dim`` (window tokens each, along dim + 1) -> the previous, own and next
        block side by side along dim + 1 (zeros beyond the ends)."""
        xp = _pad(x, dim, 1, 1)
        return torch.cat([xp.narrow(dim, 0, nb), xp.narrow(dim, 1, nb), xp.narrow(dim, 2, nb)], dim + 1)

    qb = _pad_to(q, lw, 2).reshape(n, h, nb, window, d)
    kl = neighbours(_pad_to(k, lw, 2).reshape(n, h, nb, window, d), 2)  # (N, H, nb, 3w, D)
    vl = neighbours(_pad_to(v, lw, 2).reshape(n, h, nb, window, d), 2)
    valid_l = neighbours(_pad_to(valid, lw, 1).reshape(n, nb, window), 1)  # (N, nb, 3w)
    scores_l = torch.matmul(qb, kl.transpose(-2, -1))  # (N, H, nb, w, 3w)
    scores_l = scores_l.masked_fill(~valid_l[:, None, :, None, :], masked)
    scores_l = scores_l.reshape(n, h, lw, 3 * window)[:, :, :length]

    # strided: columns b of the (L / stride, stride) layout, every query of a column against every key of it
    ns = math.ceil(length / stride)
    ls = ns * stride

    def columns(x: torch.Tensor) -> torch.Tensor:
        """(N, H, L, D) -> (N, H, stride, ns, D)."""
        return _pad_to(x, ls, 2).reshape(n, h, ns, stride, d).transpose(2, 3)

    scores_s = torch.matmul(columns(q), columns(k).transpose(-2, -1))  # (N, H, stride, ns, ns)
    pos = torch.arange(ls, device=dev).reshape(ns, stride).t()  # (stride, ns): position of (column, row)
    block = torch.div(pos, window, rounding_mode="floor")
    in_local = (block[:, :, None] - block[:, None, :]).abs() <= 1  # (stride, ns_q, ns_k): counted by the local part
    valid_s = _pad_to(valid, ls, 1).reshape(n, ns, stride).transpose(1, 2)  # (N, stride, ns)
    keep = valid_s[:, :, None, :] & ~in_local  # (N, stride, ns_q, ns_k)
    scores_s = scores_s.masked_fill(~keep[:, None], masked)
    scores_s = scores_s.transpose(2, 3).reshape(n, h, ls, ns)[:, :, :length]  # back to query order

    probs = torch.cat([scores_l, scores_s], dim=-1).softmax(dim=-1)
    if dropout_p > 0:
        probs = F.dropout(probs, dropout_p)
    p_l, p_s = probs.split([3 * window, ns], dim=-1)
    out_l = torch.matmul(_pad_to(p_l, lw, 2).reshape(n, h, nb, window, 3 * window), vl)
    out_l = out_l.reshape(n, h, lw, d)[:, :, :length]
    p_s = _pad_to(p_s, ls, 2).reshape(n, h, ns, stride, ns).transpose(2, 3)  # (N, H, stride, ns_q, ns_k)
    out_s = torch.matmul(p_s, columns(v)).transpose(2, 3).reshape(n, h, ls, d)[:, :, :length]
    return out_l + out_s


def lsh_buckets(n_tokens: int, chunk: int) -> int:
    """Hash buckets of ``lsh`` for sequences of up to ``n_tokens``: about one chunk's worth of
    tokens per bucket (Reformer's choice), even, or 1 when one chunk holds the whole sequence."""
    if chunk >= n_tokens:
        return 1
    buckets = math.ceil(n_tokens / chunk)
    return buckets + buckets % 2


def lsh_attention(
    qk: torch.Tensor,
    v: torch.Tensor,
    rotations: torch.Tensor,
    n_buckets: int,
    chunk: int,
    valid: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Reformer LSH attention with shared queries/keys; qk, v (N, H, L, D) -> (N, H, L, D).

    ``rotations`` (H, rounds, D, >= n_buckets // 2): random directions per head and round
    (only the first n_buckets // 2 are used). Keys are qk / |qk|, scores q.k / sqrt(D). A
    token does not attend to itself (its score is set far below any real one, above that of
    padding) unless no other valid key is in its window. Chunk 0 has no previous chunk (no
    wrap-around to the last chunk, so that appended padding cannot change real outputs).
    """
    n, h, length, d = qk.shape
    rounds = rotations.shape[1]
    dev = qk.device
    finfo = torch.finfo(qk.dtype)
    pad_value, self_value = finfo.min, finfo.min / 2
    if valid is None:
        valid = torch.ones(n, length, dtype=torch.bool, device=dev)
    nc = math.ceil(length / chunk)
    lp = nc * chunk
    qk, v, valid = _pad_to(qk, lp, 2), _pad_to(v, lp, 2), _pad_to(valid, lp, 1)

    # hash: (N, H, rounds, Lp) bucket of each token; padding goes to an extra last bucket
    if n_buckets > 1:
        rot = torch.einsum("nhld,hrdb->nhrlb", qk.detach(), rotations[..., : n_buckets // 2].to(qk.dtype))
        buckets = torch.cat([rot, -rot], dim=-1).argmax(dim=-1)
    else:
        buckets = torch.zeros(n, h, rounds, lp, dtype=torch.long, device=dev)
    buckets = torch.where(valid[:, None, None, :], buckets, n_buckets)
    position = torch.arange(lp, device=dev)
    order = torch.argsort(buckets * lp + position, dim=-1)  # (N, H, R, Lp): by bucket, then position
    undo = torch.argsort(order, dim=-1)

    def sort(x: torch.Tensor) -> torch.Tensor:
        """(N, H, Lp, D) -> (N, H, R, nc, chunk, D) in bucket order."""
        idx = order.unsqueeze(-1).expand(-1, -1, -1, -1, x.shape[-1])
        return x.unsqueeze(2).expand(-1, -1, rounds, -1, -1).gather(3, idx).reshape(n, h, rounds, nc, chunk, -1)

    def with_previous(x: torch.Tensor) -> torch.Tensor:
        """(N, H, R, nc, chunk, *F) -> (N, H, R, nc, 2 chunk, *F): the previous chunk (zeros for chunk 0), then own."""
        prev = _pad(x, 3, 1, 0)[:, :, :, :nc]
        return torch.cat([prev, x], dim=4)

    q_s = sort(qk)
    k_s = with_previous(F.normalize(q_s, dim=-1))
    v_s = with_previous(sort(v))
    pos_s = order.reshape(n, h, rounds, nc, chunk)
    kpos = with_previous(pos_s.unsqueeze(-1)).squeeze(-1)  # (N, H, R, nc, 2 chunk)
    kvalid = with_previous(sort(valid[:, None, :, None].expand(-1, h, -1, 1))).squeeze(-1)  # chunk 0's previous: False
    scores = torch.matmul(q_s, k_s.transpose(-2, -1)) * (1.0 / math.sqrt(d))  # (N, H, R, nc, chunk, 2 chunk)
    scores = scores.masked_fill(pos_s.unsqueeze(-1) == kpos.unsqueeze(-2), self_value)
    scores = scores.masked_fill(~kvalid.unsqueeze(-2), pad_value)
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)
    probs = torch.exp(scores - lse)
    if dropout_p > 0:
        probs = F.dropout(probs, dropout_p)
    out = torch.matmul(probs, v_s).reshape(n, h, rounds, lp, d)
    lse = lse.reshape(n, h, rounds, lp, 1)
    out = out.gather(3, undo.unsqueeze(-1).expand(-1, -1, -1, -1, d))  # back to token order
    lse = lse.gather(3, undo.unsqueeze(-1))
    weights = torch.softmax(lse, dim=2)  # rounds combined by their share of the total softmax mass
    return (weights * out).sum(dim=2)[:, :, :length]


class SparseSelfAttention(MultiHeadAttention):
    """Multi-head self-attention with :func:`sparse_attention` (parameters as in full attention)."""

    def __init__(self, dim: int, heads: int, window: int, stride: int, dropout: float = 0.0) -> None:
        super().__init__(dim, heads, dropout=dropout)
        self.window = window
        self.stride = stride

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, valid: torch.Tensor | None = None):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        drop = self.dropout if self.training else 0.0
        o = sparse_attention(self._split(q), self._split(k), self._split(v), self.window, self.stride, valid, drop)
        return self.out(o.transpose(1, 2).reshape(x.shape))


class LSHSelfAttention(nn.Module):
    """Multi-head Reformer self-attention: one shared query/key projection ``qv`` (2 dim: qk, v).

    The random rotations (``rotations``: heads x rounds x head_dim x n_buckets / 2) are drawn
    once at construction and kept as a buffer (saved with the weights), so hashing is the same
    in every step, in evaluation and in the recompute of activation checkpointing. Reformer
    redraws them per step; fixed rotations are a deliberate deviation for reproducible outputs.
    """

    def __init__(self, dim: int, heads: int, n_tokens: int, chunk: int, rounds: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.chunk = chunk
        self.dropout = dropout
        self.n_buckets = lsh_buckets(n_tokens, chunk)
        self.qv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.register_buffer("rotations", torch.randn(heads, rounds, dim // heads, max(1, self.n_buckets // 2)))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, valid: torch.Tensor | None = None):
        n, length, _ = x.shape
        qk, v = (t.reshape(n, length, self.heads, -1).transpose(1, 2) for t in self.qv(x).chunk(2, dim=-1))
        drop = self.dropout if self.training else 0.0
        o = lsh_attention(qk, v, self.rotations, self.n_buckets, self.chunk, valid, drop)
        return self.out(o.transpose(1, 2).reshape(x.shape))


def time_attention_layer(
    choice: str,
    dim: int,
    heads: int,
    n_tokens: int,
    dropout: float = 0.0,
    mode: str = "fused",
    sparse_window: int = 32,
    sparse_stride: int = 0,
    lsh_chunk: int = 32,
    lsh_rounds: int = 2,
) -> nn.Module:
    """The self-attention sublayer of a time block for ``time_attention`` = ``choice``.

    ``n_tokens``: the longest token sequence (sets the automatic stride, 0, of ``sparse``
    and the bucket count of ``lsh``); ``mode``: the kernel of ``full`` (fused | materialized).
    """
    if choice == "full":
        return MultiHeadAttention(dim, heads, mode=mode, dropout=dropout)
    if choice == "sparse":
        stride = sparse_stride or auto_stride(n_tokens)
        return SparseSelfAttention(dim, heads, sparse_window, stride, dropout)
    if choice == "lsh":
        return LSHSelfAttention(dim, heads, n_tokens, lsh_chunk, lsh_rounds, dropout)
    raise ValueError(f"time_attention must be one of {TIME_ATTENTION_CHOICES}, got {choice!r}")
