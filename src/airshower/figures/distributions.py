"""Event-level Xmax figures of one model on the nominal test set (read from its predictions file).

* :func:`plot_xmax_2d`: reconstructed vs true Xmax as a 2D histogram (log colour scale),
  the diagonal, and the overall bias and standard deviation of the residual.
* :func:`plot_xmax_per_primary`: reconstructed Xmax distributions of p, He, N and Fe
  (filled) over the true ones (lines), optionally restricted to a true lg(E/eV) range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from airshower.evaluation.metrics import PRIMARIES
from airshower.evaluation.prediction_file import Predictions
from airshower.figures.paper_style import GCM2, PRIMARY_COLOURS, XMAX_LABEL, new_figure, note


def xmax_range(truth: np.ndarray, reco: np.ndarray | None = None, pad: float = 0.05) -> tuple[float, float]:
    """A common range covering 99.8% of the true and reconstructed Xmax [g/cm2]."""
    values = np.asarray(truth, dtype=float) if reco is None else np.concatenate([truth, reco]).astype(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 500.0, 1100.0
    lo, hi = np.quantile(values, [0.001, 0.999])
    span = max(hi - lo, 50.0)
    return float(lo - pad * span), float(hi + pad * span)


def _xmax_figure(
    pred: Predictions, width: str, aspect: float, label: str | None = None
) -> tuple[Figure, Axes, np.ndarray | None, np.ndarray | None]:
    """A one-panel figure with the true and reconstructed Xmax [g/cm2] of ``pred``; where the
    model does not reconstruct Xmax, the panel says so and both arrays are None."""
    fig, axes = new_figure(width, aspect=aspect)
    ax = axes[0, 0]
    if "xmax" not in pred.reco:
        note(ax, f"{label or pred.model} does not reconstruct Xmax")
        return fig, ax, None, None
    return fig, ax, np.asarray(pred.truth["xmax"], dtype=float), np.asarray(pred.reco["xmax"], dtype=float)


def plot_xmax_2d(pred: Predictions, width: str, label: str | None = None) -> Figure:
    """2D histogram of reconstructed vs true Xmax with the diagonal; ``label``: the model's display name."""
    label = label or pred.model
    fig, ax, true, reco = _xmax_figure(pred, width, 0.85 if width == "single" else 0.6, label)
    if true is None:
        return fig
    lo, hi = xmax_range(true, reco)
    bins = np.linspace(lo, hi, max(20, min(80, int(np.sqrt(true.size)))))
    counts, _, _, image = ax.hist2d(true, reco, bins=[bins, bins], cmap="viridis", norm=LogNorm(vmin=1), cmin=1)
    ax.plot([lo, hi], [lo, hi], color="0.2", lw=0.8, ls="--")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(f"true {XMAX_LABEL} [{GCM2}]")
    ax.set_ylabel(f"reconstructed {XMAX_LABEL} [{GCM2}]")
    res = reco - true
    ax.text(0.04, 0.96, f"{label}\nbias {res.mean():+.1f} {GCM2}\n$\\sigma$ {res.std(ddof=1):.1f} {GCM2}"
            if res.size > 1 else label, transform=ax.transAxes, va="top", fontsize="small")
    fig.colorbar(image, ax=ax, label="events", shrink=0.9)
    return fig


def plot_xmax_per_primary(pred: Predictions, width: str, lg_energy: Sequence[float] | None = None,
                          label: str | None = None, dataset_label: str | None = None) -> Figure:
    """Reconstructed (filled) and true (line) Xmax distributions per primary (display names: ``label``
    of the model, ``dataset_label`` of the test set)."""
    label = label or pred.model
    fig, ax, true, reco = _xmax_figure(pred, width, 0.72 if width == "single" else 0.45, label)
    if true is None:
        return fig
    mass = np.rint(np.asarray(pred.truth["mass"], dtype=float)).astype(int)
    sel = np.ones(true.shape, dtype=bool)
    title = f"{label}, {dataset_label or pred.dataset}"
    if lg_energy is not None:
        lg_e = np.asarray(pred.truth["lg_energy"], dtype=float)
        sel = (lg_e >= lg_energy[0]) & (lg_e < lg_energy[1])
        title += f", {lg_energy[0]:g} $\\leq$ lg(E/eV) $<$ {lg_energy[1]:g}"
    lo, hi = xmax_range(true[sel], reco[sel]) if sel.any() else (500.0, 1100.0)
    bins = np.linspace(lo, hi, 40)
    for name, a in PRIMARIES.items():
        m = sel & (mass == a)
        if not m.any():
            continue
        colour = PRIMARY_COLOURS[name]
        ax.hist(reco[m], bins=bins, histtype="stepfilled", color=colour, alpha=0.3, lw=0)
        ax.hist(reco[m], bins=bins, histtype="step", color=colour, lw=1.0, label=f"{name} ({m.sum()})")
        ax.hist(true[m], bins=bins, histtype="step", color=colour, lw=0.8, ls=":")
    ax.plot([], [], color="0.3", lw=1.0, label="reconstructed")
    ax.plot([], [], color="0.3", lw=0.8, ls=":", label="true")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(f"{XMAX_LABEL} [{GCM2}]")
    ax.set_ylabel("events")
    ax.set_title(title, loc="left", fontsize="small")
    ax.legend(loc="upper right", fontsize="x-small")
    return fig
