"""Regression heads: a shared dense trunk and one linear output per target.

Predictions are in normalised units (the trainer standardises each target component), one
entry per target of :mod:`airshower.targets`, shaped (B,) for a scalar and (B, k) for a
k-component target (``axis`` (B, 3), ``core`` (B, 2)). With ``uncertainty`` the head also
returns, per target, the log-variance of a Gaussian per component in the same standardised
units under the key :func:`airshower.targets.sigma_key` (``xmax_logvar``, ...): the network's
per-event uncertainty, trained with the Gaussian negative log-likelihood
(:mod:`airshower.training.loop`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from airshower.errors import ConfigError
from airshower.models.specs import HEAD_PARAMS  # noqa: F401  (declared without torch; re-exported)
from airshower.targets import TARGETS, sigma_key

# Range of the predicted log-variance in standardised units: sigma between 0.0067 and 148
# standard deviations of the training targets (keeps exp() finite under bf16 and the NLL
# from rewarding a collapse of sigma on a few events).
LOGVAR_MIN, LOGVAR_MAX = -10.0, 10.0


def check_targets(targets: Sequence[str], key: str = "training.targets") -> list[str]:
    """The targets as a list; ConfigError if empty, unknown or repeated."""
    targets = list(targets)
    if not targets:
        raise ConfigError(f"{key} = []: at least one of {', '.join(TARGETS)} is needed")
    for t in targets:
        if t not in TARGETS:
            raise ConfigError(f"{key}: unknown target {t!r}; allowed: {', '.join(TARGETS)}")
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
    """Dense trunk (``hidden`` widths, GELU) followed by one linear layer per target.

    With ``uncertainty`` each target's layer has twice the outputs: the value and the
    log-variance of each component (clamped to [:data:`LOGVAR_MIN`, :data:`LOGVAR_MAX`]).
    """

    def __init__(
        self,
        in_features: int,
        targets: Sequence[str],
        hidden: Sequence[int] = (64,),
        dropout: float = 0.0,
        uncertainty: bool = False,
    ):
        super().__init__()
        self.targets = check_targets(targets)
        self.uncertainty = bool(uncertainty)
        self.trunk, width = mlp(in_features, hidden, dropout)
        factor = 2 if self.uncertainty else 1
        self.outputs = nn.ModuleDict({t: nn.Linear(width, factor * TARGETS[t].components) for t in self.targets})
        self.scalar = {t: TARGETS[t].shape == () for t in self.targets}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(x)
        out = {}
        for t, layer in self.outputs.items():
            y = layer(h)
            if self.uncertainty:
                y, logvar = y.chunk(2, dim=-1)
                logvar = logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
                out[sigma_key(t)] = logvar.squeeze(-1) if self.scalar[t] else logvar
            out[t] = y.squeeze(-1) if self.scalar[t] else y
        return out
