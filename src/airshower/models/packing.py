"""Packing of variable sets (stations of an event, tokens of an event) into dense tensors.

Two layouts are used by the networks:

* *packed*: the selected cells of a (B, G, G, ...) window flattened into (K, ...) rows, so
  per-station layers (trace encoders) run only on stations that exist;
* *padded*: rows grouped per event into (B, L_max, ...) with a boolean ``valid`` mask
  (B, L_max), for attention over a variable number of tokens with key padding.

Both have sizes that depend on the data (K, L_max: a ``nonzero`` and one scalar read back).
Under ``torch.compile`` that means recompilations or graph breaks and a host synchronisation
per step, so a network can be switched to *static shapes* (:class:`StaticShapes`,
:func:`set_static_shapes`; the training engine does so when ``training.compile`` is on):
every cell of the window is a row, ``(B * G * G, ...)``, or a token, ``(B, G * G, ...)``,
with the same masks deciding what counts. The results are those of the packed layout (up to
the order of floating-point sums); the cost is that of every cell, not only the stations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Packing:
    """Indices of the selected cells of a (B, G, G) window, in row-major order."""

    index: torch.Tensor  # (K,) int64 into the flattened B * G * G cells
    shape: tuple[int, int, int]  # (B, G, G)

    @classmethod
    def from_mask(cls, mask: torch.Tensor) -> Packing:
        """Select the cells where ``mask`` (B, G, G) is True."""
        return cls(index=mask.reshape(-1).nonzero().squeeze(1), shape=tuple(mask.shape))

    def __len__(self) -> int:
        return int(self.index.numel())

    @property
    def event(self) -> torch.Tensor:
        """(K,) event index of each selected cell."""
        return torch.div(self.index, self.shape[1] * self.shape[2], rounding_mode="floor")

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G, G, *F) -> (K, *F)."""
        return x.reshape(-1, *x.shape[3:]).index_select(0, self.index)

    def scatter(self, rows: torch.Tensor, fill: torch.Tensor | None = None) -> torch.Tensor:
        """(K, *F) -> (B, G, G, *F): the rows at their cells; ``fill`` (default zeros) elsewhere.

        ``fill`` is either a full (B, G, G, *F) tensor or anything broadcastable to it.
        """
        n = self.shape[0] * self.shape[1] * self.shape[2]
        feat = rows.shape[1:]
        if fill is None:
            base = rows.new_zeros((n, *feat))
        else:
            base = torch.broadcast_to(fill, (*self.shape, *feat)).reshape(n, *feat).to(rows.dtype)
        return base.index_copy(0, self.index, rows).reshape(*self.shape, *feat)


def pad_groups(
    values: torch.Tensor, group: torch.Tensor, n_groups: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Arrange rows ``values`` (N, *F) by ``group`` (N,) into (n_groups, L_max, *F).

    Rows keep their order within a group. Returns (padded, valid (n_groups, L_max) bool,
    dest (N,) flat position of each row in the padded tensor). L_max >= 1 even with no rows.

    L_max is the one value read back from the device (a single scalar). The counts are an
    ``index_add_`` rather than ``torch.bincount`` and L_max an ``.item()`` rather than a
    Python ``int``, so that ``torch.export`` traces L_max as a data-dependent size instead of
    baking in the value of its example batch (:mod:`airshower.export`).
    """
    counts = torch.zeros(n_groups, dtype=group.dtype, device=group.device).index_add_(0, group, torch.ones_like(group))
    l_max = counts.max().clamp_min(1).item() if n_groups > 0 else 1
    torch._check(l_max >= 1)
    order = torch.argsort(group, stable=True)
    sorted_group = group.index_select(0, order)
    starts = torch.cumsum(counts, 0) - counts
    rank_sorted = torch.arange(group.numel(), device=group.device) - starts.index_select(0, sorted_group)
    dest = torch.empty_like(group)
    dest[order] = sorted_group * l_max + rank_sorted
    feat = values.shape[1:]
    padded = values.new_zeros((n_groups * l_max, *feat)).index_copy(0, dest, values)
    valid = torch.zeros(n_groups * l_max, dtype=torch.bool, device=values.device)
    valid[dest] = True
    return padded.reshape(n_groups, l_max, *feat), valid.reshape(n_groups, l_max), dest


class StaticShapes:
    """Mixin of the modules with a packed and a static-shape path: ``static_shapes`` picks one."""

    static_shapes: bool = False


def set_static_shapes(model: nn.Module, static: bool = True) -> None:
    """Switch every :class:`StaticShapes` module of ``model`` (itself included) to static shapes (or back)."""
    for module in model.modules():
        if isinstance(module, StaticShapes):
            module.static_shapes = bool(static)


def dense_tokens(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every cell as a token: (B, G, G, *F) values, (B, G, G) mask -> (B, G * G, *F), valid (B, G * G)."""
    n = values.shape[0]
    return values.reshape(n, -1, *values.shape[3:]), mask.reshape(n, -1)
