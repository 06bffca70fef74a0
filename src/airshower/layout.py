"""Where a study's files live: the one definition of the ``data/`` and ``results/`` layout.

Paths are relative to the folder the workflow runs in (the checkout), so a study moved with
its checkout finds its files where it left them. Data belong to a study: two studies may
name a dataset ``test`` with different settings without touching each other's events.

::

    data/{study}/sim/{dataset}/{shard}.root          events files of a simulated dataset
    data/{study}/tensors/{dataset}.h5                tensor file of a dataset (any source)
    results/{study}/models/{model}/                  model.pt, history.csv, train_info.json, provenance.json
                                                     (replica k > 0 of a model: {model}~{k}, here and below)
    results/{study}/.state/train/{model}/            resumable training state
    results/{study}/predictions/{dataset}/{model}.h5 predictions of a model on a test dataset
    results/{study}/metrics/{dataset}/{model}.json   metrics of those predictions
    results/{study}/reconstructed/{dataset}/{model}.h5  per-event reconstruction of a dataset without truth
    results/{study}/figures/                         figures and tables
    results/{study}/validation/                      validation figures of the simulation
    logs/{study}/{stage}/...                         one log per job

The workflow's rules and the CLI's defaults both call these functions.
"""

from __future__ import annotations

from pathlib import Path

# results/{study}/models/{model}~{k}/ etc.: replica k > 0 of a model (training.replicas,
# airshower.training.replicas); no model's name may hold it
REPLICA_SEPARATOR = "~"

DATA = Path("data")
RESULTS = Path("results")
LOGS = Path("logs")


def data_dir(study: str) -> Path:
    """``data/{study}``: every events and tensor file of one study."""
    return DATA / study


def events_dir(study: str, dataset: str) -> Path:
    """``data/{study}/sim/{dataset}``: the simulated events files of a dataset."""
    return data_dir(study) / "sim" / dataset


def shard_file(study: str, dataset: str, shard: int | str) -> Path:
    """``data/{study}/sim/{dataset}/{shard}.root``: one simulated shard."""
    return events_dir(study, dataset) / f"{shard}.root"


def tensor_file(study: str, dataset: str) -> Path:
    """``data/{study}/tensors/{dataset}.h5``: the converted dataset."""
    return data_dir(study) / "tensors" / f"{dataset}.h5"


def results_dir(study: str) -> Path:
    """``results/{study}``."""
    return RESULTS / study


def model_dir(study: str, model: str) -> Path:
    """``results/{study}/models/{model}``: the trained network and its history."""
    return results_dir(study) / "models" / model


def state_dir(study: str, model: str) -> Path:
    """``results/{study}/.state/train/{model}``: resumable training state (kept after a failure)."""
    return results_dir(study) / ".state" / "train" / model


def predictions_file(study: str, dataset: str, model: str) -> Path:
    """``results/{study}/predictions/{dataset}/{model}.h5``."""
    return results_dir(study) / "predictions" / dataset / f"{model}.h5"


def metrics_file(study: str, dataset: str, model: str) -> Path:
    """``results/{study}/metrics/{dataset}/{model}.json``."""
    return results_dir(study) / "metrics" / dataset / f"{model}.json"


def reconstructed_file(study: str, dataset: str, model: str) -> Path:
    """``results/{study}/reconstructed/{dataset}/{model}.h5``: per-event table of a dataset."""
    return results_dir(study) / "reconstructed" / dataset / f"{model}.h5"


def figures_dir(study: str) -> Path:
    """``results/{study}/figures``."""
    return results_dir(study) / "figures"


def validation_dir(study: str) -> Path:
    """``results/{study}/validation``."""
    return results_dir(study) / "validation"


def log_file(study: str, stage: str, *parts: str) -> Path:
    """``logs/{study}/{stage}/{parts...}.log``."""
    *folders, last = (stage, *parts)
    return LOGS / study / Path(*folders) / f"{last}.log" if parts else LOGS / study / f"{stage}.log"
