"""Learning curves of all models: per epoch and against the cumulative training time.

Reads each model's ``history.csv``: ``epoch``, ``train_loss``, ``val_loss``, ``seconds``
(time of each epoch [s]) and, where the trainer records it, the Xmax resolution on the
validation set in physical units (a column ``val_xmax_{stat}_gcm2``, e.g.
``val_xmax_std_gcm2``, :func:`resolution_column`).

* Top row (when any model has that column): the validation Xmax resolution [g/cm2] on a
  linear axis, the quantity the comparison is about.
* Bottom row (the only one without it): validation (solid) and training loss (dashed) in the
  trainer's standardised units. The training loss is averaged over the epoch with
  augmentation, the validation loss is taken after it, so the two need not cross where a
  textbook says; losses compare between models only when they train the same targets with
  the same weights. The axis is logarithmic with two to five readable ticks when the losses
  span more than a factor 3 and are positive (the Gaussian negative log-likelihood of networks
  with an uncertainty head can be negative), else linear.

The time axis is in s, min or h, whichever reads best.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from airshower.figures.paper_style import (
    GCM2,
    STAT_SYMBOLS,
    log_axis,
    model_legend,
    model_style,
    new_figure,
    note,
    residual_style,
    stat_label,
    time_unit,
)
from airshower.figures.study import Study

RESOLUTION_COLUMN = re.compile(r"^val_xmax_(?P<stat>[a-z0-9]+)_gcm2$")


def _column(history: dict[str, np.ndarray], *names: str) -> np.ndarray | None:
    for name in names:
        if name in history and np.isfinite(history[name]).any():
            return history[name]
    return None


def resolution_column(history: dict[str, np.ndarray], stat: str = "std") -> tuple[str, np.ndarray] | None:
    """(statistic, values [g/cm2]) of the validation Xmax resolution per epoch, the ``stat`` column
    preferred; None when the history has no such column (or only empty cells)."""
    found = {}
    for name, values in history.items():
        match = RESOLUTION_COLUMN.match(name)
        if match and np.isfinite(values).any():
            found[match["stat"]] = values
    if not found:
        return None
    key = stat if stat in found else sorted(found)[0]
    return key, found[key]


def _loss_axis(axes_row: np.ndarray, positive: bool, lo: float, hi: float) -> None:
    if positive and hi / lo > 3.0:
        for ax in axes_row:
            log_axis(ax, "y", (lo / 1.15, hi * 1.15))
    else:
        for ax in axes_row:
            ax.yaxis.set_major_locator(MaxNLocator(5))


def plot_learning_curves(study: Study, width: str, stat: str = "std") -> Figure:
    """Validation Xmax resolution (where recorded) and losses vs epoch (left) and training time (right)."""
    resolutions = {m.name: resolution_column(m.history, stat) for m in study.models}
    physical = any(r is not None for r in resolutions.values())
    nrows = 2 if physical else 1
    aspect = (0.42 if width == "double" else 0.62) * (1.0 if nrows == 1 else 1.7)
    fig, axes = new_figure(width, aspect=aspect, ncols=2, nrows=nrows, sharey="row", sharex="col")
    loss_row = axes[-1]
    seconds_all = [np.nansum(m.history["seconds"]) for m in study.models if _column(m.history, "seconds") is not None]
    factor, unit = time_unit(max(seconds_all)) if seconds_all else (60.0, "min")
    drawn = False
    positive = True
    lo, hi = np.inf, -np.inf
    for m in study.models:
        h = m.history
        epoch = _column(h, "epoch")
        val = _column(h, "val_loss", "validation_loss")
        train = _column(h, "train_loss", "training_loss", "loss")
        seconds = _column(h, "seconds", "epoch_seconds", "time_s")
        if epoch is None or (val is None and train is None):
            continue
        style = model_style(m.index)
        elapsed = np.nancumsum(seconds) / factor if seconds is not None else None
        for losses in (val, train):
            if losses is not None and np.isfinite(losses).any():
                positive &= bool(np.nanmin(losses) > 0)
                lo, hi = min(lo, float(np.nanmin(losses))), max(hi, float(np.nanmax(losses)))
        resolution = resolutions[m.name]
        for col, x in enumerate((epoch, elapsed)):
            if x is None:
                continue
            if resolution is not None:
                axes[0, col].plot(x, resolution[1], color=style["color"], lw=1.1, marker=style["marker"], ms=2.5,
                                  label=m.label)
            if val is not None:
                loss_row[col].plot(x, val, color=style["color"], lw=1.1, label=None if physical else m.label)
            if train is not None:
                loss_row[col].plot(x, train, color=style["color"], lw=0.9, ls="--")
        drawn = True
    if not drawn:
        note(axes[0, 0], "no training history")
        return fig
    _loss_axis(loss_row, positive, lo, hi)
    loss_row[0].set_xlabel("epoch")
    loss_row[1].set_xlabel(f"training time [{unit}]")
    loss_row[0].set_ylabel("loss (standardised)")
    loss_row[0].xaxis.set_major_locator(MaxNLocator(5, integer=True))
    if physical:
        shown = {r[0] for r in resolutions.values() if r is not None}
        key = shown.pop() if len(shown) == 1 else stat
        symbol = residual_style("xmax").symbol
        axes[0, 0].set_ylabel("validation\n" + (stat_label(key, symbol, "g/cm2") if key in STAT_SYMBOLS
                                                  else f"resolution [{GCM2}]"))
        axes[0, 0].yaxis.set_major_locator(MaxNLocator(5))
        for ax in axes[0]:
            ax.tick_params(labelbottom=False)
    styles = [(Line2D([], [], color="0.3", lw=1.1), "validation"), (Line2D([], [], color="0.3", lw=0.9, ls="--"), "training")]
    if physical:  # the line styles belong to the loss row: named there, the models above all panels
        loss_row[1].legend(*zip(*styles, strict=True), loc="upper right", fontsize="x-small", handlelength=1.8)
        model_legend(fig, axes, width)
    else:
        model_legend(fig, axes, width, extra=styles)
    return fig
