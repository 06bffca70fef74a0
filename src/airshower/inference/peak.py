"""The measured dense matrix-product rate of a device: the peak that model FLOPs utilisation is read against.

:func:`matmul_peak` times n x n by n x n products (2 n^3 FLOPs each) and keeps the best rate;
:func:`device_peak` measures it in the dtype a network trains in on that device (bfloat16 on a
GPU unless ``amp`` is off, float32 on the CPU) at sizes that reach the device's peak. Used by
``benchmarks/bench_utilisation.py`` and ``airshower gpu-report``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from airshower.inference.device import autocast_dtype, synchronize

# FLOPs per timed repeat: long enough to hide the launch and clock overheads [FLOP]
REPEAT_FLOP_CUDA = 2e11
REPEAT_FLOP_CPU = 2e10
# matrix sizes n tried on each kind of device
SIZES_CUDA = (2048, 4096, 8192)
SIZES_CPU = (1024, 2048)


@dataclass(frozen=True)
class Peak:
    """A measured matmul rate: ``flops_per_s`` [FLOP/s] of ``dtype`` products of size ``n`` x ``n``."""

    flops_per_s: float
    n: int
    dtype: torch.dtype

    @property
    def dtype_name(self) -> str:
        """``bfloat16``, ``float32``, ..."""
        return str(self.dtype).removeprefix("torch.")


def matmul_peak(
    dev: torch.device,
    dtype: torch.dtype,
    sizes: tuple[int, ...],
    repeats: int = 5,
    repeat_flop: float | None = None,
) -> tuple[float, int]:
    """Best measured rate [FLOP/s] of an n x n by n x n product (2 n^3 FLOPs) and the n that gave it.

    Each of ``repeats`` timings per size runs ``k`` products, ``k`` chosen so that one timing
    does about ``repeat_flop`` FLOPs (default: 2e11 on a GPU, 2e10 on the CPU), after two
    untimed warm-up products.
    """
    if not sizes:
        raise ValueError("matmul_peak: no matrix sizes given")
    if repeat_flop is None:
        repeat_flop = REPEAT_FLOP_CUDA if dev.type == "cuda" else REPEAT_FLOP_CPU
    best, best_n = 0.0, sizes[0]
    for n in sizes:
        a = torch.randn(n, n, device=dev).to(dtype)
        b = torch.randn(n, n, device=dev).to(dtype)
        for _ in range(2):
            a @ b
        k = max(1, int(repeat_flop // (2 * n**3)))
        for _ in range(repeats):
            synchronize(dev)
            t0 = time.perf_counter()
            for _ in range(k):
                a @ b
            synchronize(dev)
            rate = 2 * n**3 * k / max(time.perf_counter() - t0, 1e-9)
            if rate > best:
                best, best_n = rate, n
    return best, best_n


def peak_dtype(dev: torch.device, amp: str) -> torch.dtype:
    """The dtype of the peak on ``dev`` for the ``training.amp`` setting: on a GPU what its matrix products
    train in (bfloat16 unless ``amp`` is ``off``), on the CPU float32."""
    if dev.type != "cuda":
        return torch.float32
    return autocast_dtype(dev, amp) or torch.float32


def device_peak(
    dev: torch.device, amp: str = "auto", sizes: tuple[int, ...] | None = None, repeat_flop: float | None = None
) -> Peak:
    """The peak matmul rate of ``dev`` in the dtype a network trains in there (:func:`peak_dtype`);
    ``sizes`` and ``repeat_flop`` [FLOP] as in :func:`matmul_peak` (default: this device's)."""
    dtype = peak_dtype(dev, amp)
    sizes = sizes or (SIZES_CUDA if dev.type == "cuda" else SIZES_CPU)
    rate, n = matmul_peak(dev, dtype, sizes, repeat_flop=repeat_flop)
    return Peak(flops_per_s=rate, n=n, dtype=dtype)
