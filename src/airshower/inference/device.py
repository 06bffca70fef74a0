"""The device a network trains or predicts on, and its numeric settings: CUDA when present, else the CPU; bf16 autocast.

The device is a runtime choice, not part of the study: ``--device`` on the command line or
the environment variable ``AIRSHOWER_DEVICE`` (``auto``, ``cpu``, ``cuda``) override the
automatic choice (tests set ``cpu``).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator

import torch

from airshower.errors import ConfigError

DEVICE_ENV = "AIRSHOWER_DEVICE"


def choose_device(request: str | None = None, local_rank: int = 0) -> torch.device:
    """The device to train or predict on.

    ``request``: ``auto`` (or None: the ``AIRSHOWER_DEVICE`` environment variable, else auto),
    ``cpu`` or ``cuda``. Auto picks CUDA when a GPU is visible. Under torchrun each process
    takes the GPU of its ``local_rank``.
    """
    request = (request or os.environ.get(DEVICE_ENV) or "auto").lower()
    if request not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device {request!r} is not known; choose auto, cpu or cuda")
    if request == "cpu" or (request == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for, but torch sees no CUDA GPU")
    index = local_rank % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def autocast_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """The autocast dtype of the ``amp`` setting on ``device`` (None: float32, no autocast).

    ``auto``: bfloat16 on GPUs that support it (compute capability >= 8.0), float32 on the
    CPU (bit-reproducible runs); ``bf16``: bfloat16 on any device; ``off``: float32.
    """
    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """``torch.autocast`` with ``dtype`` on ``device``; a no-op for ``dtype`` None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def device_name(device: torch.device) -> str:
    """A readable name of the device (GPU model, or the CPU and its thread count)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"cpu ({cpu}, {torch.get_num_threads()} threads)"


def free_memory_bytes(device: torch.device) -> int | None:
    """Free memory of a GPU in bytes (None on the CPU, where the limit of the config alone applies)."""
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def peak_memory_bytes(device: torch.device) -> int | None:
    """Largest GPU memory allocated by torch so far (None on the CPU)."""
    if device.type != "cuda":
        return None
    return int(torch.cuda.max_memory_allocated(device))


def synchronize(device: torch.device) -> None:
    """Wait for the device to finish its queued work (for honest timings)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
