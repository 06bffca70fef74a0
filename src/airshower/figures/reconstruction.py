"""Every reconstructed target, Xmax against zenith and per primary, and the calibration of the uncertainties.

Each function draws all models of a :class:`~airshower.figures.study.Study` on the nominal
test set from their metrics files (:mod:`airshower.evaluation.metrics`) and returns the
figure; a model that lacks a quantity is left out of its panels, and a figure none of
whose models has the data says so in a note. Points and error bars as in
:mod:`airshower.figures.performance` (bootstrap standard errors, slight shift per model).

* :func:`plot_targets_vs_energy` (``targets_vs_energy``): one column per target other than
  Xmax that any model reconstructs, resolution on top and bias below (where the target has
  one), vs true lg E: relative energy residual in percent, 68% containment of the axis
  opening angle [deg] and core distance [m], ln A residual; a target that separates
  primaries (ln A) gets a further column with its p/Fe merit factor next to the true one.
* :func:`plot_xmax_vs_zenith` (``xmax_vs_zenith``): Xmax resolution and bias vs true zenith.
* :func:`plot_xmax_vs_energy_per_primary` (``xmax_vs_energy_per_primary``): Xmax resolution and bias
  vs lg E, one column per primary p, He, N, Fe.
* :func:`plot_calibration` (``calibration``): per target trained with an uncertainty, the
  width of the pulls (rec - true) / sigma (standard deviation on top, half-width of the
  central 68% below) vs lg E; dashed: 1, a calibrated uncertainty.

Figures of several panel columns put at most two side by side at single-column width and
five at double width; further columns wrap below (:func:`_grid`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.figure import Figure

from airshower.evaluation.metrics import PRIMARIES
from airshower.figures.paper_style import (
    LGE_LABEL,
    PRIMARY_COLOURS,
    ZENITH_LABEL,
    model_legend,
    new_figure,
    note,
    residual_style,
    stat_label,
    width_in,
)
from airshower.figures.performance import EntriesOf, draw_merit_factor, draw_models
from airshower.figures.study import ModelRecord, Study, block_entries, quantity, resolution_stat, target_entries
from airshower.targets import TARGETS

PULL_SYMBOL = r"\mathrm{pull}"


def _grid(width: str, ncols: int, has_bottom: Sequence[bool] | None = None,
          **kwargs: Any) -> tuple[Figure, Any, list[tuple[Any, Any]]]:
    """Panel columns of two rows each (top, bottom): at most 2 side by side at single width, 5 at double
    (further columns wrap below); rows about as high as the panels are wide, 1 in at least.

    ``has_bottom[k]``: column ``k`` uses its bottom panel (default: all do); a row of bottom
    panels none of which is used is squeezed to nothing. Returns the figure, its axes array
    and the (top, bottom) axes of each of the ``ncols`` columns.
    """
    per_row = min(ncols, 2 if width == "single" else 5)
    blocks = -(-ncols // per_row)
    used = list(has_bottom) if has_bottom is not None else [True] * ncols
    ratios = []
    for b in range(blocks):
        ratios += [1.0, 1.0 if any(used[b * per_row:(b + 1) * per_row]) else 0.01]
    w = width_in(width)
    row = max(1.0, min(0.8 * w / per_row, 0.42 * w))
    fig, axes = new_figure(width, aspect=(sum(ratios) * row + 0.35) / w, ncols=per_row, nrows=2 * blocks,
                           gridspec_kw={"height_ratios": ratios}, **kwargs)
    columns = [(axes[2 * (k // per_row), k % per_row], axes[2 * (k // per_row) + 1, k % per_row])
               for k in range(blocks * per_row)]
    for k, (top, bottom) in enumerate(columns):
        if k >= ncols:
            top.axis("off")
        if k >= ncols or not used[k]:
            bottom.axis("off")
    return fig, axes, columns[:ncols]


def _first_in_row(axes: Any, ax: Any) -> bool:
    """Whether ``ax`` is the leftmost panel of its row (where shared rows carry the y label)."""
    return any(ax is row[0] for row in axes)


def _one_panel(width: str, text: str) -> Figure:
    fig, axes = new_figure(width, aspect=0.72 if width == "single" else 0.45)
    note(axes[0, 0], text)
    return fig


def reconstructed(study: Study, block: str | None = None, exclude: Sequence[str] = ()) -> list[str]:
    """Targets (registry order) that a model reconstructs on the nominal set (with ``block``, if given)."""
    return [t for t in TARGETS if t not in exclude
            and any(quantity(m.metrics[study.nominal], t, block) is not None for m in study.models)]


def _models_with(study: Study, entries_of: EntriesOf) -> list[ModelRecord]:
    return [m for m in study.models if entries_of(m)]


def _energy_entries(study: Study, target: str, primary: str = "all") -> EntriesOf:
    return lambda m: target_entries(m.metrics[study.nominal], target, primary)


def _block_entries(study: Study, target: str, block: str) -> EntriesOf:
    return lambda m: block_entries(m.metrics[study.nominal], target, block)


def _x_axis(ax: Any, edges: Sequence[float], label: str, show_label: bool = True) -> None:
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(label if show_label else "")


def _residual_panels(axes: Sequence[Any], study: Study, entries_of: EntriesOf, target: str, stat: str,
                     x_axis: Callable[[Any, bool], None], ylabels: bool = True) -> None:
    """Resolution (``axes[0]``) and, where the target has one, bias (``axes[1]``; else switched off)."""
    top, bottom = axes
    style = residual_style(target)
    models = _models_with(study, entries_of)
    res = resolution_stat(target, stat)
    draw_models(top, study, models, entries_of, res, style.scale)
    has_bias = "bias" in TARGETS[target].statistics
    x_axis(top, not has_bias)
    if ylabels:
        top.set_ylabel(stat_label(res, style.symbol, style.unit))
    if not has_bias:
        bottom.axis("off")  # (the figure squeezes a row of such panels)
        return
    draw_models(bottom, study, models, entries_of, "bias", style.scale)
    bottom.axhline(0.0, color="0.5", lw=0.7, ls=":")
    x_axis(bottom, True)
    if ylabels:
        bottom.set_ylabel(stat_label("bias", style.symbol, style.unit))


def _from_zero(axes: Any) -> None:
    """Start the y axes of widths at 0, once every panel (and its shared siblings) is drawn."""
    for ax in axes:
        if ax.axison:
            ax.set_ylim(bottom=0.0)


def _energy_x(study: Study) -> Callable[[Any, bool], None]:
    edges = study.models[0].metrics[study.nominal]["lg_energy_bins"]
    return lambda ax, show: _x_axis(ax, edges, LGE_LABEL, show)


def plot_targets_vs_energy(study: Study, stat: str, width: str) -> Figure:
    """Resolution and bias of every target but Xmax vs true lg E (and the merit factor of ln A), all models."""
    targets = reconstructed(study, exclude=("xmax",))
    if not targets:
        return _one_panel(width, "no model reconstructs a target besides Xmax")
    columns = [(t, kind) for t in targets for kind in ("residual", "merit_factor")
               if kind == "residual" or TARGETS[t].merit_factor]
    has_bottom = [kind == "residual" and "bias" in TARGETS[t].statistics for t, kind in columns]
    fig, axes, panels = _grid(width, len(columns), has_bottom)
    extra: list[tuple[Any, str]] = []
    for (t, kind), (top, bottom) in zip(columns, panels, strict=True):
        title = residual_style(t).title
        if kind == "merit_factor":
            line = draw_merit_factor(top, study, t)
            top.set_title(f"{title}, p/Fe")
            top.set_ylabel("merit factor")
            if line is not None and not extra:
                extra.append((line, "true value"))
            continue
        _residual_panels((top, bottom), study, _energy_entries(study, t), t, stat, _energy_x(study))
        top.set_title(title)
        _from_zero([top])
    model_legend(fig, axes, width, extra=extra)
    return fig


def plot_xmax_vs_zenith(study: Study, stat: str, width: str) -> Figure:
    """Xmax resolution (top) and bias (bottom) vs true zenith angle [deg], all models."""
    entries_of = _block_entries(study, "xmax", "vs_zenith")
    models = _models_with(study, entries_of)
    if not models:
        return _one_panel(width, "no model reconstructs Xmax")
    fig, axes = new_figure(width, aspect=1.05 if width == "single" else 0.55, nrows=2)
    edges = models[0].metrics[study.nominal]["zenith_bins"]
    _residual_panels(axes[:, 0], study, entries_of, "xmax", stat,
                     lambda ax, show: _x_axis(ax, edges, ZENITH_LABEL, show))
    _from_zero(axes[0])
    model_legend(fig, axes, width)
    return fig


def plot_xmax_vs_energy_per_primary(study: Study, stat: str, width: str) -> Figure:
    """Xmax resolution (top row) and bias (bottom row) vs true lg E, one column per primary, all models."""
    if not _models_with(study, _energy_entries(study, "xmax")):
        return _one_panel(width, "no model reconstructs Xmax")
    fig, axes, panels = _grid(width, len(PRIMARIES), sharey="row")
    for primary, (top, bottom) in zip(PRIMARIES, panels, strict=True):
        _residual_panels((top, bottom), study, _energy_entries(study, "xmax", primary), "xmax", stat,
                         _energy_x(study), ylabels=_first_in_row(axes, top))
        top.set_title(primary, color=PRIMARY_COLOURS[primary])
    _from_zero([top for top, _ in panels])
    model_legend(fig, axes, width)
    return fig


def plot_calibration(study: Study, width: str) -> Figure:
    """Pull width (std on top, half68 below) vs true lg E per target with an uncertainty, all models; dashed: 1."""
    targets = reconstructed(study, "calibration")
    if not targets:
        return _one_panel(width, "no model predicts uncertainties\n(training.uncertainty)")
    fig, axes, panels = _grid(width, len(targets), sharey="row")
    for t, pair in zip(targets, panels, strict=True):
        entries_of = _block_entries(study, t, "calibration")
        models = _models_with(study, entries_of)
        for ax, key in zip(pair, ("std", "half68"), strict=True):
            ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
            draw_models(ax, study, models, entries_of, key)
            _energy_x(study)(ax, key == "half68")
            if _first_in_row(axes, ax):
                ax.set_ylabel(stat_label(key, PULL_SYMBOL))
        pair[0].set_title(residual_style(t).title)
    _from_zero([ax for pair in panels for ax in pair])
    model_legend(fig, axes, width)
    return fig
