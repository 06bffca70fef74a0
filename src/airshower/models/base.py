"""Common base of the architectures: declared hyperparameters and the (batch -> dict) contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from airshower.batch import Batch
from airshower.models.heads import check_targets
from airshower.models.hyperparams import Param


class AirshowerModel(nn.Module):
    """A network that takes one :class:`~airshower.batch.Batch` and returns named predictions.

    Subclasses declare ``TYPE`` (the config's ``type``) and ``HYPERPARAMETERS``; the
    registry validates a config entry against them and calls ``cls(grid_size, trace_bins,
    targets, **hyperparameters)``. ``self.hyperparameters`` keeps the resolved values
    (for provenance records).
    """

    TYPE: ClassVar[str] = ""
    HYPERPARAMETERS: ClassVar[dict[str, Param]] = {}

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hyperparameters: Any) -> None:
        super().__init__()
        self.grid_size = int(grid_size)
        self.trace_bins = int(trace_bins)
        self.targets = check_targets(targets)
        self.hyperparameters = dict(hyperparameters)

    @classmethod
    def constraints(cls, hp: dict[str, Any], grid_size: int, trace_bins: int) -> list[tuple[str, str]]:
        """Violations of rules that tie hyperparameters together: (key, message) pairs."""
        return []

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError
