"""In-memory model records and studies (no files) for the tests of the figures' tables.

:func:`metrics`: the Xmax resolution (``std``) of one run in two energy bins and over all
energies (``total``: the mean of the two, unless given); :func:`record`: a model and its
replicas, one pair of bin values each; :func:`study`: a study of such records on the test
set ``test``; :func:`history`: a ``history.csv`` with the validation resolution per epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from airshower.figures.study import ModelRecord, Study

EDGES = [19.0, 19.5, 20.0]


def metrics(run: str, low: float, high: float, err: float = 1.0, total: float | None = None) -> dict:
    """Synthetic metrics of one run: the Xmax resolution (std) in two energy bins and over both
    (``total``), with bootstrap errors."""
    bins = [{"lo": lo, "hi": hi, "std": v, "std_err": err, "bias": 0.5, "bias_err": 0.2, "count": 100}
            for lo, hi, v in zip(EDGES[:-1], EDGES[1:], (low, high), strict=True)]
    overall = {"std": (low + high) / 2 if total is None else total, "std_err": err, "bias": 0.5, "bias_err": 0.2,
               "count": 200}
    return {"model": run, "dataset": "test", "lg_energy_bins": EDGES,
            "quantities": {"xmax": {"per_primary": {"all": {"bins": bins, "total": overall}}}}}


def record(name: str, index: int, values: list[tuple[float, float]], err: float = 1.0,
           history: dict | None = None, info: dict[str, Any] | None = None) -> ModelRecord:
    """A model (replica 0) and its replicas, one (low, high) pair of resolutions each; ``info``:
    ``train_info.json`` (default: the type ``name``)."""
    runs = [ModelRecord(name=name if k == 0 else f"{name}~{k}", index=index, info=dict(info or {"type": name}),
                        history=history or {}, metrics={"test": metrics(name, *v, err)})
            for k, v in enumerate(values)]
    runs[0].replicas = runs[1:]
    return runs[0]


def study(*models: ModelRecord) -> Study:
    return Study(name="synthetic", datasets=["test"], models=list(models))


def history(elapsed: list[float], resolution: list[float]) -> dict[str, np.ndarray]:
    return {"epoch": np.arange(1.0, len(elapsed) + 1), "seconds": np.diff([0.0, *elapsed]),
            "elapsed_s": np.asarray(elapsed), "val_xmax_std_gcm2": np.asarray(resolution)}
