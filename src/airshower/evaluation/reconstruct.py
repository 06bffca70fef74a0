"""Reconstruct events with a trained network outside the workflow (``airshower reconstruct``).

Input: events files (ROOT, the events contract of :mod:`airshower.io.events`; converted on
the fly into the window the network was trained on) or tensor files (HDF5, the tensor
contract of :mod:`airshower.io.tensors`), with or without Monte-Carlo truth. Output: one
table, one row per event, in HDF5 (``.h5``/``.hdf5``: one dataset per column under
``events/``, each with a ``unit`` attribute, plus the attributes ``model``, ``checkpoint``,
``inputs`` and ``columns``) or CSV (``.csv``: a header line, then one line per event). Parquet
would need pyarrow, which is not a dependency; CSV and HDF5 read into pandas, ROOT or numpy
alike.

Columns (units as in :mod:`airshower.targets`):

* ``file`` (the input file, its index in the ``inputs`` attribute for HDF5), ``event_id``;
* per reconstructed target, its value: scalar targets under their name (``xmax`` [g/cm2],
  ``lg_energy``, ``ln_a``), vectors per component (``axis_x``, ``axis_y``, ``axis_z``;
  ``core_x``, ``core_y`` [m] relative to the hottest station, ``meta/hottest_station``);
  for the axis also ``zenith`` and ``azimuth`` [deg] (azimuth counter-clockwise from +x);
* with an uncertainty head: ``<column>_sigma``, the predicted standard deviation;
* where the input has truth: ``true_<column>`` of every reconstructed column and ``true_mass``.

The table is written under a temporary name and renamed: nothing partial is left behind.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airshower.atomic import atomic_path
from airshower.errors import ConfigError, InputFileError
from airshower.targets import TARGETS, units

FORMATS = {".h5": "hdf5", ".hdf5": "hdf5", ".csv": "csv"}
_COMPONENTS = {3: ("x", "y", "z"), 2: ("x", "y")}


def _format(output: Path) -> str:
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--output {output}: unknown table format {output.suffix!r}; "
                          f"use one of {', '.join(FORMATS)} (Parquet would need pyarrow, not a dependency)")
    return fmt


def _is_tensor_file(path: Path) -> bool:
    """HDF5 by its signature (tensor file), else taken as an events file (ROOT)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == b"\x89HDF\r\n\x1a\n"
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror})") from exc


def target_columns(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """A target's (N,) or (N, k) values as named table columns (``axis`` -> axis_x, axis_y, axis_z)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return {name: values}
    return {f"{name}_{c}": values[:, i] for i, c in enumerate(_COMPONENTS[values.shape[1]])}


def _direction_columns(axis: np.ndarray, prefix: str = "") -> dict[str, np.ndarray]:
    """Zenith and azimuth [deg] of unit vectors (N, 3) pointing to where the shower comes from."""
    axis = np.asarray(axis, dtype=np.float64)
    zenith = np.degrees(np.arccos(np.clip(axis[:, 2], -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(axis[:, 1], axis[:, 0])) % 360.0
    return {f"{prefix}zenith": zenith, f"{prefix}azimuth": azimuth}


def _read_tensor_truth(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(truth columns that the tensor file holds, event ids)."""
    from airshower.io.tensors import open_tensor_file

    with open_tensor_file(path) as f:
        if "meta/event_id" not in f:
            raise InputFileError(f"{path}: 'meta/event_id' is missing; the file breaks the tensor contract")
        event_id = np.asarray(f["meta/event_id"][()], dtype=np.int64)
        truth = {k: np.asarray(ds[()]) for k, ds in f["targets"].items()} if "targets" in f else {}
    return truth, event_id


def table_columns(
    reco: Mapping[str, np.ndarray], sigma: Mapping[str, np.ndarray], truth: Mapping[str, np.ndarray],
    targets: Sequence[str],
) -> dict[str, np.ndarray]:
    """The table's value, sigma and truth columns of one input (see the module docstring)."""
    out: dict[str, np.ndarray] = {}
    for t in targets:
        out.update(target_columns(t, reco[t]))
        if t in sigma:
            out.update({f"{k}_sigma": v for k, v in target_columns(t, sigma[t]).items()})
        if t == "axis":
            out.update(_direction_columns(reco[t]))
    for t in targets:
        if t in truth:
            out.update({f"true_{k}": v for k, v in target_columns(t, truth[t]).items()})
            if t == "axis":
                out.update(_direction_columns(truth[t], "true_"))
    if truth and "mass" in truth:
        out["true_mass"] = np.asarray(truth["mass"], dtype=np.float64)
    return out


def column_unit(name: str) -> str:
    """Unit of a table column."""
    base = name.removeprefix("true_").removesuffix("_sigma")
    if base in ("zenith", "azimuth"):
        return "deg"
    for t in TARGETS:
        if base == t or base.startswith(f"{t}_"):
            return TARGETS[t].unit
    return units().get(base, "")


def _write_table(output: Path, fmt: str, files: list[str], columns: dict[str, np.ndarray],
                 attrs: Mapping[str, Any]) -> None:
    import h5py

    n = len(columns["event_id"])
    with atomic_path(output) as tmp:
        if fmt == "hdf5":
            with h5py.File(tmp, "w") as f:
                for k, v in attrs.items():
                    f.attrs[k] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v)
                f.attrs["columns"] = json.dumps(list(columns))
                for name, values in columns.items():
                    ds = f.create_dataset(f"events/{name}", data=values)
                    ds.attrs["unit"] = column_unit(name)
            return
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            names = list(columns)
            writer.writerow(names)
            text = {k: (np.asarray(files)[v] if k == "file" else v) for k, v in columns.items()}
            for i in range(n):
                writer.writerow([_cell(text[k][i]) for k in names])


def _cell(value: Any) -> str:
    if isinstance(value, (np.floating, float)):
        return f"{float(value):.7g}"
    return str(value)


def reconstruct(
    model_path: str | Path,
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    batch_size: int = 256,
    device: str | None = None,
    weights: str = "best",
    progress: bool = True,
    chunk_events: int = 5000,
) -> dict[str, Any]:
    """Reconstruct every event of ``inputs`` with the network in ``model_path`` and write the table ``output``.

    ``model_path``: a ``model.pt`` or its folder. Events files are converted into a temporary
    tensor file with the network's window (grid size) in float32; their trace length must be
    the network's. Returns a record (events, files, columns, seconds).
    """
    import time

    from airshower.convert import convert_dataset
    from airshower.evaluation.predict import check_finite, predict_source
    from airshower.training.checkpoint import load_model
    from airshower.training.data import H5Source
    from airshower.training.device import choose_device

    t0 = time.perf_counter()
    output = Path(output)
    fmt = _format(output)
    paths = [Path(p) for p in inputs]
    if not paths:
        raise InputFileError("reconstruct: no input files")
    model_path = Path(model_path)
    if model_path.is_dir():
        model_path = model_path / "model.pt"
    dev = choose_device(device)
    model, normaliser, info = load_model(model_path, device=dev, weights=weights)
    targets = list(info["targets"])
    grid, bins = int(info["grid_size"]), int(info["trace_bins"])
    parts: list[dict[str, np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="airshower-reconstruct-") as scratch:
        for index, path in enumerate(paths):
            tensors = path
            if not _is_tensor_file(path):
                tensors = Path(scratch) / f"{index}.h5"
                convert_dataset([path], tensors, grid, chunk_events, "float32", {"reconstruct": str(path)})
            source = H5Source(tensors)
            if (source.grid_size, source.trace_bins) != (grid, bins):
                raise InputFileError(
                    f"{path}: windows of {source.grid_size}x{source.grid_size} cells and {source.trace_bins} bins, "
                    f"but {model_path} was trained on {grid}x{grid} and {bins}"
                )
            truth, event_id = _read_tensor_truth(tensors)
            reco, sigma = predict_source(model, normaliser, source, batch_size=batch_size, device=dev,
                                         progress=progress)
            check_finite(reco, sigma, model_path, path)
            columns = {"file": np.full(len(event_id), index, dtype=np.int32), "event_id": event_id}
            columns.update(table_columns(reco, sigma, truth, targets))
            parts.append(columns)
    names = list(parts[0])
    for path, part in zip(paths[1:], parts[1:]):
        if list(part) != names:
            raise InputFileError(f"{path}: has truth columns {sorted(set(part) ^ set(names))} that "
                                 f"{paths[0]} lacks, or the reverse; reconstruct files with and without truth apart")
    table = {k: np.concatenate([p[k] for p in parts]) for k in names}
    attrs = {"model": str(info["name"]), "checkpoint": str(model_path), "targets": targets,
             "uncertainty": bool(info.get("uncertainty", False)), "inputs": [str(p) for p in paths],
             "weights": weights}
    _write_table(output, fmt, [str(p) for p in paths], table, attrs)
    seconds = time.perf_counter() - t0
    return {"output": str(output), "events": int(len(table["event_id"])), "files": len(paths),
            "columns": names, "seconds": round(seconds, 3)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower reconstruct``."""
    parser.add_argument("--model-dir", required=True, help="the trained model's folder (holding model.pt) or model.pt")
    parser.add_argument("--inputs", required=True, nargs="+", type=Path, metavar="FILE",
                        help="events files (ROOT) or tensor files (HDF5), with or without Monte-Carlo truth")
    parser.add_argument("--output", required=True, type=Path, help="table to write: .h5/.hdf5 or .csv")
    parser.add_argument("--batch-size", type=int, default=256, help="events per forward pass (runtime setting)")
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (default: $AIRSHOWER_DEVICE or auto)")
    parser.add_argument("--weights", choices=("best", "last"), default="best",
                        help="weights of the best validation epoch (default) or of the last epoch")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(config: Mapping[str, Any], args: argparse.Namespace) -> int:
    """``airshower reconstruct``: reads nothing from the config (the checkpoint says what the model is)."""
    record = reconstruct(args.model_dir, args.inputs, args.output, batch_size=args.batch_size, device=args.device,
                         weights=args.weights, progress=not args.quiet)
    print(json.dumps(record), file=sys.stdout)
    return 0
