"""Reconstruct events with a trained network outside the workflow (``airshower reconstruct``).

Input: events files (ROOT, the events contract of :mod:`airshower.io.events`; converted on
the fly into the window the network was trained on) or tensor files (HDF5, the tensor
contract of :mod:`airshower.io.tensors`), with or without Monte-Carlo truth. Output: one
table, one row per event, in HDF5 (``.h5``/``.hdf5``: one dataset per column under
``events/``, each with a ``unit`` attribute, plus the attributes ``model``, ``checkpoint``,
``inputs`` and ``columns``) or CSV (``.csv``: a header line, then one line per event). Parquet
would need pyarrow, which is not a dependency; CSV and HDF5 read into pandas, ROOT or numpy
alike.

Columns (units as in :mod:`airshower.targets`; each HDF5 dataset carries its ``unit``):

* ``file`` (the input file: its path in CSV, its index into the ``inputs`` attribute in
  HDF5), ``event_id``, ``hottest_station`` (array id of the window's centre station: the
  origin of the core), ``t5`` (1 where the event passes 6T5, the selection of Auger's
  analyses; the table keeps every event);
* per reconstructed target, its value: scalar targets under their name (``xmax`` [g/cm2],
  ``lg_energy``, ``ln_a``), vectors per component (``axis_x``, ``axis_y``, ``axis_z``;
  ``core_x``, ``core_y`` [m] relative to the hottest station; ``<name>_<i>`` for other
  vectors); for a direction (the axis) also ``zenith`` and ``azimuth`` [deg], azimuth
  counter-clockwise from +x;
* with an uncertainty head: ``<column>_sigma``, the predicted standard deviation;
* where the input has truth: ``true_<column>`` of every reconstructed column (zenith and
  azimuth included) and ``true_mass``;
* where a tensor file has a ``reference/`` group (values its data source measured
  independently, e.g. the fluorescence-detector Xmax of hybrid Auger events):
  ``reference_<name>`` in its unit, NaN where an event has none;
* where a tensor file has real station positions (a ``site/`` group: the Auger open data,
  events files with ``positions: site``), the same in the site frame: ``hottest_station_id``
  (the real station id; ``hottest_station`` is the index into the fitted array),
  ``[true_]azimuth_site`` [deg] and the absolute core ``[true_]core_site_x/_y`` [m]
  (directions and cores of the other columns are in the lattice frame, rotated against the
  site frame by the fitted angle).

HDF5 attributes: ``model``, ``checkpoint``, ``weights``, ``targets``, ``uncertainty``,
``inputs`` (JSON list of the input files) and ``columns`` (JSON list, table order).

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
from airshower.io.files import require_writable
from airshower.targets import TARGETS, units, zenith_deg

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


def _component_names(name: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [name]
    n = int(np.prod(shape))
    suffixes = _COMPONENTS.get(n) if len(shape) == 1 else None
    return [f"{name}_{c}" for c in (suffixes or range(n))]


def target_columns(name: str, values: np.ndarray, unit: str) -> dict[str, tuple[np.ndarray, str]]:
    """A target's (N,) or (N, ...) values as named table columns with their unit (``axis`` -> axis_x, axis_y, axis_z)."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(len(values), -1)
    names = _component_names(name, values.shape[1:])
    return {n: (flat[:, i], unit) for i, n in enumerate(names)}


def _direction_columns(axis: np.ndarray, prefix: str = "") -> dict[str, tuple[np.ndarray, str]]:
    """Zenith and azimuth [deg] of unit vectors (N, 3) pointing to where the shower comes from."""
    axis = np.asarray(axis, dtype=np.float64)
    azimuth = np.degrees(np.arctan2(axis[:, 1], axis[:, 0])) % 360.0
    return {f"{prefix}zenith": (zenith_deg(axis), "deg"), f"{prefix}azimuth": (azimuth, "deg")}


Columns = dict[str, tuple[np.ndarray, str]]


def site_columns(site: Mapping[str, Any], hottest: np.ndarray, columns: Columns) -> Columns:
    """Columns in the site frame for a tensor file of real station positions (its ``site/`` group):
    ``hottest_station_id`` (the real id), ``[true_]azimuth_site`` [deg] and the absolute core
    ``[true_]core_site_x/_y`` [m], from the lattice-frame columns the table has.
    Site = origin + R(angle) x array frame (:mod:`airshower.detector.positions`)."""
    angle = float(site["angle_rad"])
    ox, oy = (float(v) for v in site["origin_m"])
    c, s = np.cos(angle), np.sin(angle)
    out: Columns = {"hottest_station_id": (np.asarray(site["station_id"])[hottest].astype(np.int64), "")}
    hx, hy = np.asarray(site["x"])[hottest], np.asarray(site["y"])[hottest]
    for prefix in ("", "true_"):
        if f"{prefix}azimuth" in columns:
            out[f"{prefix}azimuth_site"] = ((columns[f"{prefix}azimuth"][0] + np.degrees(angle)) % 360.0, "deg")
        if f"{prefix}core_x" in columns:
            ax = hx + columns[f"{prefix}core_x"][0]
            ay = hy + columns[f"{prefix}core_y"][0]
            out[f"{prefix}core_site_x"] = (ox + c * ax - s * ay, "m")
            out[f"{prefix}core_site_y"] = (oy + s * ax + c * ay, "m")
    return out


def _read_site(path: Path) -> dict[str, Any] | None:
    """The ``site/`` group of a tensor file (real station positions), or None."""
    from airshower.io.tensors import open_tensor_file

    with open_tensor_file(path) as f:
        if "site" not in f:
            return None
        group = f["site"]
        return {**{k: group[k][()] for k in ("station_id", "x", "y")},
                "angle_rad": float(group.attrs["angle_rad"]), "origin_m": list(group.attrs["origin_m"])}


def _read_tensor_meta(path: Path) -> tuple[dict[str, np.ndarray], Columns, Columns]:
    """(truth columns that the tensor file holds, the columns ``event_id``, ``hottest_station`` and
    ``t5``, the ``reference_<name>`` columns of its ``reference/`` group with their units)."""
    from airshower.io.tensors import open_tensor_file

    with open_tensor_file(path) as f:
        for key in ("meta/event_id", "meta/hottest_station", "meta/t5"):
            if key not in f:
                raise InputFileError(f"{path}: '{key}' is missing; the file breaks the tensor contract")
        event_id = np.asarray(f["meta/event_id"][()], dtype=np.int64)
        hottest = np.asarray(f["meta/hottest_station"][()], dtype=np.int64)
        t5 = np.asarray(f["meta/t5"][()], dtype=np.int8)
        truth = {k: np.asarray(ds[()]) for k, ds in f["targets"].items()} if "targets" in f else {}
        reference = {
            f"reference_{k}": (np.asarray(ds[()], dtype=np.float64), str(ds.attrs.get("unit", "")))
            for k, ds in (f["reference"].items() if "reference" in f else ())
        }
    meta = {"event_id": (event_id, ""), "hottest_station": (hottest, ""), "t5": (t5, "")}
    return truth, meta, reference


def table_columns(
    reco: Mapping[str, np.ndarray], sigma: Mapping[str, np.ndarray], truth: Mapping[str, np.ndarray],
    targets: Sequence[str],
) -> dict[str, tuple[np.ndarray, str]]:
    """The table's value, sigma and truth columns of one input, each with its unit (module docstring)."""
    out: dict[str, tuple[np.ndarray, str]] = {}
    for t in targets:
        spec = TARGETS[t]
        out.update(target_columns(t, reco[t], spec.unit))
        if t in sigma:
            out.update({f"{k}_sigma": v for k, v in target_columns(t, sigma[t], spec.unit).items()})
        if spec.unit_length and spec.shape == (3,):
            out.update(_direction_columns(reco[t]))
    for t in targets:
        spec = TARGETS[t]
        if t in truth:
            out.update({f"true_{k}": v for k, v in target_columns(t, truth[t], spec.unit).items()})
            if spec.unit_length and spec.shape == (3,):
                out.update(_direction_columns(truth[t], "true_"))
    if truth and "mass" in truth:
        out["true_mass"] = (np.asarray(truth["mass"], dtype=np.float64), units()["mass"])
    return out


def _write_table(output: Path, fmt: str, files: list[str], columns: Mapping[str, tuple[np.ndarray, str]],
                 attrs: Mapping[str, Any]) -> None:
    """The table, atomically: HDF5 (a dataset per column with its unit) or CSV (7 significant digits)."""
    import h5py

    with atomic_path(output) as tmp:
        if fmt == "hdf5":
            with h5py.File(tmp, "w") as f:
                for k, v in attrs.items():
                    f.attrs[k] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v)
                f.attrs["columns"] = json.dumps(list(columns))
                for name, (values, unit) in columns.items():
                    f.create_dataset(f"events/{name}", data=values).attrs["unit"] = unit
            return
        text = []
        for name, (values, _) in columns.items():
            if name == "file":
                text.append(np.asarray(files)[values])
            elif np.issubdtype(values.dtype, np.floating):
                text.append(np.char.mod("%.7g", values))
            else:
                text.append(values.astype(str))
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(zip(*text))


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
    tensor file with the network's window (grid size) in float32; their trace length and bin
    width must be the network's. Files with and without truth go into separate tables.
    Returns a record (events, files, columns, seconds).
    """
    import time

    from airshower.convert import convert_dataset
    from airshower.evaluation.predict import check_finite, check_trace_format, predict_source
    from airshower.inference.checkpoint import checkpoint_path, load_model
    from airshower.inference.device import choose_device
    from airshower.inference.tensor_sources import H5Source

    t0 = time.perf_counter()
    output = Path(output)
    fmt = _format(output)
    require_writable(output, "table")
    if batch_size < 1:
        raise ConfigError(f"--batch-size = {batch_size}: must be >= 1")
    paths = [Path(p) for p in inputs]
    if not paths:
        raise InputFileError("reconstruct: no input files")
    model_path = checkpoint_path(model_path)
    dev = choose_device(device)
    model, normaliser, info = load_model(model_path, device=dev, weights=weights)
    targets = list(info["targets"])
    parts: list[dict[str, tuple[np.ndarray, str]]] = []
    first_truth: list[str] | None = None
    first_reference: list[str] = []
    with tempfile.TemporaryDirectory(prefix="airshower-reconstruct-") as scratch:
        for index, path in enumerate(paths):
            tensors = path
            if not _is_tensor_file(path):
                tensors = Path(scratch) / f"{index}.h5"
                convert_dataset([path], tensors, int(info["grid_size"]), chunk_events, "float32",
                                {"reconstruct": str(path)})
            source = H5Source(tensors)
            check_trace_format(source, info, model_path, path)
            truth, meta, reference = _read_tensor_meta(tensors)
            first_truth = sorted(truth) if first_truth is None else first_truth
            if sorted(truth) != first_truth:
                raise InputFileError(
                    f"{path}: holds the truth columns {sorted(truth)}, {paths[0]} holds {first_truth}; "
                    "reconstruct files with and without truth apart"
                )
            first_reference = sorted(reference) if not parts else first_reference
            if sorted(reference) != first_reference:
                raise InputFileError(
                    f"{path}: holds the reference columns {sorted(reference)}, {paths[0]} holds {first_reference}; "
                    "reconstruct them apart"
                )
            reco, sigma = predict_source(model, normaliser, source, batch_size=batch_size, device=dev,
                                         progress=progress)
            check_finite(reco, sigma, model_path, path)
            columns = {
                "file": (np.full(len(meta["event_id"][0]), index, dtype=np.int32), ""),
                **meta,
                **table_columns(reco, sigma, truth, targets),
                **reference,
            }
            site = _read_site(tensors)
            if site is not None:
                columns.update(site_columns(site, meta["hottest_station"][0], columns))
            if parts and list(columns) != list(parts[0]):
                raise InputFileError(f"{path}: its columns differ from those of {paths[0]} (real station positions "
                                     "in one, the SD-1500 lattice in the other?); reconstruct them apart")
            parts.append(columns)
    names = list(parts[0])
    table = {k: (np.concatenate([p[k][0] for p in parts]), parts[0][k][1]) for k in names}
    attrs = {"model": str(info["name"]), "checkpoint": str(model_path), "targets": targets,
             "uncertainty": bool(info.get("uncertainty", False)), "inputs": [str(p) for p in paths],
             "weights": weights}
    _write_table(output, fmt, [str(p) for p in paths], table, attrs)
    seconds = time.perf_counter() - t0
    return {"output": str(output), "events": int(len(table["event_id"][0])), "files": len(paths),
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
    parser.add_argument("--quiet", action="store_true", help="no progress bar (shown on a terminal)")


def main(config: Mapping[str, Any], args: argparse.Namespace) -> int:
    """``airshower reconstruct``: reads nothing from the config (the checkpoint says what the model is)."""
    record = reconstruct(args.model_dir, args.inputs, args.output, batch_size=args.batch_size, device=args.device,
                         weights=args.weights, progress=not args.quiet and sys.stderr.isatty())
    print(json.dumps(record), file=sys.stdout)
    return 0
