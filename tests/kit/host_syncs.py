"""Count the points where a piece of tensor code would make the host wait for a GPU.

A CUDA host synchronisation happens where the host needs a value or a size that only the
device knows: ``tensor.item()`` / ``int(tensor)`` / ``bool(tensor)`` (all of which reach the
ATen operator ``_local_scalar_dense``) and operators whose output *size* depends on the
data (``nonzero``, boolean-mask selection or assignment ``x[mask]``, ``unique``, ...). Each one stalls the host until
the device has finished all queued work, so the next kernels cannot be queued ahead.

:class:`HostSyncCounter` counts these operators as they are dispatched, on any device: on
the CPU it predicts how many synchronisations the same code makes on a GPU, which is how
the tests and ``benchmarks/bench_utilisation.py`` check the training step without a GPU.
(On a GPU, ``torch.cuda.set_sync_debug_mode("warn")`` reports the same points at run time.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# ATen operators (overload packets) that make the host wait for the device on CUDA
SYNC_OPS: frozenset[str] = frozenset(
    {
        "aten._local_scalar_dense",  # .item(), int(t), float(t), bool(t), Python control flow on a tensor
        "aten.nonzero",  # output size = number of True elements
        "aten.masked_select",
        "aten._unique",
        "aten._unique2",
        "aten.unique_dim",
        "aten.unique_consecutive",
        "aten.repeat_interleave",  # without output_size, its size is a sum on the device
        "aten.is_nonzero",
        "aten.equal",
    }
)
# Indexing operators that synchronise when an index is a boolean mask (x[mask], x[mask] = v)
MASK_INDEX_OPS: frozenset[str] = frozenset({"aten.index", "aten.index_put", "aten.index_put_", "aten._index_put_impl_"})


def _has_mask_index(args: tuple) -> bool:
    """Whether the indices argument (the second) of an indexing operator holds a boolean mask."""
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices or ())


class HostSyncCounter(TorchDispatchMode):
    """Context manager counting dispatched operators that synchronise on CUDA.

    ``counts`` maps operator name (``aten.nonzero``, ...) to calls; ``total`` sums them.
    Operators run normally; only their names are looked at.

    >>> with HostSyncCounter() as syncs:
    ...     _ = torch.arange(4).nonzero()
    >>> syncs.total
    1
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self.paused = False

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        name = str(func.overloadpacket)
        if not self.paused and (name in SYNC_OPS or (name in MASK_INDEX_OPS and _has_mask_index(args))):
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))

    @contextmanager
    def excluding_optimizer(self, optimizer: torch.optim.Optimizer) -> Iterator[HostSyncCounter]:
        """Count nothing inside ``optimizer.step()``.

        On a GPU, PyTorch's optimisers (not ``capturable``) keep each parameter's step count
        on the CPU and read it there (``.item()`` on a CPU tensor does not wait for the
        GPU); on a CPU run these reads would be counted as if they synchronised.
        """
        def pause(*_: Any) -> None:
            self.paused = True

        def resume(*_: Any) -> None:
            self.paused = False

        handles = [optimizer.register_step_pre_hook(pause), optimizer.register_step_post_hook(resume)]
        try:
            yield self
        finally:
            for h in handles:
                h.remove()
            self.paused = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        """``'2 (aten.nonzero 2)'``-style summary."""
        if not self.counts:
            return "0"
        parts = ", ".join(f"{k.removeprefix('aten.')} {v}" for k, v in sorted(self.counts.items()))
        return f"{self.total} ({parts})"
