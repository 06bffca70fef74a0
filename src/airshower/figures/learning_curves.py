"""Learning curves of all models: training and validation loss per epoch and against training time.

Reads the ``history.csv`` columns ``epoch``, ``train_loss``, ``val_loss`` and ``seconds``
(time of each epoch [s]). Solid: validation loss; dashed: training loss (the training
loss is averaged over the epoch with augmentation, the validation loss is taken after it,
so the two need not cross where a textbook says). Losses are in the trainer's
standardised units and comparable between models only when they train the same targets
with the same loss weights. The axis is logarithmic unless a loss is zero or negative: the
Gaussian negative log-likelihood of networks with an uncertainty head can be.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from airshower.figures.paper_style import model_legend, model_style, new_figure, note
from airshower.figures.study import Study


def _column(history: dict[str, np.ndarray], *names: str) -> np.ndarray | None:
    for name in names:
        if name in history:
            return history[name]
    return None


def plot_learning_curves(study: Study, width: str) -> Figure:
    """Two panels: loss vs epoch, and loss vs cumulative training time [min]."""
    fig, axes = new_figure(width, aspect=0.42 if width == "double" else 0.62, ncols=2, sharey=True)
    drawn = False
    positive = True
    for m in study.models:
        h = m.history
        epoch = _column(h, "epoch")
        val = _column(h, "val_loss", "validation_loss")
        train = _column(h, "train_loss", "training_loss", "loss")
        seconds = _column(h, "seconds", "epoch_seconds", "time_s")
        if epoch is None or (val is None and train is None):
            continue
        for losses in (val, train):
            if losses is not None and np.nanmin(losses) <= 0:
                positive = False
        style = model_style(m.index)
        minutes = np.nancumsum(seconds) / 60.0 if seconds is not None else None
        for ax, x in ((axes[0, 0], epoch), (axes[0, 1], minutes)):
            if x is None:
                continue
            if val is not None:
                ax.plot(x, val, color=style["color"], lw=1.1, label=m.name)
            if train is not None:
                ax.plot(x, train, color=style["color"], lw=0.9, ls="--")
        drawn = True
    if not drawn:
        note(axes[0, 0], "no training history")
        return fig
    for ax in axes[0]:
        ax.set_yscale("log" if positive else "linear")
    axes[0, 0].set_xlabel("epoch")
    axes[0, 1].set_xlabel("training time [min]")
    axes[0, 0].set_ylabel("loss (standardised)")
    styles = [(Line2D([], [], color="0.3", lw=1.1), "validation"), (Line2D([], [], color="0.3", lw=0.9, ls="--"), "training")]
    model_legend(fig, axes[0, 1], width, extra=styles)
    return fig
