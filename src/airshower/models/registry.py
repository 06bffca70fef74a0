"""Build a network by name from its config entry ``models.<name>``.

``MODEL_TYPES`` maps the config's ``type`` to the class; adding a model to a study is a
config change. What each architecture accepts is declared in :mod:`airshower.models.specs`
(no torch: the workflow checks a config with it when it loads); unknown keys and bad values
raise :class:`~airshower.errors.ConfigError` naming ``models.<name>.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airshower.errors import ConfigError
from airshower.models.base import AirshowerModel
from airshower.models.heads import check_targets
from airshower.models.hexcnn import HexCNN
from airshower.models.lstm_hexcnn import LSTMHexCNN
from airshower.models.perceiver import Perceiver
from airshower.models.specs import IGNORED_KEYS, check_model_entries, hyperparameter_table  # noqa: F401
from airshower.models.specs import check_uncertainty as _check_uncertainty
from airshower.models.specs import resolve_hyperparameters
from airshower.models.temporal import TemporalTransformer
from airshower.models.vit import SpatialViT

MODEL_TYPES: dict[str, type[AirshowerModel]] = {
    cls.TYPE: cls for cls in (HexCNN, LSTMHexCNN, SpatialViT, TemporalTransformer, Perceiver)
}


def build_model(
    name: str,
    spec: Mapping[str, Any],
    grid_size: int,
    trace_bins: int,
    targets: Sequence[str],
    uncertainty: bool = False,
) -> AirshowerModel:
    """The network of config entry ``models.<name>`` for G x G windows of T-bin traces.

    ``spec`` holds ``type`` (a key of :data:`MODEL_TYPES`), an optional ``training``
    sub-dict (ignored here) and the architecture's hyperparameters. ``targets`` are the
    predicted quantities (names of :data:`airshower.targets.TARGETS`); the model returns
    exactly these, and with ``uncertainty`` also their log-variances (``<target>_logvar``).
    """
    if not isinstance(grid_size, int) or grid_size < 3 or grid_size % 2 == 0:
        raise ConfigError(f"convert.grid_size = {grid_size!r}: expected an odd integer >= 3")
    if not isinstance(trace_bins, int) or trace_bins < 1:
        raise ConfigError(f"simulation.trace_bins = {trace_bins!r}: expected an integer >= 1")
    targets = check_targets(targets)
    hp = resolve_hyperparameters(name, spec, grid_size, trace_bins)
    check_uncertainty(name, spec["type"], uncertainty)
    cls = MODEL_TYPES[spec["type"]]
    return cls(grid_size, trace_bins, targets, uncertainty=bool(uncertainty), **hp)


def check_uncertainty(name: str, kind: str, uncertainty: bool) -> None:
    """Refuse ``training.uncertainty`` for model ``name`` when its architecture ``kind`` has no
    uncertainty head (the class's ``SUPPORTS_UNCERTAINTY``)."""
    _check_uncertainty(name, kind, uncertainty, {k: c.SUPPORTS_UNCERTAINTY for k, c in MODEL_TYPES.items()})
