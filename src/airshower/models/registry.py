"""Build a network by name from its config entry ``models.<name>``.

``MODEL_TYPES`` maps the config's ``type`` to the class; adding a model to a study is a
config change. Each class documents its hyperparameters (``HYPERPARAMETERS``, see
:func:`hyperparameter_table`); unknown keys and bad values raise
:class:`~airshower.errors.ConfigError` naming ``models.<name>.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airshower.errors import ConfigError
from airshower.models.base import AirshowerModel
from airshower.models.heads import check_targets
from airshower.models.hexcnn import HexCNN
from airshower.models.hyperparams import describe, resolve
from airshower.models.lstm_hexcnn import LSTMHexCNN
from airshower.models.perceiver import Perceiver
from airshower.models.temporal import TemporalTransformer
from airshower.models.vit import SpatialViT

MODEL_TYPES: dict[str, type[AirshowerModel]] = {
    cls.TYPE: cls for cls in (HexCNN, LSTMHexCNN, SpatialViT, TemporalTransformer, Perceiver)
}
IGNORED_KEYS = ("type", "training")


def resolve_hyperparameters(name: str, spec: Mapping[str, Any], grid_size: int, trace_bins: int) -> dict[str, Any]:
    """The validated hyperparameters of config entry ``models.<name>`` (defaults filled in)."""
    prefix = f"models.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{prefix} = {spec!r}: expected a mapping with a 'type' key")
    if "type" not in spec:
        raise ConfigError(f"{prefix}: missing 'type'; allowed: {', '.join(MODEL_TYPES)}")
    kind = spec["type"]
    if kind not in MODEL_TYPES:
        raise ConfigError(f"{prefix}.type = {kind!r}: unknown architecture; allowed: {', '.join(MODEL_TYPES)}")
    cls = MODEL_TYPES[kind]
    hp = resolve(cls.HYPERPARAMETERS, spec, prefix, ignore=IGNORED_KEYS)
    problems = cls.constraints(hp, grid_size, trace_bins)
    if problems:
        key, message = problems[0]
        raise ConfigError(f"{prefix}.{key} = {hp[key]!r}: {message}")
    return hp


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
    """Refuse ``training.uncertainty`` for model ``name`` when its architecture ``kind`` has no uncertainty head."""
    if uncertainty and not MODEL_TYPES[kind].SUPPORTS_UNCERTAINTY:
        raise ConfigError(
            f"models.{name}: training.uncertainty = true, but architecture {kind!r} has no "
            f"uncertainty head; allowed with: {', '.join(k for k, c in MODEL_TYPES.items() if c.SUPPORTS_UNCERTAINTY)}"
        )


def check_model_entries(config: Mapping[str, Any], source: str = "config") -> None:
    """Check every entry of ``models`` of a validated study config as training will build it.

    Each model's hyperparameters against its architecture (unknown keys, bad values, rules that
    tie them together, for the study's window ``convert.grid_size`` and the training dataset's
    ``trace_bins``) and its ``training.uncertainty`` against the architecture. The workflow calls
    this when it loads, so that a misspelt key stops ``snakemake -n`` instead of the train jobs
    after simulation and conversion. Raises :class:`ConfigError`, one line: the source, then
    ``models.<name>.<key>``, the value and what is allowed.
    """
    from airshower.config import dataset_simulation

    grid_size = int(config["convert"]["grid_size"])
    trace_bins = int(dataset_simulation(config, config["train_dataset"])["trace_bins"])
    for name, spec in config["models"].items():
        try:
            resolve_hyperparameters(name, spec, grid_size, trace_bins)
            overrides = spec.get("training") or {}
            check_uncertainty(name, spec["type"], overrides.get("uncertainty", config["training"]["uncertainty"]))
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None


def hyperparameter_table(kind: str) -> str:
    """Text description of the hyperparameters of architecture ``kind`` (for docs and --help)."""
    if kind not in MODEL_TYPES:
        raise ConfigError(f"unknown architecture {kind!r}; allowed: {', '.join(MODEL_TYPES)}")
    return describe(MODEL_TYPES[kind].HYPERPARAMETERS)
