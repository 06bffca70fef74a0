"""Xmax performance versus energy: resolution, bias, merit factor and model dependence.

Every function draws all models of a :class:`~airshower.figures.study.Study` into one
figure from their metrics files and returns the figure (saving is the caller's job).
Points sit at the mean true lg(E/eV) of each bin, shifted slightly per model so error bars
do not hide each other; error bars are the bootstrap standard errors of the metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from airshower.figures.paper_style import (
    GCM2,
    LGE_LABEL,
    STAT_SYMBOLS,
    XMAX_LABEL,
    model_legend,
    model_style,
    new_figure,
    note,
    residual_style,
    stat_label,
)
from airshower.figures.study import ModelRecord, Study, block_entries, true_merit_factor, xmax_entries

STAT_LABELS = {stat: stat_label(stat, residual_style("xmax").symbol) for stat in STAT_SYMBOLS}
EntriesOf = Callable[[ModelRecord], "Sequence[Mapping[str, Any]] | None"]


def _x_positions(entries: Sequence[Mapping[str, Any]], index: int, n_models: int) -> np.ndarray:
    width = min(e["hi"] - e["lo"] for e in entries)
    shift = (index - (n_models - 1) / 2.0) * 0.12 * width / max(1, n_models - 1) if n_models > 1 else 0.0
    return np.array([(e["x_mean"] if e["x_mean"] is not None else 0.5 * (e["lo"] + e["hi"])) + shift for e in entries])


def _values(entries: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    val = np.array([np.nan if e.get(key) is None else e[key] for e in entries], dtype=float)
    err = np.array([np.nan if e.get(f"{key}_err") is None else e[f"{key}_err"] for e in entries], dtype=float)
    return val, np.nan_to_num(err, nan=0.0)


def draw_models(ax: Any, study: Study, models: Sequence[ModelRecord], entries_of: EntriesOf, key: str,
                scale: float = 1.0, **kwargs: Any) -> int:
    """Each model's ``key`` (and ``key_err``) of its bins, times ``scale``; returns how many models were drawn.

    ``entries_of(model)`` gives the bins (None: the model has none). Line width 0.9 unless
    ``kwargs`` say otherwise (``lw=0`` for markers only).
    """
    n = len(study.models)
    drawn = 0
    for m in models:
        entries = entries_of(m)
        if not entries:
            continue
        val, err = _values(entries, key)
        style = model_style(m.index)
        ax.errorbar(_x_positions(entries, m.index, n), val * scale, yerr=err * scale, label=m.label,
                    **({"lw": 0.9, "ms": 3.5} | kwargs), color=style["color"], marker=style["marker"])
        drawn += 1
    return drawn


def _energy_axis(ax: Any, edges: Sequence[float]) -> None:
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(LGE_LABEL)


def _xmax_models(study: Study) -> list[ModelRecord]:
    return [m for m in study.models if xmax_entries(m.metrics[study.nominal]) is not None]


def plot_xmax_vs_energy(study: Study, stat: str, width: str) -> Figure:
    """Xmax resolution (``stat`` = ``std`` or ``half68``) or bias (``bias``) vs energy, all models, nominal set."""
    fig, axes = new_figure(width, aspect=0.72 if width == "single" else 0.45)
    ax = axes[0, 0]
    models = _xmax_models(study)
    if not models:
        note(ax, "no model reconstructs Xmax")
        return fig
    draw_models(ax, study, models, lambda m: xmax_entries(m.metrics[study.nominal]), stat)
    edges = models[0].metrics[study.nominal]["lg_energy_bins"]
    _energy_axis(ax, edges)
    ax.set_ylabel(f"{STAT_LABELS[stat]} [{GCM2}]")
    if stat == "bias":
        ax.axhline(0.0, color="0.5", lw=0.7, ls=":")
    else:
        ax.set_ylim(bottom=0.0)
    model_legend(fig, ax, width)
    return fig


def draw_merit_factor(ax: Any, study: Study, target: str) -> Line2D | None:
    """The p/Fe merit factor of a target on the nominal set: reconstructed (each model) and true (grey).

    Returns the handle of the true line for the legend, or None: when the true merit factor
    is infinite (ln A is one value per primary; the panel says "true: inf") or missing, and
    with a note when no model reports a merit factor of ``target``.
    """
    def entries_of(m: ModelRecord) -> list[dict[str, Any]] | None:
        entries = block_entries(m.metrics[study.nominal], target, "merit_factor")
        return None if entries is None else [{**e, "x_mean": 0.5 * (e["lo"] + e["hi"])} for e in entries]

    models = [m for m in study.models if entries_of(m) is not None]
    if not models:
        note(ax, f"no merit factor of {target}")
        return None
    ref = entries_of(models[0]) or []
    true = np.array([np.nan if v is None else v for v in map(true_merit_factor, ref)], dtype=float)
    _, true_err = _values(ref, "true")
    for i, e in enumerate(ref):
        if np.isfinite(true[i]):
            ax.fill_between([e["lo"], e["hi"]], true[i] - true_err[i], true[i] + true_err[i], color="0.8", lw=0)
            ax.plot([e["lo"], e["hi"]], [true[i], true[i]], color="0.35", lw=1.0)
    if np.isposinf(true).any():
        ax.text(0.05, 0.05, r"true: $\infty$", transform=ax.transAxes, fontsize="small", color="0.35")
    draw_models(ax, study, models, entries_of, "reco", lw=0, elinewidth=0.9)
    _energy_axis(ax, models[0].metrics[study.nominal]["lg_energy_bins"])
    ax.set_ylabel(r"merit factor p/Fe")
    ax.set_ylim(bottom=0.0)
    return Line2D([], [], color="0.35", lw=1.0) if np.isfinite(true).any() else None


def plot_merit_factor(study: Study, width: str) -> Figure:
    """p/Fe merit factor of reconstructed Xmax (each model) and of true Xmax (grey band) vs energy."""
    fig, axes = new_figure(width, aspect=0.72 if width == "single" else 0.45)
    ax = axes[0, 0]
    if not _xmax_models(study):
        note(ax, "no model reconstructs Xmax")
        return fig
    true_line = draw_merit_factor(ax, study, "xmax")
    model_legend(fig, ax, width, extra=[] if true_line is None else [(true_line, f"true {XMAX_LABEL}")])
    return fig


def bias_shift(nominal: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin Xmax bias on ``other`` minus bias on ``nominal`` and its error (independent test sets)."""
    b0, e0 = _values(nominal, "bias")
    b1, e1 = _values(other, "bias")
    return b1 - b0, np.hypot(e0, e1)


def _shift_entries(m: ModelRecord, nominal: str, dataset: str) -> list[dict[str, Any]]:
    """The Xmax bins of ``dataset`` with the bias shift from ``nominal`` as ``shift`` and ``shift_err``."""
    other = xmax_entries(m.metrics[dataset]) or []
    shift, err = bias_shift(xmax_entries(m.metrics[nominal]) or [], other)
    return [{**e, "shift": float(s), "shift_err": float(r)} for e, s, r in zip(other, shift, err, strict=True)]


def plot_model_dependence(study: Study, width: str) -> Figure:
    """Each model's Xmax bias shift from the nominal test set to each other test set, vs energy."""
    others = study.datasets[1:]
    ncols = max(1, len(others))
    w_aspect = (0.72 if width == "single" else 0.45) * (1.0 if ncols == 1 else 1.6 / ncols)
    fig, axes = new_figure(width, aspect=max(w_aspect, 0.35), ncols=ncols, sharey=True)
    models = _xmax_models(study)
    if not others or not models:
        note(axes[0, 0], "only one test dataset" if not others else "no model reconstructs Xmax")
        return fig
    for k, ds in enumerate(others):
        ax = axes[0, k]
        ax.axhline(0.0, color="0.5", lw=0.7, ls=":")
        draw_models(ax, study, models, lambda m, ds=ds: _shift_entries(m, study.nominal, ds), "shift")
        _energy_axis(ax, models[0].metrics[ds]["lg_energy_bins"])
        ax.set_title(f"{study.dataset_label(ds)}\nminus {study.dataset_label(study.nominal)}", loc="left",
                     fontsize="small")
    axes[0, 0].set_ylabel(rf"$\Delta$ bias {XMAX_LABEL} [{GCM2}]")
    model_legend(fig, axes[0, 0], width)
    return fig
