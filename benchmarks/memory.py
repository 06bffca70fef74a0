"""Memory probes shared by the benchmarks: bytes in use and the peak of a step, on CUDA or the CPU.

CUDA: the caching allocator's ``memory_allocated`` / ``max_memory_allocated`` (exact).
CPU: the resident set size (``/proc/self/statm``) and its high-water mark ``VmHWM``,
reset through ``/proc/self/clear_refs`` (Linux >= 4.0; elsewhere the ``getrusage`` peak,
which cannot be reset). RSS follows tensors only when glibc returns freed memory at once:
run CPU measurements under :data:`MALLOC_ENV` (:func:`reexec_with_malloc_env` does that).
"""

from __future__ import annotations

import os
import resource
import sys

import torch

# glibc: serve allocations >= 128 KiB by mmap and trim at once, so freed tensors leave the RSS
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def reexec_with_malloc_env() -> None:
    """Restart this script with :data:`MALLOC_ENV` unless it is set (glibc reads it at start-up)."""
    if all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})


class MemoryProbe:
    """Bytes in use and a resettable peak on ``device``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak_resettable = True

    @property
    def method(self) -> str:
        if self.device.type == "cuda":
            return "CUDA allocator: memory_allocated / max_memory_allocated"
        if self.peak_resettable:
            return "resident set size: /proc/self/statm, VmHWM reset by clear_refs"
        return "resident set size: /proc/self/statm and getrusage peak"

    def allocated(self) -> int:
        """Bytes in use now: CUDA allocator, or the resident set size on the CPU."""
        if self.device.type == "cuda":
            return torch.cuda.memory_allocated(self.device)
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def reset_peak(self) -> None:
        """Restart the peak from the use now (where the CPU's cannot be reset, ``peak_resettable`` is False)."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # resets VmHWM to the current resident set size
        except OSError:
            self.peak_resettable = False

    def peak(self) -> int:
        """Highest use since :meth:`reset_peak` (bytes)."""
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device)
        if self.peak_resettable:
            with open("/proc/self/status") as fh:
                return next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmHWM:"))
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
