"""Model FLOPs utilisation of each trained network: its training speed against the device's measured matmul rate.

Per run of the study (each model, then its replicas ``<model>~k``), from its
``train_info.json`` (:func:`airshower.training.engine.train_info`):

* ``parameters``: trainable parameters (count);
* ``train_gflop_per_event``: training FLOPs per event [GFLOP], 3 x the counted forward FLOPs
  ``flops_per_event`` (backward = 2 x forward, :data:`airshower.training.loop.TRAINING_FLOPS_PER_FORWARD`);
* ``events_per_s``: training events per second [1/s], ``mean_events_per_s`` (the mean over the
  epochs of the training loop's speed, validation excluded);
* ``achieved_tflops``: the model FLOP rate reached [TFLOP/s], training FLOPs per event x events/s;
* ``peak_tflops``: the device's dense matmul rate [TFLOP/s] measured by the caller
  (:func:`airshower.inference.peak.device_peak`: bfloat16 on a GPU, float32 on the CPU);
* ``utilisation``: achieved / peak (fraction; model FLOPs utilisation, MFU);
* ``device`` and ``amp``: where and in which precision the run trained (as recorded).

Empty cells: not recorded (e.g. FLOPs that could not be counted). Written as
``utilisation.csv`` (every column) and ``utilisation.md`` (a table with its caption).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airshower import layout
from airshower.atomic import write_text
from airshower.errors import InputFileError
from airshower.training.loop import TRAINING_FLOPS_PER_FORWARD

COLUMNS = ("model", "label", "type", "parameters", "train_gflop_per_event", "events_per_s", "achieved_tflops",
           "peak_tflops", "utilisation", "device", "amp")


def utilisation_row(run: str, info: Mapping[str, Any], peak_flops_per_s: float, label: str | None = None) -> dict[str, Any]:
    """One row of the table (the columns of :data:`COLUMNS`) from a run's ``train_info.json`` content.

    ``peak_flops_per_s``: the measured peak [FLOP/s] the achieved rate is divided by.
    """
    fwd = info.get("flops_per_event")
    speed = info.get("mean_events_per_s")
    train_flops = None if fwd is None else TRAINING_FLOPS_PER_FORWARD * float(fwd)  # [FLOP/event]
    achieved = None if train_flops is None or speed is None else train_flops * float(speed)  # [FLOP/s]
    return {
        "model": run,
        "label": label or run,
        "type": info.get("type"),
        "parameters": info.get("parameters"),
        "train_gflop_per_event": None if train_flops is None else train_flops / 1e9,
        "events_per_s": None if speed is None else float(speed),
        "achieved_tflops": None if achieved is None else achieved / 1e12,
        "peak_tflops": peak_flops_per_s / 1e12,
        "utilisation": None if achieved is None or peak_flops_per_s <= 0 else achieved / peak_flops_per_s,
        "device": info.get("device"),
        "amp": info.get("amp"),
    }


def read_train_info(path: Path) -> dict[str, Any]:
    """The content of one ``train_info.json``; an error naming the file when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{path}: no training record (train_info.json); has the model been trained?") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: not valid JSON: {exc}") from None


def utilisation_rows(
    study: str,
    runs: Sequence[str],
    peak_flops_per_s: float,
    labels: Mapping[str, str] | None = None,
    root: str | Path = ".",
) -> list[dict[str, Any]]:
    """One row per run, read from ``{root}/results/{study}/models/{run}/train_info.json``.

    ``labels``: display label per model (a replica ``m~k`` gets its model's label and `` ~k``).
    """
    from airshower.training.replicas import split_replica

    labels = labels or {}
    rows = []
    for run in runs:
        model, replica = split_replica(run)
        label = labels.get(model, model) + (f" ~{replica}" if replica else "")
        info = read_train_info(Path(root) / layout.model_dir(study, run) / "train_info.json")
        rows.append(utilisation_row(run, info, peak_flops_per_s, label))
    return rows


def _cell(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def utilisation_markdown(rows: Sequence[Mapping[str, Any]], study: str, peak_note: str) -> str:
    """The Markdown table of the rows and its caption; ``peak_note`` says how the peak was measured."""
    from airshower.figures.summary import markdown_table

    header = ["model", "parameters", "train GFLOP/event", "events/s", "TFLOP/s", "peak TFLOP/s", "utilisation",
              "device", "amp"]
    body = [[r["label"], "" if r["parameters"] is None else f"{int(r['parameters']):,}",
             _cell(r["train_gflop_per_event"], ".3g"), _cell(r["events_per_s"], ".0f"),
             _cell(r["achieved_tflops"], ".3g"), _cell(r["peak_tflops"], ".3g"),
             "" if r["utilisation"] is None else f"{100 * r['utilisation']:.1f} %",
             r["device"] or "", r["amp"] or ""] for r in rows]
    caption = (f"Model FLOPs utilisation of the networks of study '{study}': training FLOPs per event "
               f"({TRAINING_FLOPS_PER_FORWARD:g} x the counted forward FLOPs), mean training speed over the "
               "epochs (validation excluded), the model FLOP rate this gives, and its fraction of the "
               f"device's measured dense matmul rate ({peak_note}).")
    return markdown_table(header, body, caption)


def write_utilisation(out_dir: str | Path, rows: Sequence[Mapping[str, Any]], study: str, peak_note: str) -> list[Path]:
    """``utilisation.csv`` (every column) and ``utilisation.md`` (the table with its caption) in ``out_dir``."""
    from airshower.figures.summary import write_csv

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_csv(out_dir / "utilisation.csv", [dict(r) for r in rows]),
            write_text(out_dir / "utilisation.md", utilisation_markdown(rows, study, peak_note))]


__all__: Sequence[str] = ("COLUMNS", "utilisation_row", "utilisation_rows", "utilisation_markdown", "write_utilisation")
