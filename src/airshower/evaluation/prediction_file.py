"""The predictions file contract (HDF5): per test event, truth and a model's reconstruction.

One file per model and test dataset, ``results/{study}/predictions/{dataset}/{model}.h5``,
written by :mod:`airshower.evaluation.predict`, read by :mod:`airshower.evaluation.metrics`
and the figures. All values are in physical units (de-normalised). N events:

* ``reco/<target>`` for every target the model predicts, shaped and in the unit of its
  definition in :mod:`airshower.targets`: ``xmax`` (N,) [g/cm2], ``lg_energy`` (N,)
  [lg(E/eV)], ``axis`` (N, 3) unit vector pointing to where the shower comes from, ``core``
  (N, 2) [m] relative to the hottest station (the tensor file's frame), ``ln_a`` (N,);
* ``sigma/<target>`` (optional, models trained with ``training.uncertainty``): the
  predicted per-event standard deviation of each component, same shape and unit as ``reco``;
* ``truth/<target>`` for every target the tensor file holds (at least those predicted),
  plus the truth-only columns ``truth/mass`` (N,) [A], ``truth/lg_energy`` (N,) and
  ``truth/zenith`` (N,) [deg] (from the true axis: zenith = arccos(axis_z));
* ``meta/event_id`` (N,) int64, ``meta/index`` (N,) int64: row of the event in the tensor file;
* ``meta/t5`` (N,) bool: the 6T5 flag of the event (the tensor file's ``meta/t5``). Every event
  of the tensor file is predicted; the evaluation applies ``evaluation.selection`` on this
  flag (:func:`airshower.evaluation.metrics.select_events`). Files written before the flag
  existed lack it.

Attributes: ``schema_version``, ``model``, ``dataset``, ``targets`` (JSON list of the
predicted targets), ``uncertainty`` (bool: the ``sigma`` group is there), ``tensor_file`` (path it was made from), ``config`` (JSON: the config
that made it). Each dataset carries a ``unit`` attribute. The file is written under a
temporary name and renamed, so a file that exists is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from airshower.atomic import atomic_path
from airshower.errors import InputFileError
from airshower.io.files import open_hdf5
from airshower.targets import TARGETS, units, zenith_deg

SCHEMA_VERSION = 1

TRUTH_REQUIRED = ("lg_energy", "mass", "zenith")


@dataclass
class Predictions:
    """The content of one predictions file (arrays in physical units)."""

    model: str
    dataset: str
    targets: tuple[str, ...]
    truth: dict[str, np.ndarray]
    reco: dict[str, np.ndarray]
    event_id: np.ndarray
    index: np.ndarray
    sigma: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    tensor_file: str = ""
    path: Path | None = None
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # per-event selection flags (``t5``), bool (N,)

    def __len__(self) -> int:
        return int(self.event_id.shape[0])


def _check_columns(columns: Mapping[str, np.ndarray], n: int, what: str) -> None:
    for name, values in columns.items():
        shape = TARGETS[name].shape if name in TARGETS else ()
        if values.shape != (n, *shape):
            raise ValueError(f"{what}/{name} has shape {values.shape}, expected {(n, *shape)}")


def write_predictions(
    path: str | Path,
    *,
    model: str,
    dataset: str,
    truth: Mapping[str, np.ndarray],
    reco: Mapping[str, np.ndarray],
    event_id: np.ndarray,
    index: np.ndarray,
    config: Mapping[str, Any] | None = None,
    tensor_file: str = "",
    sigma: Mapping[str, np.ndarray] | None = None,
    flags: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a predictions file atomically (see the module docstring for the layout).

    ``truth`` must hold ``lg_energy``, ``mass`` and the truth of every key of ``reco``;
    ``zenith`` is derived from ``truth["axis"]`` when not given. ``sigma``, when given, holds
    the predicted standard deviation of every key of ``reco``. ``flags``: per-event bool
    selection flags (``t5``), written as ``meta/<name>``.
    """
    unknown = sorted(set(reco) - set(TARGETS))
    if unknown:
        raise ValueError(f"unknown reconstructed targets {unknown}; known: {sorted(TARGETS)}")
    truth = {k: np.asarray(v) for k, v in truth.items()}
    if "zenith" not in truth and "axis" in truth:
        truth["zenith"] = zenith_deg(truth["axis"])
    missing = [k for k in (*TRUTH_REQUIRED, *reco) if k not in truth]
    if missing:
        raise ValueError(f"truth lacks {missing}")
    n = int(np.asarray(event_id).shape[0])
    _check_columns(truth, n, "truth")
    _check_columns({k: np.asarray(v) for k, v in reco.items()}, n, "reco")
    sigma = {k: np.asarray(v) for k, v in (sigma or {}).items()}
    if sigma and sorted(sigma) != sorted(reco):
        raise ValueError(f"sigma holds {sorted(sigma)}, expected every reconstructed target {sorted(reco)}")
    _check_columns(sigma, n, "sigma")
    flags = {k: np.asarray(v, dtype=bool) for k, v in (flags or {}).items()}
    reserved = sorted(set(flags) & {"event_id", "index"})
    if reserved:
        raise ValueError(f"flags may not be named {reserved}")
    for name, values in flags.items():
        if values.shape != (n,):
            raise ValueError(f"meta/{name} has shape {values.shape}, expected {(n,)}")
    path = Path(path)
    unit = units()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["model"] = model
        f.attrs["dataset"] = dataset
        f.attrs["targets"] = json.dumps([t for t in TARGETS if t in reco])
        f.attrs["uncertainty"] = bool(sigma)
        f.attrs["tensor_file"] = str(tensor_file)
        f.attrs["config"] = json.dumps(dict(config or {}), sort_keys=True)
        for group, columns in (("truth", truth), ("reco", reco), ("sigma", sigma)):
            for name, values in columns.items():
                dtype = np.float64 if name == "lg_energy" else np.float32
                ds = f.create_dataset(f"{group}/{name}", data=np.asarray(values, dtype=dtype))
                ds.attrs["unit"] = unit.get(name, "")
        f.create_dataset("meta/event_id", data=np.asarray(event_id, dtype=np.int64))
        f.create_dataset("meta/index", data=np.asarray(index, dtype=np.int64))
        for name, values in flags.items():
            f.create_dataset(f"meta/{name}", data=values)
    return path


def read_predictions(path: str | Path, require: Sequence[str] = ()) -> Predictions:
    """Read a predictions file; ``require`` names reconstructed targets that must be present.

    Raises :class:`InputFileError` naming the file and what is missing or inconsistent.
    """
    path = Path(path)
    with open_hdf5(path, "predictions file", "predict") as f:
        version = f.attrs.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InputFileError(
                f"{path}: predictions schema version {version!r}, this package reads version {SCHEMA_VERSION}"
            )
        try:
            targets = tuple(json.loads(f.attrs["targets"]))
            config = json.loads(f.attrs.get("config", "{}"))
        except (KeyError, json.JSONDecodeError) as exc:
            raise InputFileError(f"{path}: attribute 'targets' or 'config' missing or not JSON") from exc
        lacking = [t for t in require if t not in targets]
        if lacking:
            raise InputFileError(
                f"{path}: the model does not reconstruct {lacking} (the file holds {list(targets)}); "
                "train it with these in training.targets"
            )
        for column in [*(f"reco/{t}" for t in targets), *(f"truth/{t}" for t in (*TRUTH_REQUIRED, *targets))]:
            if column not in f:
                raise InputFileError(f"{path}: column '{column}' is missing; the file breaks the predictions contract")
        truth = {name: ds[()] for name, ds in f["truth"].items()}
        reco = {t: f[f"reco/{t}"][()] for t in targets}
        sigma = {t: f[f"sigma/{t}"][()] for t in targets if f"sigma/{t}" in f}
        if bool(f.attrs.get("uncertainty", False)) and len(sigma) != len(targets):
            raise InputFileError(f"{path}: the file says it holds uncertainties, but 'sigma/' lacks "
                                 f"{[t for t in targets if t not in sigma]}")
        if "meta/event_id" not in f or "meta/index" not in f:
            raise InputFileError(f"{path}: 'meta/event_id' or 'meta/index' is missing")
        event_id = f["meta/event_id"][()]
        index = f["meta/index"][()]
        flags = {name: np.asarray(ds[()], dtype=bool) for name, ds in f["meta"].items()
                 if name not in ("event_id", "index")}
        n = event_id.shape[0]
        for group, columns in (("truth", truth), ("reco", reco), ("sigma", sigma), ("meta", flags)):
            for name, values in columns.items():
                if values.shape[0] != n:
                    raise InputFileError(f"{path}: '{group}/{name}' has {values.shape[0]} rows, 'meta/event_id' {n}")
        return Predictions(
            model=str(f.attrs.get("model", path.stem)),
            dataset=str(f.attrs.get("dataset", path.parent.name)),
            targets=targets,
            truth=truth,
            reco=reco,
            event_id=event_id,
            sigma=sigma,
            index=index,
            config=config,
            tensor_file=str(f.attrs.get("tensor_file", "")),
            path=path,
            flags=flags,
        )
