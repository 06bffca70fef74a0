"""Bias, resolution and merit factor of one model on one test dataset (``airshower evaluate``).

Reads a predictions file (:mod:`airshower.evaluation.prediction_file`) and writes
``results/{study}/metrics/{dataset}/{model}.json``. Events are binned in *true* lg(E/eV)
with the edges ``evaluation.lg_energy_bins`` and split by primary (p, He, N, Fe by mass
number 1, 4, 14, 56, and ``all``, which also holds any other mass). Every uncertainty is the
bootstrap standard error of ``evaluation.bootstrap`` resamples seeded by
``evaluation.seed`` (:mod:`airshower.evaluation.bootstrap`).

Selection (``evaluation.selection``): with ``t5: true`` (the default) only the events whose
``meta/t5`` flag is set enter the metrics (Auger's figures are for 6T5 events); the
predictions file keeps every event. ``n_events`` counts the selected events,
``selection`` says what was applied and how many events there were before.

Layout of the JSON (``schema_version`` 2)::

    {"schema_version": 2, "model": ..., "dataset": ..., "n_events": N,
     "selection": {"t5": bool, "n_before": N0},
     "evaluation": {the evaluation config section}, "lg_energy_bins": [edges],
     "zenith_bins": [edges, deg], "primaries": ["all", "p", "He", "N", "Fe"],
     "targets": [reconstructed targets], "uncertainty": bool,
     "quantities": {
        "<target>": {"unit": ..., "definition": ..., "statistics": [...],
                     "per_primary": {"all": {"total": ENTRY, "bins": [ENTRY, ...]}, "p": ..., ...},
                     "vs_zenith": {"total": ENTRY, "bins": [ENTRY, ...]},      (all primaries, bins of zenith)
                     "merit_factor": {"definition": ..., "total": MF_ENTRY, "bins": [MF_ENTRY, ...]},
                     "calibration": {"definition": ..., "components": k, "total": ENTRY, "bins": [ENTRY, ...]}}}}

    ENTRY    = {"lo", "hi", "count", "x_mean" (mean of the binned variable), "<stat>", "<stat>_err", ...}
    MF_ENTRY = {"lo", "hi", "count_p", "count_fe", "reco", "reco_err", "true", "true_err"}

Quantities, one per reconstructed target, each as its definition in :mod:`airshower.targets`
says (``total`` covers the events inside the bins):

* ``xmax``: residual Xmax_rec - Xmax_true [g/cm2]; ``bias`` (mean), ``std`` (resolution)
  and ``half68`` (half-width of the central 68.27% interval), see :mod:`.binned`;
* ``lg_energy``: relative energy residual E_rec/E_true - 1 (dimensionless), same statistics;
* ``axis``: opening angle between reconstructed and true axis [deg]; ``q68`` (angular
  resolution: 68% containment);
* ``core``: distance between reconstructed and true core [m]; ``q68``;
* ``ln_a``: residual lnA_rec - lnA_true; bias, std, half68;
* ``merit_factor`` (targets that separate primaries: ``xmax``, ``ln_a``): p/Fe merit factor
  of the reconstructed and of the true value per bin (:mod:`.merit`);
* ``calibration`` (models with an uncertainty head): the pulls (rec - true) / sigma of every
  component (the axis after rescaling to unit length, its sigma alike) pooled over the
  ``components`` of a target, in bins of true lg E, with ``bias``, ``std`` and ``half68``: a
  calibrated uncertainty has pulls of mean 0 and width 1. The bootstrap resamples pulls, not
  events: for vector targets, whose components are correlated, the errors are somewhat small.

A bin without events (or too few for a statistic) reports its count and ``null`` values.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from airshower.atomic import write_text
from airshower.errors import ConfigError, InputFileError
from airshower.evaluation.binned import binned_summary
from airshower.evaluation.merit import binned_merit_factor
from airshower.evaluation.prediction_file import Predictions, read_predictions
from airshower.io.files import read_json, require_writable
from airshower.targets import TARGETS

SCHEMA_VERSION = 2
PRIMARIES: dict[str, int] = {"p": 1, "He": 4, "N": 14, "Fe": 56}
PRIMARY_KEYS = ("all", *PRIMARIES)

PULL_STATISTICS = ("bias", "std", "half68")


def residuals(pred: Predictions, target: str) -> np.ndarray:
    """Per-event residual of ``target`` as its :class:`~airshower.targets.Target` defines it (physical units)."""
    return np.asarray(TARGETS[target].residual(pred.reco[target], pred.truth[target]), dtype=np.float64)


def pulls(pred: Predictions, target: str) -> np.ndarray:
    """(rec - true) / sigma of every component of every event, (N, k) (k = 1 for a scalar)."""
    reco = np.asarray(pred.reco[target], np.float64)
    true = np.asarray(pred.truth[target], np.float64)
    sigma = np.asarray(pred.sigma[target], np.float64)
    return ((reco - true) / sigma).reshape(len(reco), -1)


def select_events(pred: Predictions, selection: Mapping[str, Any] | None) -> Predictions:
    """The events of ``pred`` that ``selection`` keeps (``{"t5": True}``: the 6T5 events); all when None or t5 false.

    Raises :class:`InputFileError` when the selection needs a flag the predictions file does
    not hold (a file made before the flags were stored: predict it again).
    """
    if not selection or not selection.get("t5", False):
        return pred
    if "t5" not in pred.flags:
        raise InputFileError(f"{pred.path}: 'evaluation.selection.t5' is true but the predictions file has no "
                             "'meta/t5' flag; run predict again (or set evaluation.selection.t5: false)")
    keep = np.nonzero(np.asarray(pred.flags["t5"], dtype=bool))[0]
    if keep.size == len(pred):
        return pred

    def take(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: np.asarray(v)[keep] for k, v in columns.items()}

    return replace(pred, truth=take(pred.truth), reco=take(pred.reco), sigma=take(pred.sigma),
                   event_id=np.asarray(pred.event_id)[keep], index=np.asarray(pred.index)[keep],
                   flags=take(pred.flags))


def check_evaluation(evaluation: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` if the energy or zenith bin edges are not strictly ascending."""
    for key in ("lg_energy_bins", "zenith_bins"):
        edges = list(evaluation[key])
        if any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
            raise ConfigError(f"'evaluation.{key}' = {edges} must be strictly ascending")


def compute_metrics(pred: Predictions, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics dict of one predictions set (layout in the module docstring), after ``evaluation.selection``."""
    check_evaluation(evaluation)
    n_before = len(pred)
    selection = evaluation.get("selection")
    pred = select_events(pred, selection)
    edges = [float(e) for e in evaluation["lg_energy_bins"]]
    n_boot = int(evaluation["bootstrap"])
    seed = int(evaluation["seed"])
    lg_e = np.asarray(pred.truth["lg_energy"], dtype=np.float64)
    mass = np.rint(np.asarray(pred.truth["mass"], dtype=np.float64)).astype(np.int64)
    masks = {"all": np.ones(mass.shape, dtype=bool)} | {k: mass == a for k, a in PRIMARIES.items()}

    zenith_edges = [float(e) for e in evaluation["zenith_bins"]]
    zenith = np.asarray(pred.truth["zenith"], dtype=np.float64)
    if not np.isfinite(lg_e).all():
        raise InputFileError(f"{pred.path}: truth/lg_energy holds non-finite values")
    unknown = [t for t in pred.targets if t not in TARGETS]
    if unknown:
        raise InputFileError(f"{pred.path}: reconstructs {unknown}, which this package does not define "
                             f"(known targets: {', '.join(TARGETS)}); register them before evaluating")
    quantities: dict[str, Any] = {}
    targets = [t for t in TARGETS if t in pred.targets]
    for target in targets:
        spec = TARGETS[target]
        stats = list(spec.statistics)
        res = residuals(pred, target)
        bad = int((~np.isfinite(res)).sum())
        if bad:
            raise InputFileError(f"{pred.path}: {bad} of {res.size} events have a non-finite {target} "
                                 "(reconstruction or truth); the metrics would silently drop them")
        key = [list(TARGETS).index(target)]
        entry: dict[str, Any] = {
            "unit": spec.residual_unit,
            "definition": spec.residual_definition,
            "statistics": stats,
            "per_primary": {
                name: binned_summary(lg_e[m], res[m], edges, stats, n_boot, seed, key=[*key, pi])
                for pi, (name, m) in enumerate(masks.items())
            },
            "vs_zenith": binned_summary(zenith, res, zenith_edges, stats, n_boot, seed, key=[*key, 100]),
        }
        if spec.merit_factor:
            mf = binned_merit_factor(
                lg_e, mass, {"reco": pred.reco[target], "true": pred.truth[target]}, edges, n_boot, seed,
                key=[*key, 200], light=PRIMARIES["p"], heavy=PRIMARIES["Fe"],
            )
            entry["merit_factor"] = {
                "definition": f"|<p> - <Fe>| / sqrt(sigma_p^2 + sigma_Fe^2) of reconstructed (reco) and true {target}",
                **mf,
            }
        if target in pred.sigma:
            pull = pulls(pred, target)
            k = pull.shape[1]
            entry["calibration"] = {
                "definition": "pulls (rec - true) / sigma of every component; calibrated: bias 0, std 1",
                "components": k,
                **binned_summary(np.repeat(lg_e, k), pull.reshape(-1), edges, PULL_STATISTICS, n_boot, seed,
                                 key=[*key, 300]),
            }
        quantities[target] = entry

    return {
        "schema_version": SCHEMA_VERSION,
        "model": pred.model,
        "dataset": pred.dataset,
        "n_events": len(pred),
        "selection": {"t5": bool((selection or {}).get("t5", False)), "n_before": n_before},
        "evaluation": dict(evaluation),
        "lg_energy_bins": edges,
        "zenith_bins": zenith_edges,
        "primaries": list(PRIMARY_KEYS),
        "targets": targets,
        "uncertainty": bool(pred.sigma),
        "quantities": quantities,
    }


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_metrics(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Write a metrics dict as JSON atomically."""
    return write_text(path, json.dumps(_clean(metrics), indent=1, allow_nan=False) + "\n")


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Read a metrics JSON file; :class:`InputFileError` if missing, malformed or of another version."""
    metrics = read_json(path, "metrics file", "evaluate")
    if not isinstance(metrics, dict) or metrics.get("schema_version") != SCHEMA_VERSION:
        version = metrics.get("schema_version") if isinstance(metrics, dict) else None
        raise InputFileError(f"{path}: metrics schema version {version!r}, this package reads {SCHEMA_VERSION}")
    for key in ("model", "dataset", "lg_energy_bins", "quantities"):
        if key not in metrics:
            raise InputFileError(f"{path}: key '{key}' is missing; the file breaks the metrics contract")
    return metrics


def evaluate(predictions: str | Path, output: str | Path, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """Read a predictions file, compute its metrics and write them to ``output``; returns the metrics."""
    require_writable(output, "metrics file")
    metrics = compute_metrics(read_predictions(predictions), evaluation)
    write_metrics(output, metrics)
    return metrics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower evaluate``."""
    parser.add_argument("--predictions", required=True, help="predictions file (.h5) of one model on one dataset")
    parser.add_argument("--output", required=True, help="metrics file to write (.json)")


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower evaluate``: reads only the ``evaluation`` section of the config."""
    metrics = evaluate(args.predictions, args.output, config["evaluation"])
    xmax = metrics["quantities"].get("xmax")
    if xmax is not None:
        total = xmax["per_primary"]["all"]["total"]
        std, err = total["std"], total["std_err"]
        if std is not None:
            print(f"{metrics['model']} on {metrics['dataset']}: Xmax resolution {std:.1f} +- {err or 0:.1f} g/cm2 "
                  f"over {total['count']} events")
    print(f"wrote {args.output}")
    return 0
