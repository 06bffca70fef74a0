"""The training settings of one model: the global ``training`` section with the model's overrides, checked once.

``models.<name>.training`` holds keys of the ``training`` section (schema ``$defs/training``)
that replace the global values for that model only. They are checked in one place, with the
rest of the config: :func:`airshower.config.validate_config` (its schema refers them to the
``training`` section without its defaults, ``$defs/training_override``), which every entry
point runs before these settings are made (the CLI, :func:`airshower.training.engine.train_model`,
the workflow when it loads).

:func:`training_settings` merges them (and checks the loss weights against the merged
targets, a rule across keys) and returns a frozen
:class:`TrainingSettings`; the engine, the loop and the data placement read its fields and
never the config again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from airshower.errors import ConfigError
from airshower.training.replicas import replica_count, replica_seed, split_replica


@dataclass(frozen=True)
class TrainingSettings:
    """The checked training settings of one model (every key of the schema's ``training`` section).

    Numbers are those of the config (the schema has checked their type and range); units:
    ``learning_rate`` per optimiser step, ``warmup_epochs`` in epochs (fractions allowed),
    ``device_data_limit_gb`` in GB (1e9 bytes), ``stream_chunk_events`` in events,
    ``budget_minutes`` in minutes (None: no time budget), ``budget_flops`` in FLOPs of
    training (forward and backward, :func:`airshower.training.loop.training_flops`; None: no
    FLOP budget), ``train_events`` in events (None: the whole training split). A replica ``m~k`` of model ``m``
    (:mod:`airshower.training.replicas`) has ``model_name`` ``m~k``, ``replica`` k, the
    entry of ``m``, ``seed`` derived from (``training.seed``, k) and ``split_seed`` the
    ``training.seed`` (for replica 0 both are ``training.seed``). The
    mappings are read-only views; :meth:`section_dict`, :meth:`entry_dict` and
    :meth:`spec_dict` give plain copies (for JSON, the checkpoint and the model builder).
    """

    model_name: str
    entry: Mapping[str, Any]  # the ``models.<name>`` entry, its ``training`` overrides included
    section: Mapping[str, Any]  # the merged ``training`` section as checked (fingerprint, provenance)
    epochs: int
    batch_size: int  # events per optimiser step over all processes
    learning_rate: float
    weight_decay: float
    optimizer: str
    momentum: float
    scheduler: str
    warmup_epochs: float
    min_lr_factor: float
    plateau_factor: float
    plateau_patience: int
    patience: int
    min_delta: float
    grad_clip: float
    targets: tuple[str, ...]
    loss_weights: Mapping[str, float]  # every trained target, in the order of ``targets`` (1 unless set)
    uncertainty: bool
    uncertainty_beta: float
    augment: bool
    compile: bool
    amp: str
    device_data_limit_gb: float
    stream_chunk_events: int
    seed: int  # initial weights, shuffling (seed + 1), augmentation (seed + 2): the replica's own
    val_fraction: float
    selection: Mapping[str, Any]  # events trained and validated on ({"t5": true}: the 6T5 events)
    budget_minutes: float | None = None  # training time budget [min]; None: epochs alone
    budget_flops: float | None = None  # training FLOP budget (forward + backward); None: no FLOP budget
    train_events: int | None = None  # events trained on (the first of the split's order); None: all
    replica: int = 0  # 0: the model itself; k > 0: the run ``model~k``
    replicas: int = 1  # runs of the model (``training.replicas``; not in ``section``: no setting of one run)
    split_seed: int | None = None  # seed of the validation split (``training.seed``; None: ``seed``)

    @property
    def budget_s(self) -> float | None:
        """The time budget in seconds (None without one)."""
        return None if self.budget_minutes is None else 60.0 * float(self.budget_minutes)

    @property
    def validation_seed(self) -> int:
        """The seed of the validation split, the same for every replica of a model."""
        return self.seed if self.split_seed is None else self.split_seed

    def section_dict(self) -> dict[str, Any]:
        """A plain copy of the merged ``training`` section."""
        return copy.deepcopy(dict(self.section))

    def entry_dict(self) -> dict[str, Any]:
        """A plain copy of the ``models.<name>`` entry."""
        return copy.deepcopy(dict(self.entry))

    def spec_dict(self) -> dict[str, Any]:
        """The architecture part of the model entry (everything except its ``training`` overrides)."""
        return {k: v for k, v in self.entry_dict().items() if k != "training"}


def _model_entry(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The ``models.<model_name>`` entry of the config; a clear error when the model is not there."""
    models = config.get("models") or {}
    if model_name not in models:
        raise ConfigError(
            f"model {model_name!r} is not a key of 'models' in the config; the config names {sorted(models)}"
        )
    return copy.deepcopy(dict(models[model_name]))


def _merged_section(config: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """``training`` with the entry's ``training`` overrides merged over it (both checked by the config's validation),
    without ``replicas`` (how many runs there are is no setting of one run: raising it keeps each run's fingerprint)."""
    merged = copy.deepcopy(dict(config["training"]))
    merged.update(copy.deepcopy(dict(entry.get("training") or {})))
    merged.pop("replicas", None)
    return merged


def _loss_weights(section: Mapping[str, Any], model_name: str) -> dict[str, float]:
    """Weight of each trained target in the loss (1 unless ``training.loss_weights`` says otherwise)."""
    for name in section["loss_weights"]:
        if name not in section["targets"]:
            raise ConfigError(
                f"'training.loss_weights' names {name!r} (model {model_name!r}), which is not one of the "
                f"trained targets {section['targets']}"
            )
    weights = {t: float(section["loss_weights"].get(t, 1.0)) for t in section["targets"]}
    if sum(weights.values()) <= 0:
        raise ConfigError(f"'training.loss_weights' of model {model_name!r}: all trained targets weigh 0")
    return weights


def training_settings(config: Mapping[str, Any], model_name: str) -> TrainingSettings:
    """The training settings of ``model_name``: ``training`` with ``models.<name>.training`` merged over it.

    ``model_name`` may name a replica ``m~k`` of a model ``m`` (:mod:`airshower.training.replicas`):
    the settings of ``m`` with the replica's seed. ``config`` must be validated
    (:func:`airshower.config.validate_config`: defaults filled, the overrides checked). Raises
    :class:`ConfigError` naming the key when a loss weight names a target that is not trained,
    or when the model is not in ``models``.
    """
    models = config.get("models") or {}
    base, replica = (model_name, 0) if model_name in models else split_replica(model_name)
    entry = _model_entry(config, base)
    s = _merged_section(config, entry)
    weights = _loss_weights(s, model_name)
    split_seed = int(s["seed"])
    seed = replica_seed(split_seed, replica)
    if replica:
        s["replica"] = replica  # in the fingerprint and the provenance: the run is this replica
        s["replica_seed"] = seed
    return TrainingSettings(
        model_name=model_name,
        entry=MappingProxyType(entry),
        section=MappingProxyType(s),
        epochs=int(s["epochs"]),
        batch_size=int(s["batch_size"]),
        learning_rate=s["learning_rate"],
        weight_decay=s["weight_decay"],
        optimizer=str(s["optimizer"]),
        momentum=s["momentum"],
        scheduler=str(s["scheduler"]),
        warmup_epochs=s["warmup_epochs"],
        min_lr_factor=float(s["min_lr_factor"]),
        plateau_factor=float(s["plateau_factor"]),
        plateau_patience=int(s["plateau_patience"]),
        patience=int(s["patience"]),
        min_delta=s["min_delta"],
        grad_clip=float(s["grad_clip"]),
        targets=tuple(s["targets"]),
        loss_weights=MappingProxyType(weights),
        uncertainty=bool(s["uncertainty"]),
        uncertainty_beta=float(s["uncertainty_beta"]),
        augment=bool(s["augment"]),
        compile=bool(s["compile"]),
        amp=str(s["amp"]),
        device_data_limit_gb=s["device_data_limit_gb"],
        stream_chunk_events=int(s["stream_chunk_events"]),
        seed=seed,
        val_fraction=s["val_fraction"],
        selection=MappingProxyType(dict(s["selection"])),
        budget_minutes=None if s.get("budget_minutes") is None else float(s["budget_minutes"]),
        budget_flops=None if s.get("budget_flops") is None else float(s["budget_flops"]),
        train_events=None if s.get("train_events") is None else int(s["train_events"]),
        replica=replica,
        replicas=replica_count(config, base),
        split_seed=split_seed,
    )
