"""The headline figure: Xmax resolution against parameter count, wall time and GPU hours.

One point per model, three panels sharing the resolution axis. The resolution is the
configured statistic (``figures.resolution``) on the nominal test set, either over all
energies (``figures.headline_lg_energy: null``) or in the bin of
``evaluation.lg_energy_bins`` holding ``figures.headline_lg_energy``. Parameters and wall
time come from each model's ``train_info.json``; GPU hours are wall time x devices for
models trained on GPUs; models trained on the CPU are drawn with open markers at their
device hours (wall time x 1) so that they still appear.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from airshower.evaluation.binned import bin_containing
from airshower.figures.paper_style import GCM2, log_axis, model_legend, model_style, new_figure, note
from airshower.figures.performance import STAT_LABELS
from airshower.figures.study import ModelRecord, Study, quantity, xmax_entries


def resolution_at(record: ModelRecord, dataset: str, stat: str, lg_energy: float | None) -> tuple[float, float]:
    """(value, error) of an Xmax statistic of one model; NaN where not available."""
    q = quantity(record.metrics[dataset], "xmax")
    if q is None:
        return np.nan, np.nan
    block = q["per_primary"]["all"]
    entry = block["total"] if lg_energy is None else bin_containing(block["bins"], lg_energy)
    if entry is None or entry.get(stat) is None:
        return np.nan, np.nan
    err = entry.get(f"{stat}_err")
    return float(entry[stat]), (np.nan if err is None else float(err))


def energy_label(record: ModelRecord, dataset: str, lg_energy: float | None) -> str:
    """Where the headline resolution is taken, for axis labels and captions."""
    if lg_energy is None:
        edges = record.metrics[dataset]["lg_energy_bins"]
        return rf"{edges[0]:g} $\leq$ lg(E/eV) $\leq$ {edges[-1]:g}"
    bins = xmax_entries(record.metrics[dataset])
    entry = bin_containing(bins, lg_energy) if bins else None
    if entry is None:
        return f"lg(E/eV) = {lg_energy:g} (outside the bins)"
    return rf"{entry['lo']:g} $\leq$ lg(E/eV) < {entry['hi']:g}"


def plot_headline(study: Study, stat: str, lg_energy: float | None, width: str) -> Figure:
    """Three panels: resolution vs parameters, vs wall time [h], vs GPU hours."""
    aspect = 0.42 if width == "double" else 0.55
    fig, axes = new_figure(width, aspect=aspect, ncols=3, sharey=True)
    rows: list[dict[str, Any]] = []
    for m in study.models:
        res, err = resolution_at(m, study.nominal, stat, lg_energy)
        rows.append({"m": m, "res": res, "err": err, "params": m.train("parameters"), "wall": m.wall_hours,
                     "dev": m.device_hours, "gpu": m.on_gpu})
    if not any(np.isfinite(r["res"]) for r in rows):
        for ax in axes[0]:
            note(ax, "no Xmax")
        return fig
    panels = [("params", "parameters"), ("wall", "training time [h]"), ("dev", "GPU hours")]
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        xs = []
        for r in rows:
            x = r[key]
            if x is None or not np.isfinite(r["res"]) or x <= 0:
                continue
            style = model_style(r["m"].index)
            open_marker = key == "dev" and not r["gpu"]
            ax.errorbar([x], [r["res"]], yerr=[0.0 if np.isnan(r["err"]) else r["err"]], color=style["color"],
                        marker=style["marker"], mfc="white" if open_marker else style["color"], ms=4.5, lw=0,
                        elinewidth=0.9, label=r["m"].name if key == "params" else None)
            xs.append(x)
        log_axis(ax)
        ax.set_xlabel(label)
        if xs:
            lo, hi = min(xs), max(xs)
            ax.set_xlim(lo / 2.5, hi * 2.5)
        if key == "dev" and any(not r["gpu"] for r in rows):
            ax.text(0.07, 0.04, "open: CPU-trained\n(device hours)", transform=ax.transAxes, fontsize="x-small",
                    color="0.3", va="bottom")
    axes[0, 0].set_ylabel(f"{STAT_LABELS[stat]} [{GCM2}]")
    axes[0, 0].set_ylim(bottom=0.0, top=1.25 * np.nanmax([r["res"] + np.nan_to_num(r["err"]) for r in rows]))
    axes[0, 0].text(0.07, 0.04, energy_label(study.models[0], study.nominal, lg_energy), transform=axes[0, 0].transAxes,
                    fontsize="x-small", color="0.3", va="bottom")
    model_legend(fig, axes[0, 0], width)
    return fig
