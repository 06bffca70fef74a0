"""Common base of the architectures: declared hyperparameters and the (batch -> dict) contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from airshower.batch import Batch
from airshower.models.heads import RegressionHead, check_targets
from airshower.models.hyperparams import Param
from airshower.models.packing import StaticShapes
from airshower.models.specs import ARCHITECTURES


class AirshowerModel(StaticShapes, nn.Module):
    """A network that takes one :class:`~airshower.batch.Batch` and returns named predictions.

    Subclasses declare ``TYPE`` (the config's ``type``) and take ``HYPERPARAMETERS`` and
    ``SUPPORTS_UNCERTAINTY`` from its entry of :data:`airshower.models.specs.ARCHITECTURES`
    (declared there without torch, so that a config is checked without it); the registry
    validates a config entry against them and calls ``cls(grid_size, trace_bins, targets,
    uncertainty=..., **hyperparameters)``. ``self.hyperparameters`` keeps the
    resolved values (for provenance records). ``uncertainty``: the head also returns a
    log-variance per target (:class:`~airshower.models.heads.RegressionHead`); a class that
    cannot give one sets ``SUPPORTS_UNCERTAINTY = False`` and the registry refuses the request.
    ``static_shapes`` (:func:`~airshower.models.packing.set_static_shapes`): the forward pass
    keeps shapes independent of the data, for ``torch.compile``.
    """

    TYPE: ClassVar[str] = ""
    HYPERPARAMETERS: ClassVar[Mapping[str, Param]] = {}
    SUPPORTS_UNCERTAINTY: ClassVar[bool] = True

    def __init__(
        self,
        grid_size: int,
        trace_bins: int,
        targets: Sequence[str],
        uncertainty: bool = False,
        **hyperparameters: Any,
    ) -> None:
        super().__init__()
        self.grid_size = int(grid_size)
        self.trace_bins = int(trace_bins)
        self.targets = check_targets(targets)
        self.uncertainty = bool(uncertainty)
        self.hyperparameters = dict(hyperparameters)

    def make_head(self, in_features: int, hidden: Sequence[int], dropout: float) -> RegressionHead:
        """The regression head of this network's targets (with log-variances when ``uncertainty``)."""
        return RegressionHead(in_features, self.targets, hidden, dropout, uncertainty=self.uncertainty)

    @classmethod
    def constraints(cls, hp: dict[str, Any], grid_size: int, trace_bins: int) -> list[tuple[str, str]]:
        """Violations of rules that tie hyperparameters together: (key, message) pairs (the rules
        of the architecture's entry in :data:`~airshower.models.specs.ARCHITECTURES`)."""
        arch = ARCHITECTURES.get(cls.TYPE)
        return arch.constraints(hp, grid_size, trace_bins) if arch is not None else []

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError
