"""The study configuration: loading, schema validation with defaults, and per-stage views.

The JSON schema (``airshower/schemas/config.schema.yaml``, also reachable as
``workflow/schemas/config.schema.yaml``) is the single source of truth for keys, types,
ranges and defaults. Snakemake validates the config with it; the CLI does the same when
called directly, through :func:`validate_config`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from airshower.errors import ConfigError
from airshower.layout import REPLICA_SEPARATOR
from airshower.sources.kinds import NO_TRUTH, OPTIONS, source_kind, source_options

SCHEMA_RESOURCE = "schemas/config.schema.yaml"
# dataset keys that belong to no one source: every source accepts them
COMMON_DATASET_KEYS = ("shards", "label")


def schema_path() -> Path:
    """Path of the config schema shipped inside the package."""
    return Path(str(resources.files("airshower").joinpath(SCHEMA_RESOURCE)))


def load_schema() -> dict[str, Any]:
    """The config schema as a dict (a fresh copy each call).

    The trainable targets (``training.targets`` and the keys of ``training.loss_weights``)
    come from the target registry, :data:`airshower.targets.TARGETS`: the schema file lists
    the built-in ones (for Snakemake's own validation and for readers), a target registered
    at run time is accepted too. Likewise the dataset sources (``datasets.<name>.source``)
    come from :data:`airshower.sources.kinds.OPTIONS`.
    """
    with open(schema_path(), encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    try:
        from airshower.targets import TARGETS as targets
    except ImportError as exc:  # no numpy: Snakemake's own environment planning the workflow, where
        # no target can have been registered; the schema file's list is the built-in targets
        if exc.name not in (None, "numpy"):
            raise
        targets = dict.fromkeys(schema["$defs"]["training"]["properties"]["targets"]["items"]["enum"])
    dataset = schema["$defs"]["dataset"]["properties"]
    dataset["source"]["enum"] = list(OPTIONS)
    for options in OPTIONS.values():  # a registered source's own keys: checked by the source
        for key in options:
            dataset.setdefault(key, {})
    training = schema["$defs"]["training"]["properties"]
    training["targets"]["items"]["enum"] = list(targets)
    weight = {"type": "number", "minimum": 0}
    training["loss_weights"]["properties"] = {name: dict(weight) for name in targets}
    _add_training_overrides(schema)
    return schema


def _add_training_overrides(schema: dict[str, Any]) -> None:
    """Check ``models.<name>.training`` against the ``training`` section, without its defaults.

    The schema file says only "an object" there; this adds ``$defs/training_override`` (the
    section's keys and rules, no defaults: absent keys keep the section's value) and refers the
    models' ``training`` to it, so that a misspelt override stops the validation of the config.
    """
    override = copy.deepcopy(schema["$defs"]["training"])
    override.pop("default", None)
    for prop in override["properties"].values():
        prop.pop("default", None)
    schema["$defs"]["training_override"] = override
    entry = schema["properties"]["models"]["additionalProperties"]["properties"]
    entry["training"] = {**entry["training"], "$ref": "#/$defs/training_override"}


def _extend_with_defaults(validator_class: type) -> type:
    """A validator class that fills in ``default`` values of properties while validating.

    Defaults are deep-copied so that filling nested defaults never mutates the schema.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _extend_with_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    """One line naming the key, the value and what is allowed."""
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = error.message.split("(")[-1].rstrip(")") if "(" in error.message else error.message
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key in '{key}': {extra}{hint}"
    if error.validator == "enum":
        return f"'{key}' = {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"'{key}' = {error.instance!r} is out of range; it must be {op[error.validator]} {error.validator_value}"
    if error.validator == "type":
        return f"'{key}' = {error.instance!r} has the wrong type; expected {error.validator_value}"
    if error.validator == "required":
        return f"'{key}' is missing a required key: {error.message}"
    return f"'{key}' = {error.instance!r}: {error.message}"


def validate_config(config: Mapping[str, Any], source: str = "config", partial: bool = False) -> dict[str, Any]:
    """Validate a config against the schema, fill in defaults, and check cross-key rules.

    ``partial`` is for the part of a config one stage reads (see :func:`stage_config`):
    rules that relate datasets to each other are then not checked.
    Returns a new dict (the input is not modified). Raises :class:`ConfigError` naming the
    source, the key, the value and what is allowed.
    """
    instance = copy.deepcopy(dict(config))
    validator = _DefaultingValidator(load_schema())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e) for e in errors)
        raise ConfigError(f"{source}: invalid configuration:\n  {lines}")
    _check_semantics(instance, source, partial)
    return instance


def _check_simulation(sim: Mapping[str, Any], where: str, source: str) -> None:
    lo, hi = sim["lg_energy"]
    if not lo < hi:
        raise ConfigError(f"{source}: '{where}.lg_energy' = {[lo, hi]!r}: the minimum must be below the maximum")
    if sum(sim["primaries"].values()) <= 0:
        raise ConfigError(f"{source}: '{where}.primaries' = {sim['primaries']!r}: at least one fraction must be > 0")


def _check_semantics(cfg: dict[str, Any], source: str, partial: bool) -> None:
    replica_like = [name for name in cfg["models"] if REPLICA_SEPARATOR in name]
    if replica_like:
        raise ConfigError(
            f"{source}: 'models' names {replica_like}: {REPLICA_SEPARATOR!r} names the replicas of a model "
            "(training.replicas); rename them"
        )
    _check_simulation(cfg["simulation"], "simulation", source)
    for name in cfg["datasets"]:
        _check_simulation(dataset_simulation(cfg, name), f"datasets.{name}.simulation", source)
    if cfg["convert"]["grid_size"] % 2 == 0:
        raise ConfigError(f"{source}: 'convert.grid_size' = {cfg['convert']['grid_size']} must be odd")
    for name, ds in cfg["datasets"].items():
        _check_dataset_source(name, ds, source)
        if "events" in ds and ds.get("shards", 1) > ds["events"]:
            raise ConfigError(
                f"{source}: 'datasets.{name}.shards' = {ds['shards']} exceeds its events ({ds['events']})"
            )
    if partial:
        return
    names = sorted(cfg["datasets"])
    if cfg["train_dataset"] not in cfg["datasets"]:
        raise ConfigError(f"{source}: 'train_dataset' = {cfg['train_dataset']!r} is not a key of 'datasets' ({names})")
    for name in cfg["test_datasets"]:
        if name not in cfg["datasets"]:
            raise ConfigError(f"{source}: 'test_datasets' names {name!r}, which is not a key of 'datasets' ({names})")
        if name == cfg["train_dataset"]:
            raise ConfigError(f"{source}: 'test_datasets' names the training dataset {name!r}; test on an independent set")
    for name in cfg.get("reconstruct_datasets", []):
        if name not in cfg["datasets"]:
            raise ConfigError(
                f"{source}: 'reconstruct_datasets' names {name!r}, which is not a key of 'datasets' ({names})"
            )
    for key, listed in (("train_dataset", [cfg["train_dataset"]]), ("test_datasets", cfg["test_datasets"])):
        for name in listed:
            kind = source_kind(cfg["datasets"][name])
            if kind in NO_TRUTH:
                raise ConfigError(
                    f"{source}: '{key}' names {name!r}, whose source {kind!r} has no Monte-Carlo truth to train or "
                    "evaluate on; list it under 'reconstruct_datasets'"
                )
    seeds: dict[int, str] = {}
    for name, ds in cfg["datasets"].items():
        if "seed" not in ds:
            continue
        if ds["seed"] in seeds:
            raise ConfigError(
                f"{source}: 'datasets.{name}.seed' = {ds['seed']} equals the seed of '{seeds[ds['seed']]}'; "
                "datasets must be simulated independently"
            )
        seeds[ds["seed"]] = name


def _check_dataset_source(name: str, ds: Mapping[str, Any], source: str) -> None:
    """A dataset holds the keys of its own source only (no ``events`` for files read from disk)."""
    kind = source_kind(ds)
    allowed = source_options(kind)
    # keys of every source: shards (a default for all) and label (the display name in figures)
    known = {key for options in OPTIONS.values() for key in options} - set(COMMON_DATASET_KEYS)
    foreign = [k for k in ds if k in known and k not in allowed]
    if foreign:
        raise ConfigError(
            f"{source}: 'datasets.{name}' has {foreign}, which source {kind!r} does not read "
            f"(its keys: {list(allowed)})"
        )


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it (defaults filled in)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values, got {type(raw).__name__}")
    return validate_config(raw, source=str(path))


def load_config_json(text: str) -> dict[str, Any]:
    """Validate a config passed as JSON text (how Snakemake rules hand a stage its params)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--config-json: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError("--config-json: must be a JSON object")
    return validate_config(raw, source="--config-json", partial=True)


def dataset_simulation(cfg: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """The simulation settings of one dataset: the global section with its overrides applied."""
    if dataset not in cfg["datasets"]:
        raise ConfigError(f"dataset {dataset!r} is not a key of 'datasets' ({sorted(cfg['datasets'])})")
    sim = copy.deepcopy(dict(cfg["simulation"]))
    sim.update(copy.deepcopy(cfg["datasets"][dataset].get("simulation", {})))
    return sim


def stage_config(cfg: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """The part of the config a stage reads (top-level keys), for a rule's ``params``.

    Passing only these keys means that changing any other value does not re-run the stage.
    """
    return {k: copy.deepcopy(cfg[k]) for k in keys if k in cfg}
