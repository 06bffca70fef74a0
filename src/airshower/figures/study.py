"""What the paper figures read: every model's training record, metrics and nominal predictions.

Layout under ``results/{study}/`` (:mod:`airshower.layout`):

* ``models/{model}/history.csv`` (per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr``, ``elapsed_s``,
  ``seconds``, ``events_per_s``) and ``models/{model}/train_info.json`` (``parameters``,
  ``flops_per_event``, ``training_flops``, ``train_events``, ``training_time_s``, ``wall_time_s``,
  ``device``, ``processes``, ``epochs_run``, ``best_epoch``, ...), written by :mod:`airshower.training.engine`;
* ``metrics/{dataset}/{model}.json`` (:mod:`airshower.evaluation.metrics`);
* ``predictions/{dataset}/{model}.h5`` (:mod:`airshower.evaluation.prediction_file`).

A model trained several times (``training.replicas``, :mod:`airshower.training.replicas`)
has its replicas ``{model}~k`` beside it: their training records and metrics are read into
:attr:`ModelRecord.replicas` (no predictions); the figures with one curve per model draw
replica 0 (the model itself), the summary tables aggregate them all.

The first test dataset is the nominal one; figures of single events and distributions use it.
Figures and tables name models and datasets by their display labels (:mod:`airshower.figures.labels`),
in the config's order.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from airshower.errors import InputFileError
from airshower.evaluation.metrics import read_metrics, select_events
from airshower.evaluation.prediction_file import Predictions, read_predictions
from airshower.io.files import read_json, require_file
from airshower.targets import TARGETS

# train_info.json: the quantity -> keys it may be stored under (first found wins)
TRAIN_INFO_KEYS: dict[str, tuple[str, ...]] = {
    "parameters": ("parameters", "n_parameters", "params"),
    "flops_per_event": ("flops_per_event", "flops"),
    # time spent in the epochs (summed over resumed runs), else the last run's wall time
    "wall_time_s": ("training_time_s", "wall_time_s"),
    "epochs": ("epochs_run", "epochs"),
    "best_epoch": ("best_epoch",),
    "device": ("device",),
    "n_devices": ("processes", "world_size"),
    "type": ("type",),
    # total forward + backward FLOPs of the training (None in records written before it was kept)
    "training_flops": ("training_flops",),
    "train_events": ("train_events",),  # events trained on
}


@dataclass
class ModelRecord:
    """One trained model of the study."""

    name: str
    index: int  # position in the study's model list (sets its colour)
    info: dict[str, Any]
    history: dict[str, np.ndarray]
    metrics: dict[str, dict[str, Any]]  # dataset -> metrics
    predictions: Predictions | None = None  # on the nominal dataset
    label: str = ""  # display name in legends and tables (the name when empty)
    replicas: list[ModelRecord] = field(default_factory=list)  # replicas 1..N-1 (training records, metrics)

    @property
    def runs(self) -> list[ModelRecord]:
        """Every replica of the model, itself (replica 0) first."""
        return [self, *self.replicas]

    def __post_init__(self) -> None:
        self.label = self.label or self.name

    def train(self, quantity: str) -> Any:
        """A quantity of ``train_info.json`` by its canonical name (None when not recorded)."""
        for key in TRAIN_INFO_KEYS.get(quantity, (quantity,)):
            if key in self.info and self.info[key] is not None:
                return self.info[key]
        return None

    @property
    def wall_hours(self) -> float | None:
        seconds = self.train("wall_time_s")
        if seconds is None and "seconds" in self.history:
            seconds = float(np.nansum(self.history["seconds"]))
        return None if seconds is None else float(seconds) / 3600.0

    @property
    def on_gpu(self) -> bool:
        """Trained on GPUs: the trainer names the GPU model as device, a CPU as ``cpu (...)``."""
        device = str(self.train("device") or "").strip().lower()
        return bool(device) and not device.startswith("cpu")

    @property
    def device_hours(self) -> float | None:
        """Wall time x devices used [h]: GPU hours when trained on GPUs (see :attr:`on_gpu`)."""
        hours = self.wall_hours
        if hours is None:
            return None
        return hours * float(self.train("n_devices") or 1)

    def predicts(self, target: str) -> bool:
        return any(target in m.get("quantities", {}) for m in self.metrics.values())


@dataclass
class Study:
    """All inputs of the paper figures."""

    name: str
    datasets: list[str]  # nominal first
    models: list[ModelRecord]
    tensor_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    dataset_labels: dict[str, str] = field(default_factory=dict)  # display names (the name when absent)

    @property
    def nominal(self) -> str:
        return self.datasets[0]

    def dataset_label(self, dataset: str) -> str:
        """Display name of a test dataset."""
        return self.dataset_labels.get(dataset) or dataset


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a ``history.csv`` as float arrays (non-numeric cells become NaN)."""
    path = require_file(path, "training history", "train")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    columns: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = []
        for row in rows:
            try:
                values.append(float(row[key]))
            except (TypeError, ValueError):
                values.append(math.nan)
        columns[key] = np.asarray(values)
    if "epoch" not in columns:
        raise InputFileError(f"{path}: column 'epoch' is missing (columns: {list(columns)})")
    return columns


def read_train_info(path: str | Path) -> dict[str, Any]:
    """``train_info.json`` as a dict."""
    info = read_json(path, "train_info.json", "train")
    if not isinstance(info, dict):
        raise InputFileError(f"{path}: expected a JSON object")
    return info


def load_study(
    results: str | Path,
    models: Sequence[str],
    datasets: Sequence[str],
    tensor_file: str | Path | None = None,
    name: str | None = None,
    model_labels: Mapping[str, str] | None = None,
    dataset_labels: Mapping[str, str] | None = None,
    selection: Mapping[str, Any] | None = None,
    replicas: Mapping[str, int] | None = None,
) -> Study:
    """Read every model's training record, metrics on each dataset, and nominal predictions.

    ``replicas``: model -> number of replicas N (default 1); the training records and metrics
    of replicas 1..N-1 (``{model}~k``) go into :attr:`ModelRecord.replicas`.

    ``selection``: the events of the predictions kept (``evaluation.selection``, e.g. 6T5),
    as the metrics keep them.

    ``model_labels`` and ``dataset_labels`` (name -> display name, e.g. from
    :func:`airshower.figures.labels.labels_from_config`): a model without one is labelled
    by the architecture its ``train_info.json`` records, a dataset by its name.
    """
    from airshower.figures.labels import model_labels as default_labels
    results = Path(results)
    if not models:
        raise InputFileError("no models to draw: the study's 'models' section is empty")
    if not datasets:
        raise InputFileError("no test datasets to draw: 'test_datasets' is empty")
    from airshower.training.replicas import replica_name

    records = []
    for i, model in enumerate(models):
        record = _read_run(results, model, i, datasets)
        record.predictions = select_events(
            read_predictions(results / "predictions" / datasets[0] / f"{model}.h5"), selection)
        n = int((replicas or {}).get(model, 1))
        record.replicas = [_read_run(results, replica_name(model, k), i, datasets) for k in range(1, n)]
        records.append(record)
    given = dict(model_labels or {})
    defaults = default_labels([r.name for r in records], {r.name: r.train("type") for r in records})
    for r in records:
        r.label = given.get(r.name) or defaults[r.name]
    return Study(
        name=name or results.name,
        datasets=list(datasets),
        models=records,
        tensor_file=Path(tensor_file) if tensor_file else None,
        dataset_labels={ds: (dataset_labels or {}).get(ds) or ds for ds in datasets},
    )


def _read_run(results: Path, run: str, index: int, datasets: Sequence[str]) -> ModelRecord:
    """The training record and metrics of one run (a model or one of its replicas), no predictions."""
    mdir = results / "models" / run
    metrics = {ds: read_metrics(results / "metrics" / ds / f"{run}.json") for ds in datasets}
    for ds, m in metrics.items():
        if m["model"] != run or m["dataset"] != ds:
            raise InputFileError(
                f"{results / 'metrics' / ds / f'{run}.json'}: holds model {m['model']!r} on "
                f"{m['dataset']!r}, expected {run!r} on {ds!r}"
            )
    return ModelRecord(name=run, index=index, info=read_train_info(mdir / "train_info.json"),
                       history=read_history(mdir / "history.csv"), metrics=metrics)


def quantity(metrics: Mapping[str, Any], target: str, block: str | None = None) -> Any:
    """``quantities[target]`` of one metrics dict, or its ``block`` (e.g. ``merit_factor``); None when absent."""
    q = metrics.get("quantities", {}).get(target)
    if q is None or block is None:
        return q
    return q.get(block)


def xmax_entries(metrics: Mapping[str, Any], primary: str = "all") -> list[dict[str, Any]] | None:
    """The Xmax ``bins`` list of one metrics dict and primary (None if Xmax is not reconstructed)."""
    return target_entries(metrics, "xmax", primary)


def target_entries(metrics: Mapping[str, Any], target: str, primary: str = "all") -> list[dict[str, Any]] | None:
    """The energy ``bins`` of a target's residual for one primary (None if the target is not reconstructed)."""
    q = quantity(metrics, target)
    return None if q is None else q["per_primary"][primary]["bins"]


def block_entries(metrics: Mapping[str, Any], target: str, block: str) -> list[dict[str, Any]] | None:
    """The ``bins`` of a target's ``vs_zenith``, ``merit_factor`` or ``calibration`` block (None if absent)."""
    b = quantity(metrics, target, block)
    return None if b is None else b["bins"]


def true_merit_factor(entry: Mapping[str, Any]) -> float | None:
    """The ``true`` merit factor of a merit-factor entry: ``inf`` where the truth has no spread
    within a primary (ln A: ``true_infinite``, :func:`airshower.evaluation.merit.binned_merit_factor`),
    None without events."""
    if entry.get("true_infinite"):
        return math.inf
    value = entry.get("true")
    return None if value is None else float(value)


def resolution_stat(target: str, stat: str) -> str:
    """The resolution statistic shown for a target: ``stat`` where it has it, else its first non-bias one (q68)."""
    stats = TARGETS[target].statistics
    return stat if stat in stats else next((s for s in stats if s != "bias"), stats[0])
