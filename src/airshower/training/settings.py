"""The training settings of one model: the global ``training`` section with the model's overrides.

``models.<name>.training`` holds keys of the ``training`` section (schema ``$defs/training``)
that replace the global values for that model only. The overrides are checked here against
that section, because the schema itself only says "an object" for them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonschema

from airshower.config import load_schema
from airshower.errors import ConfigError


def _training_validator() -> jsonschema.protocols.Validator:
    """A validator of the training section that fills in nothing (overrides stay partial)."""
    schema = load_schema()
    root = {"$ref": "#/$defs/training", "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(root)


def _describe(error: jsonschema.ValidationError, where: str) -> str:
    path = ".".join([where, *(str(p) for p in error.absolute_path)])
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        return f"'{path}': {error.message}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"'{path}' = {error.instance!r} is not allowed; choose one of {error.validator_value}"
    return f"'{path}' = {error.instance!r}: {error.message}"


def model_entry(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The ``models.<model_name>`` entry of the config; a clear error when the model is not there."""
    models = config.get("models") or {}
    if model_name not in models:
        raise ConfigError(
            f"model {model_name!r} is not a key of 'models' in the config; the config names {sorted(models)}"
        )
    return copy.deepcopy(dict(models[model_name]))


def model_spec(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The architecture part of a model entry (everything except its ``training`` overrides)."""
    return {k: v for k, v in model_entry(config, model_name).items() if k != "training"}


def resolve_training(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The training settings of ``model_name``: ``training`` with ``models.<name>.training`` merged over it.

    ``config`` must be validated (defaults filled). Raises :class:`ConfigError` naming the
    key when an override is not a key of the training section or has a bad value, when a
    loss weight names a target that is not trained, or when the model is not in ``models``.
    """
    entry = model_entry(config, model_name)
    overrides = entry.get("training") or {}
    where = f"models.{model_name}.training"
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"'{where}' must be a mapping of training keys to values, got {overrides!r}")
    validator = _training_validator()
    errors = sorted(validator.iter_errors(dict(overrides)), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e, where) for e in errors)
        raise ConfigError(f"invalid per-model training overrides:\n  {lines}")
    merged = copy.deepcopy(dict(config["training"]))
    merged.update(copy.deepcopy(dict(overrides)))
    errors = sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e, "training") for e in errors)
        raise ConfigError(f"invalid training settings of model {model_name!r}:\n  {lines}")
    for name in merged["loss_weights"]:
        if name not in merged["targets"]:
            raise ConfigError(
                f"'training.loss_weights' names {name!r} (model {model_name!r}), which is not one of the "
                f"trained targets {merged['targets']}"
            )
    if sum(merged["loss_weights"].get(t, 1.0) for t in merged["targets"]) <= 0:
        raise ConfigError(f"'training.loss_weights' of model {model_name!r}: all trained targets weigh 0")
    return merged
