"""Regression heads: a shared dense trunk and one linear output per target.

Predictions are in normalised units (the trainer standardises each target component):
``xmax`` (B,), ``lg_energy`` (B,), ``axis`` (B, 3), ``core`` (B, 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from airshower.errors import ConfigError
from airshower.models.hyperparams import Param

TARGET_DIMS: dict[str, int] = {"xmax": 1, "lg_energy": 1, "axis": 3, "core": 2}

# the hyperparameter of :class:`RegressionHead` every architecture declares
HEAD_PARAMS: dict[str, Param] = {
    "head_hidden": Param([64], "int_list", "widths of the dense layers of the head", 1),
}


def check_targets(targets: Sequence[str], key: str = "training.targets") -> list[str]:
    """The targets as a list; ConfigError if empty, unknown or repeated."""
    targets = list(targets)
    if not targets:
        raise ConfigError(f"{key} = []: at least one of {', '.join(TARGET_DIMS)} is needed")
    for t in targets:
        if t not in TARGET_DIMS:
            raise ConfigError(f"{key}: unknown target {t!r}; allowed: {', '.join(TARGET_DIMS)}")
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{key} = {targets!r}: a target is listed twice")
    return targets


def mlp(in_features: int, hidden: Sequence[int], dropout: float = 0.0) -> tuple[nn.Sequential, int]:
    """Linear + GELU (+ dropout) layers of the given widths; returns (module, out_features)."""
    layers: list[nn.Module] = []
    prev = in_features
    for width in hidden:
        layers += [nn.Linear(prev, width), nn.GELU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        prev = width
    return nn.Sequential(*layers), prev


class RegressionHead(nn.Module):
    """Dense trunk (``hidden`` widths, GELU) followed by one linear layer per target."""

    def __init__(self, in_features: int, targets: Sequence[str], hidden: Sequence[int] = (64,), dropout: float = 0.0):
        super().__init__()
        self.targets = check_targets(targets)
        self.trunk, width = mlp(in_features, hidden, dropout)
        self.outputs = nn.ModuleDict({t: nn.Linear(width, TARGET_DIMS[t]) for t in self.targets})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(x)
        out = {}
        for t, layer in self.outputs.items():
            y = layer(h)
            out[t] = y.squeeze(-1) if TARGET_DIMS[t] == 1 else y
        return out
