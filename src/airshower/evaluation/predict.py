"""Reconstruct a test tensor file with a trained model (``airshower predict``).

Reads ``results/{study}/models/{model}/model.pt`` with
:func:`airshower.inference.checkpoint.load_model` (network rebuilt from the checkpoint's
model entry, weights of the best epoch, target normalisation), runs it over
``data/{study}/tensors/{dataset}.h5`` in batches without gradients, turns its standardised outputs
into physical units (``normaliser.denormalise``, then each target's finalisation of
:mod:`airshower.targets`: a reconstructed axis is rescaled to a unit vector; with an
uncertainty head also the standard deviations, ``normaliser.sigma``) and writes
``results/{study}/predictions/{dataset}/{model}.h5`` in the layout of
:mod:`airshower.evaluation.prediction_file`: per event the reconstruction of every target
the model predicts, the truth of every target the tensor file holds (``targets/*``), the
true zenith [deg] from the true axis, the event id (``meta/event_id``), the row and the
6T5 flag (``meta/t5``). Every event is predicted; the selection (``evaluation.selection``)
is applied by the evaluation.

Nothing is read from the study config: what the network is and predicts is in its
checkpoint. ``--batch-size`` and ``--device`` are runtime settings (they do not change the
result beyond floating-point rounding). Inference runs in float32.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from airshower.errors import ConfigError, InputFileError
from airshower.evaluation.prediction_file import write_predictions
from airshower.io.files import require_writable
from airshower.targets import TARGETS, TRUTH_COLUMNS, zenith_deg

if TYPE_CHECKING:
    import torch

    from airshower.inference.normalise import TargetNormaliser
    from airshower.inference.tensor_sources import TensorSource


def read_truth(path: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(truth columns, event ids) of a tensor file: ``targets/*`` and ``meta/event_id`` (float64, int64).

    InputFileError naming the file, the target and the number of events when a truth column
    holds NaN or inf (the evaluation would silently lose or distort those events).
    """
    from airshower.io.tensors import nonfinite_events, nonfinite_target_error, open_tensor_file

    path = Path(path)
    with open_tensor_file(path) as f:
        missing = [f"targets/{c}" for c in ("lg_energy", "mass", "axis") if f"targets/{c}" not in f]
        if "meta/event_id" not in f:
            missing.append("meta/event_id")
        if missing:
            raise InputFileError(
                f"{path}: {missing} missing; the test set needs its truth for the evaluation (events without "
                "truth are reconstructed, not evaluated: reconstruct_datasets, airshower reconstruct)"
            )
        truth = {c: np.asarray(f[f"targets/{c}"][()], dtype=np.float64) for c in TRUTH_COLUMNS if f"targets/{c}" in f}
        event_id = np.asarray(f["meta/event_id"][()], dtype=np.int64)
    for name, values in truth.items():
        bad = nonfinite_events(values)
        if bad:
            raise nonfinite_target_error(path, name, bad, len(values))
    truth["zenith"] = zenith_deg(truth["axis"])
    return truth, event_id


def read_flags(path: str | Path) -> dict[str, np.ndarray]:
    """The per-event selection flags of a tensor file: ``{"t5": (N,) bool}`` from ``meta/t5`` (empty if absent)."""
    from airshower.io.tensors import open_tensor_file

    with open_tensor_file(Path(path)) as f:
        return {"t5": np.asarray(f["meta/t5"][()], dtype=bool)} if "meta/t5" in f else {}


def predict_source(
    model: torch.nn.Module,
    normaliser: TargetNormaliser,
    source: TensorSource,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
    chunk_batches: int = 8,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The model's predictions [physical units] for every event of ``source``: (values, sigma).

    ``source.read(start, stop)`` gives CPU batches (chunks of ``chunk_batches`` x
    ``batch_size`` events are read at once). ``values``: target -> (N,) or (N, k) float64,
    finalised (:meth:`airshower.targets.Target.finalise`); ``sigma``: the same for the
    predicted standard deviations (of the finalised values,
    :meth:`~airshower.targets.Target.finalise_sigma`), empty for a model without an
    uncertainty head.
    ``progress``: a bar on stderr when it is a terminal, else a line about every 10 % (events,
    events/s, ETA).
    """
    import torch

    from airshower.inference.tensor_sources import as_model_input

    if batch_size < 1:
        raise ConfigError(f"--batch-size = {batch_size}: must be >= 1")
    device = torch.device(device)
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    sigma_parts: dict[str, list[np.ndarray]] = {}
    chunk = batch_size * max(1, chunk_batches)
    bar = _progress_bar(source.n_events, progress)
    with torch.inference_mode():
        for start in range(0, source.n_events, chunk):
            events = source.read(start, min(start + chunk, source.n_events))
            for lo in range(0, len(events), batch_size):
                hi = min(lo + batch_size, len(events))
                batch = _slice(events, lo, hi)
                batch = as_model_input(batch).to(device, non_blocking=True)
                raw = model(batch)
                for store, out in ((parts, normaliser.denormalise(raw)), (sigma_parts, normaliser.sigma(raw))):
                    for name, values in out.items():
                        if name in TARGETS:
                            store.setdefault(name, []).append(values.float().cpu().numpy().astype(np.float64))
                if bar is not None:
                    bar.update(hi - lo)
    if bar is not None:
        bar.close()
    raw = {k: np.concatenate(v).reshape(-1, *TARGETS[k].shape) for k, v in parts.items()}
    values = {k: TARGETS[k].finalise(v) for k, v in raw.items()}
    sigma = {k: TARGETS[k].finalise_sigma(raw[k], np.concatenate(v).reshape(-1, *TARGETS[k].shape))
             for k, v in sigma_parts.items()}
    return values, sigma


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on a terminal; in a log file (a workflow job's) a line about every 10 % with
    the events per second and the time left (:class:`~airshower.inference.progress.ProgressLines`)."""
    if not enabled:
        return None
    if not sys.stderr.isatty():
        from airshower.inference.progress import ProgressLines

        return ProgressLines(total, "reconstructing", unit="events")
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc="reconstructing", dynamic_ncols=True, file=sys.stderr)


def check_trace_format(source: Any, info: Mapping[str, Any], model_path: Path, path: Path) -> None:
    """InputFileError naming ``path`` when its window size, trace bins or bin width [ns] are not the network's.

    ``info``: the checkpoint's model entry (:func:`airshower.inference.checkpoint.load_model`);
    the bin width is compared where both know it (checkpoints made before it was stored do not).
    """
    g, t = int(info["grid_size"]), int(info["trace_bins"])
    if (source.grid_size, source.trace_bins) != (g, t):
        raise InputFileError(
            f"{path}: windows of {source.grid_size}x{source.grid_size} cells and {source.trace_bins} bins, "
            f"but {model_path} was trained on {g}x{g} and {t}"
        )
    trained, here = info.get("bin_ns"), getattr(source, "info", {}).get("bin_ns")
    if trained is not None and here is not None and abs(float(here) - float(trained)) > 1e-6 * float(trained):
        raise InputFileError(f"{path}: trace bins of {here} ns, but {model_path} was trained on bins of {trained} ns")


def check_finite(reco: Mapping[str, np.ndarray], sigma: Mapping[str, np.ndarray], model_path: Path,
                 tensors: Path) -> None:
    """InputFileError naming the model, the target and the events file when a prediction is not finite."""
    from airshower.io.tensors import nonfinite_events

    for what, columns in (("", reco), ("uncertainty of ", sigma)):
        for t, values in columns.items():
            bad = nonfinite_events(values)
            if bad:
                raise InputFileError(f"{model_path}: the network predicts a non-finite {what}{t} for {bad} of "
                                     f"{len(values)} events of {tensors}")


def _slice(batch: Any, lo: int, hi: int) -> Any:
    from dataclasses import fields, replace

    parts = {f.name: getattr(batch, f.name)[lo:hi] for f in fields(batch) if f.name != "targets"}
    return replace(batch, **parts, targets={})


def predict_file(
    model_path: str | Path,
    tensors: str | Path,
    output: str | Path,
    *,
    dataset: str,
    model_name: str | None = None,
    batch_size: int = 512,
    device: str | None = None,
    weights: str = "best",
    progress: bool = True,
) -> dict[str, Any]:
    """Predict every event of ``tensors`` with the model in ``model_path`` and write ``output``.

    ``model_path`` is a ``model.pt`` or the model's folder. Returns a small record
    (model, dataset, events, targets, seconds, events/s). ``progress``: on stderr, a bar on a
    terminal, else a line about every 10 % (the job's log in the workflow).
    """
    from airshower.inference.checkpoint import checkpoint_path, load_model
    from airshower.inference.device import choose_device
    from airshower.inference.tensor_sources import H5Source

    model_path = checkpoint_path(model_path)
    tensors = Path(tensors)
    require_writable(output, "predictions file")
    truth, event_id = read_truth(tensors)
    flags = read_flags(tensors)
    dev = choose_device(device)
    model, normaliser, info = load_model(model_path, device=dev, weights=weights)
    name = model_name or str(info["name"])
    source = H5Source(tensors)
    check_trace_format(source, info, model_path, tensors)
    missing = [t for t in info["targets"] if t not in truth]
    if missing:
        raise InputFileError(f"{tensors}: no truth for the predicted target(s) {missing}")
    t0 = time.perf_counter()
    reco, sigma = predict_source(model, normaliser, source, batch_size=batch_size, device=dev, progress=progress)
    seconds = time.perf_counter() - t0
    lacking = [t for t in info["targets"] if t not in reco]
    if lacking:
        raise InputFileError(f"{model_path}: the network returned no prediction of {lacking}")
    check_finite(reco, sigma, model_path, tensors)
    if len(event_id) != source.n_events:
        raise InputFileError(f"{tensors}: {len(event_id)} event ids for {source.n_events} events")
    config = {
        "model": name,
        "spec": info.get("spec"),
        "targets": list(info["targets"]),
        "uncertainty": bool(sigma),
        "checkpoint": str(model_path),
        "epoch": info.get("epoch"),
        "weights": weights,
        "weights_epoch": info.get("best_epoch") if weights == "best" else info.get("epoch"),
        "dataset": dataset,
    }
    write_predictions(
        output,
        model=name,
        dataset=dataset,
        truth=truth,
        reco={t: reco[t] for t in info["targets"]},
        sigma={t: sigma[t] for t in info["targets"]} if sigma else None,
        event_id=event_id,
        index=np.arange(len(event_id), dtype=np.int64),
        config=config,
        tensor_file=str(tensors),
        flags=flags,
    )
    n = len(event_id)
    return {"model": name, "dataset": dataset, "events": n, "targets": list(info["targets"]),
            "seconds": seconds, "events_per_s": n / seconds if seconds > 0 else None, "device": str(dev)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower predict``."""
    parser.add_argument("--model-dir", required=True, help="the trained model's folder (holding model.pt) or model.pt")
    parser.add_argument("--tensors", required=True, help="tensor file of the test dataset")
    parser.add_argument("--dataset", required=True, help="name of the test dataset (stored in the file)")
    parser.add_argument("--output", required=True, help="predictions file to write (.h5)")
    parser.add_argument("--model", default=None, help="model name to store (default: the checkpoint's)")
    parser.add_argument("--batch-size", type=int, default=512, help="events per forward pass (runtime setting)")
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (default: $AIRSHOWER_DEVICE or auto)")
    parser.add_argument("--weights", choices=("best", "last"), default="best",
                        help="weights of the best validation epoch (default) or of the last epoch")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of torch (default: torch's choice)")


def main(config: Mapping[str, Any], args: argparse.Namespace) -> int:
    """``airshower predict``: reads nothing from the config (the checkpoint says what the model is)."""
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    record = predict_file(args.model_dir, args.tensors, args.output, dataset=args.dataset, model_name=args.model,
                          batch_size=args.batch_size, device=args.device, weights=args.weights)
    print(json.dumps(record))
    return 0
