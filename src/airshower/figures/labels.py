"""Display labels of the models and test datasets: what legends, titles and tables show.

The config names (``lstm_hexcnn``, ``test_qgsjet``) are file names; figures and tables show
a label instead:

* a model: ``models.<name>.label`` where the config sets it, else the label of its
  architecture (:data:`TYPE_LABELS`, e.g. ``lstm_hexcnn`` -> "LSTM + hex CNN");
* a dataset: ``datasets.<name>.label`` where set, else from its settings: for a simulated
  dataset the overrides of the global ``simulation`` section (``hadronic_model`` ->
  "QGSJetII-04", ``muon_scale: 1.33`` -> "muon scale 1.33", ...) or, without overrides,
  the hadronic model of the study ("EPOS-LHC"); a dataset read from files: its name.

Two models (or datasets) that would get the same label are told apart by their config name
in brackets, e.g. "Hex CNN (hexcnn_mse)". Pure Python (no matplotlib): the CLI resolves the
labels before anything is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airshower.sources.kinds import source_kind

# the label of each architecture of the model registry (config ``models.<name>.type``)
TYPE_LABELS = {
    "hexcnn": "Hex CNN",
    "lstm_hexcnn": "LSTM + hex CNN",
    "vit": "Vision transformer",
    "temporal": "Temporal transformer",
    "perceiver": "Perceiver",
}
# how an override of the simulation settings names a dataset: key -> text of its value
SIMULATION_TEXT = {
    "hadronic_model": lambda v: str(v),
    "muon_scale": lambda v: f"muon scale {v:g}",
    "electronics": lambda v: str(v).upper(),
    "dead_fraction": lambda v: f"{100 * v:g}% dead stations",
    "max_zenith_deg": lambda v: f"zenith < {v:g} deg",
    "lg_energy": lambda v: f"lg(E/eV) {v[0]:g}-{v[1]:g}",
    "trace_bins": lambda v: f"{v} trace bins",
    "curvature": lambda v: f"curvature {v}",
}


def default_model_label(name: str, kind: str | None) -> str:
    """The label of a model without one of its own: its architecture's, else its name."""
    return TYPE_LABELS.get(str(kind), name) if kind else name


def _unique(labels: dict[str, str]) -> dict[str, str]:
    """The labels, with the config name added in brackets to each label that is not unique."""
    count: dict[str, int] = {}
    for label in labels.values():
        count[label] = count.get(label, 0) + 1
    return {name: label if count[label] == 1 or label == name else f"{label} ({name})"
            for name, label in labels.items()}


def model_labels(models: Mapping[str, Any] | Iterable[str], kinds: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Label of each model, in the given order.

    ``models``: the config's ``models`` section (name -> entry with ``type`` and optional
    ``label``) or just names; ``kinds``: name -> architecture for entries that do not say
    (e.g. the ``type`` a model's ``train_info.json`` records).
    """
    entries = models if isinstance(models, Mapping) else {name: {} for name in models}
    kinds = kinds or {}
    labels = {}
    for name, entry in entries.items():
        entry = entry if isinstance(entry, Mapping) else {}
        labels[name] = entry.get("label") or default_model_label(name, entry.get("type") or kinds.get(name))
    explicit = {name for name, entry in entries.items() if isinstance(entry, Mapping) and entry.get("label")}
    unique = _unique(labels)
    return {name: labels[name] if name in explicit else unique[name] for name in labels}


def _value_text(key: str, value: Any) -> str:
    text = SIMULATION_TEXT.get(key)
    try:
        return text(value) if text else f"{key.replace('_', ' ')} {value}"
    except (TypeError, ValueError, IndexError):
        return f"{key.replace('_', ' ')} {value}"


def default_dataset_label(name: str, entry: Mapping[str, Any] | None, simulation: Mapping[str, Any] | None) -> str:
    """The label of a dataset without one of its own (see the module docstring)."""
    if not entry or source_kind(entry) != "simulate":
        return name
    simulation = simulation or {}
    overrides = {k: v for k, v in (entry.get("simulation") or {}).items() if simulation.get(k) != v}
    if not overrides:
        return str(simulation.get("hadronic_model") or name)
    return ", ".join(_value_text(k, v) for k, v in overrides.items())


def dataset_labels(names: Iterable[str], datasets: Mapping[str, Any] | None = None,
                   simulation: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Label of each named dataset (``datasets``: the config's section; a name not in it keeps its name)."""
    datasets = datasets or {}
    labels, explicit = {}, set()
    for name in names:
        entry = datasets.get(name)
        if isinstance(entry, Mapping) and entry.get("label"):
            labels[name] = str(entry["label"])
            explicit.add(name)
        else:
            labels[name] = default_dataset_label(name, entry if isinstance(entry, Mapping) else None, simulation)
    unique = _unique(labels)
    return {name: labels[name] if name in explicit else unique[name] for name in labels}


def labels_from_config(config: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(model labels, test dataset labels) of a study config, in its order (``models``, ``test_datasets``)."""
    return (
        model_labels(config["models"]),
        dataset_labels(config["test_datasets"], config.get("datasets"), config.get("simulation")),
    )
