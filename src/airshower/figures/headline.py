"""The headline figure: Xmax resolution against parameter count, training time and (where a GPU was used) GPU time.

One point per model, panels sharing the resolution axis. The resolution is the configured
statistic (``figures.resolution``) on the nominal test set, either over all energies
(``figures.headline_lg_energy: null``) or in the bin of ``evaluation.lg_energy_bins``
holding ``figures.headline_lg_energy``. Parameters and training time come from each
model's ``train_info.json``; the time axis is in s, min or h, whichever reads best. The GPU
time panel (training time x GPUs) appears only when a model was trained on GPUs
(``train_info.json`` names the device) and holds only those models: for a CPU-trained
model it would repeat the training time. Every axis is logarithmic with two to five
labelled ticks (:func:`airshower.figures.paper_style.log_axis`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from airshower.evaluation.binned import bin_containing
from airshower.figures.paper_style import GCM2, log_axis, model_legend, model_style, new_figure, note, time_unit
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
    return rf"{entry['lo']:g} $\leq$ lg(E/eV) $<$ {entry['hi']:g}"


def headline_panels(study: Study) -> list[str]:
    """The x quantities drawn: ``params``, ``time`` and, when a model trained on GPUs, ``gpu``."""
    return ["params", "time"] + (["gpu"] if any(m.on_gpu for m in study.models) else [])


def plot_headline(study: Study, stat: str, lg_energy: float | None, width: str) -> Figure:
    """Resolution vs parameters, vs training time and, where GPUs were used, vs GPU time."""
    panels = headline_panels(study)
    aspect = (0.42 if width == "double" else 0.55) * (1.0 if len(panels) == 3 else 1.1)
    fig, axes = new_figure(width, aspect=aspect, ncols=len(panels), sharey=True)
    rows: list[dict[str, Any]] = []
    for m in study.models:
        res, err = resolution_at(m, study.nominal, stat, lg_energy)
        hours = m.wall_hours
        params = m.train("parameters")
        rows.append({"m": m, "res": res, "err": err, "params": None if params is None else float(params),
                     "time": None if hours is None else hours * 3600.0,
                     "gpu": m.device_hours * 3600.0 if m.on_gpu and m.device_hours is not None else None})
    if not any(np.isfinite(r["res"]) for r in rows):
        for ax in axes[0]:
            note(ax, "no Xmax")
        return fig
    times = [r[k] for r in rows for k in ("time", "gpu") if r[k] is not None and r[k] > 0]
    factor, unit = time_unit(max(times)) if times else (3600.0, "h")
    narrow = width == "single" and len(panels) == 3  # three panels in one column: short labels
    labels = {"params": ("parameters", 1.0), "time": (f"training{'' if narrow else ' time'} [{unit}]", factor),
              "gpu": (f"GPU time [{unit}]", factor)}
    for ax, key in zip(axes[0], panels, strict=True):
        label, scale = labels[key]
        xs = []
        for r in rows:
            x = r[key]
            if x is None or not np.isfinite(r["res"]) or x <= 0:
                continue
            style = model_style(r["m"].index)
            ax.errorbar([x / scale], [r["res"]], yerr=[0.0 if np.isnan(r["err"]) else r["err"]], color=style["color"],
                        marker=style["marker"], ms=4.5, lw=0, elinewidth=0.9,
                        label=r["m"].label if key == "params" else None)
            xs.append(x / scale)
        ax.set_xlabel(label)
        if xs:
            lo, hi = min(xs), max(xs)
            pad = max(2.0, np.sqrt(10.0 * lo / hi))  # at least one decade shown: room for two ticks
            log_axis(ax, "x", (lo / pad, hi * pad))
        else:
            log_axis(ax, "x")
        if key == "gpu" and any(r["gpu"] is None and np.isfinite(r["res"]) for r in rows):
            ax.text(0.05, 0.04, "CPU-trained\nmodels: not shown", transform=ax.transAxes, fontsize="x-small",
                    color="0.3", va="bottom")
    axes[0, 0].set_ylabel(f"{STAT_LABELS[stat]} [{GCM2}]")
    axes[0, 0].set_ylim(bottom=0.0, top=1.25 * np.nanmax([r["res"] + np.nan_to_num(r["err"]) for r in rows]))
    axes[0, 0].text(0.05, 0.04, energy_label(study.models[0], study.nominal, lg_energy), transform=axes[0, 0].transAxes,
                    fontsize="x-small", color="0.3", va="bottom")
    model_legend(fig, axes[0, 0], width)
    return fig
