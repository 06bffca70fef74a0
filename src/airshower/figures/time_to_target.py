"""Validation resolution against training time, and the time each model needs to reach the baseline's best.

For equal-time comparisons (``training.budget_minutes``) and claims such as "reaches the
baseline's resolution in half the training time". Read from each model's ``history.csv``
(replica 0, the model itself): the cumulative training time ``elapsed_s`` [s] (epochs'
wall time, validation included, resumed runs counted; older histories: the running sum of
``seconds``) and the validation Xmax resolution ``val_xmax_{stat}_gcm2`` [g/cm2] after each epoch.

* ``resolution_vs_time``: the validation resolution against the training time, one curve per
  model (its other replicas, if any, as thin lines in its colour), the baseline's best
  resolution as a dashed line and where each model first reaches it as an open circle.
* ``time_to_target.csv`` and ``time_to_target.md``: per model the target (the baseline's best
  validation resolution [g/cm2]), the training time to reach it [s] (the end of the first
  epoch at or below it; empty when never reached), the ratio to the baseline's own time to its
  best (``ratio``: 0.5 is "half the training time"), and the model's own best resolution and
  total training time; of replica 0 of each model (the model itself).

The baseline is the model named ``lstm_hexcnn``, else the first model of type
``lstm_hexcnn``, else the first model (:func:`baseline_model`). Epoch granularity: the
times are those of the ends of epochs, so the ratio is good to about one epoch's time of
either model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airshower.atomic import write_text
from airshower.figures.study import ModelRecord, Study

BASELINE = "lstm_hexcnn"


def training_curve(record: ModelRecord, stat: str = "std") -> tuple[np.ndarray, np.ndarray] | None:
    """(cumulative training time [s], validation Xmax resolution [g/cm2]) per epoch; None without them."""
    from airshower.figures.learning_curves import resolution_column

    h = record.history
    found = resolution_column(h, stat)
    if found is None:
        return None
    if "elapsed_s" in h and np.isfinite(h["elapsed_s"]).all():
        elapsed = np.asarray(h["elapsed_s"], dtype=float)
    elif "seconds" in h:
        elapsed = np.nancumsum(h["seconds"])
    else:
        return None
    return elapsed, np.asarray(found[1], dtype=float)


def baseline_model(study: Study) -> ModelRecord:
    """The model the others are measured against: ``lstm_hexcnn`` by name, else by type, else the first."""
    for m in study.models:
        if m.name == BASELINE:
            return m
    for m in study.models:
        if m.train("type") == BASELINE:
            return m
    return study.models[0]


def time_to(elapsed: np.ndarray, resolution: np.ndarray, target: float) -> float | None:
    """Training time [s] at the end of the first epoch whose resolution is at or below ``target``."""
    reached = np.flatnonzero(np.isfinite(resolution) & (resolution <= target))
    return None if not len(reached) else float(elapsed[reached[0]])


def time_to_target_rows(study: Study, stat: str = "std") -> list[dict[str, Any]]:
    """One row per model: the columns of the module docstring (None where not available)."""
    base = baseline_model(study)
    base_curve = training_curve(base, stat)
    target = float(np.nanmin(base_curve[1])) if base_curve is not None and np.isfinite(base_curve[1]).any() else None
    base_time = None if target is None else time_to(*base_curve, target)
    rows = []
    for m in study.models:
        curve = training_curve(m, stat)
        t = None if curve is None or target is None else time_to(*curve, target)
        best = None if curve is None or not np.isfinite(curve[1]).any() else float(np.nanmin(curve[1]))
        rows.append({
            "model": m.name,
            "label": m.label,
            "baseline": base.name,
            "target_gcm2": target,
            "time_to_target_s": t,
            "ratio": None if t is None or not base_time else t / base_time,
            "best_gcm2": best,
            "training_time_s": None if curve is None else float(curve[0][-1]),
        })
    return rows


def write_time_to_target(out_dir: str | Path, study: Study, stat: str = "std") -> list[Path]:
    """``time_to_target.csv`` (every column) and ``time_to_target.md`` (a table with its caption)."""
    from airshower.figures.summary import format_duration, markdown_table, write_csv

    out_dir = Path(out_dir)
    rows = time_to_target_rows(study, stat)
    written = [write_csv(out_dir / "time_to_target.csv", rows)]
    base = next((r for r in rows if r["model"] == r["baseline"]), rows[0])
    header = ["model", "time to target", "ratio", "best [g/cm2]", "training time"]
    body = [[r["label"], format_duration(r["time_to_target_s"]) or "not reached",
             "" if r["ratio"] is None else f"{r['ratio']:.2f}",
             "" if r["best_gcm2"] is None else f"{r['best_gcm2']:.1f}", format_duration(r["training_time_s"])]
            for r in rows]
    target = "" if base["target_gcm2"] is None else f" ({base['target_gcm2']:.1f} g/cm2)"
    caption = (f"Training time each model of study '{study.name}' needs to reach the best validation Xmax "
               f"resolution of {base['label']}{target}: the end of the first epoch at or below it (wall time of "
               "the epochs, validation included), and its ratio to the baseline's own time to its best "
               "(0.5: half the training time); good to about one epoch.")
    written.append(write_text(out_dir / "time_to_target.md", markdown_table(header, body, caption)))
    return written


def plot_resolution_vs_time(study: Study, width: str, stat: str = "std") -> Any:
    """Validation Xmax resolution [g/cm2] against the training time, one curve per model (replica 0)."""
    from matplotlib.ticker import MaxNLocator

    from airshower.figures.paper_style import (
        GCM2,
        STAT_SYMBOLS,
        model_legend,
        model_style,
        new_figure,
        note,
        residual_style,
        stat_label,
        time_unit,
    )

    fig, axes = new_figure(width, aspect=0.42 if width == "double" else 0.7)
    ax = axes[0, 0]
    curves = {m.name: training_curve(m, stat) for m in study.models}
    times = [float(c[0][-1]) for c in curves.values() if c is not None and len(c[0])]
    if not times:
        note(ax, "no validation resolution recorded")
        return fig
    factor, unit = time_unit(max(times))
    rows = {r["model"]: r for r in time_to_target_rows(study, stat)}
    target = next(iter(rows.values()))["target_gcm2"]
    for m in study.models:
        curve = curves[m.name]
        if curve is None:
            continue
        style = model_style(m.index)
        ax.plot(curve[0] / factor, curve[1], color=style["color"], lw=1.1, marker=style["marker"], ms=2.5,
                label=m.label)
        for replica in m.replicas:  # the other replicas, thin: the scatter from training
            other = training_curve(replica, stat)
            if other is not None:
                ax.plot(other[0] / factor, other[1], color=style["color"], lw=0.6, alpha=0.4)
        t = rows[m.name]["time_to_target_s"]
        if t is not None:
            ax.plot([t / factor], [target], ls="none", marker="o", ms=6, mfc="none", color=style["color"])
    if target is not None and math.isfinite(target):
        ax.axhline(target, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel(f"training time [{unit}]")
    symbol = residual_style("xmax").symbol
    ax.set_ylabel("validation " + (stat_label(stat, symbol, "g/cm2") if stat in STAT_SYMBOLS
                                   else f"resolution [{GCM2}]"))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    model_legend(fig, ax, width)
    return fig


__all__: Sequence[str] = ("plot_resolution_vs_time", "time_to_target_rows", "write_time_to_target", "baseline_model")
