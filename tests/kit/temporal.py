"""A small temporal network for the model tests (tests/models/test_temporal.py, test_time_attention.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from airshower.models.registry import build_model


def build_temporal(grid: int, bins: int, targets: Sequence[str], **extra: Any) -> torch.nn.Module:
    """A temporal network of width 8 (2 time layers, 1 station layer, one token per bin), seeded."""
    spec = {"type": "temporal", "dim": 8, "heads": 2, "time_layers": 2, "station_layers": 1, "patch_bins": 1,
            "head_hidden": [8], **extra}
    torch.manual_seed(0)
    return build_model("net", spec, grid, bins, list(targets))
