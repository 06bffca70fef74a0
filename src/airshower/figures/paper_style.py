"""One look for every paper figure: widths, fonts, the colour of each model and primary, saving.

* Widths: single column 3.4 in, double column 7.0 in (config ``figures.width``), the
  column widths of the common two-column journals (e.g. PRD, JINST).
* Fonts 8 pt (single) / 9 pt (double), ticks inside on all sides, no frame around legends.
* Models keep one colour and marker in every figure: their position in the study's model
  list picks from the colour-blind-safe Okabe-Ito palette (Okabe & Ito 2008,
  https://jfly.uni-koeln.de/color/).
* Primaries: p red, He orange, N green, Fe blue (light to heavy, warm to cold).
* Targets: :func:`residual_style` gives each target's residual symbol, the scale and unit (from its
  definition in :mod:`airshower.targets`)
  it is shown in (the relative energy residual in percent) and the decimals of tables;
  :func:`stat_label` names a statistic of it.

:func:`save_figure` writes every configured format (``figures.formats``) atomically.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from airshower.atomic import atomic_path  # noqa: E402
from airshower.targets import TARGETS  # noqa: E402

WIDTHS_IN = {"single": 3.4, "double": 7.0}
FONT_PT = {"single": 8.0, "double": 9.0}
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<"]
PRIMARY_COLOURS = {"p": "#c0392b", "He": "#e67e22", "N": "#27ae60", "Fe": "#2c3e8f", "all": "#333333"}

XMAX_LABEL = r"$X_\mathrm{max}$"
GCM2 = r"g/cm$^2$"
LGE_LABEL = r"$\lg(E/\mathrm{eV})$"
ZENITH_LABEL = r"zenith angle $\theta$ [deg]"


@dataclass(frozen=True)
class ResidualStyle:
    """How a target's residual is shown: mathtext symbol (no $), scale and unit of the shown values, table decimals."""

    title: str
    symbol: str
    scale: float
    unit: str
    digits: int


STAT_SYMBOLS = {"std": r"\sigma({s})", "half68": r"\frac{{1}}{{2}}\,w_{{68}}({s})", "bias": r"\langle {s} \rangle",
                "q68": r"{{{s}}}_{{68}}"}


def residual_style(target: str) -> ResidualStyle:
    """The :class:`ResidualStyle` of a target, from its definition in :mod:`airshower.targets`."""
    t = TARGETS[target]
    symbol = t.residual_symbol or rf"\Delta\,\mathrm{{{target.replace('_', chr(92) + '_')}}}"
    unit = t.display_unit if t.display_unit is not None else ("" if t.residual_unit == "1" else t.residual_unit)
    return ResidualStyle(t.label, symbol, t.display_scale, unit, t.decimals)


def stat_label(stat: str, symbol: str, unit: str = "") -> str:
    """Axis label of a statistic of a residual, e.g. sigma(Delta Xmax) [g/cm2] (no unit: no brackets)."""
    text = "$" + STAT_SYMBOLS[stat].format(s=symbol) + "$"
    shown = GCM2 if unit == "g/cm2" else unit
    return f"{text} [{shown}]" if shown else text


def width_in(width: str) -> float:
    """Figure width [in] of ``single`` or ``double`` column."""
    return WIDTHS_IN[width]


def rc_params(width: str) -> dict[str, object]:
    """The matplotlib settings of the paper style for a column width."""
    size = FONT_PT[width]
    return {
        "font.size": size,
        "axes.labelsize": size,
        "axes.titlesize": size,
        "legend.fontsize": size - 1,
        "xtick.labelsize": size - 1,
        "ytick.labelsize": size - 1,
        "xtick.direction": "in",
        "ytick.direction": "in",
        "xtick.top": True,
        "ytick.right": True,
        "xtick.minor.visible": True,
        "ytick.minor.visible": True,
        "axes.linewidth": 0.7,
        "lines.linewidth": 1.2,
        "lines.markersize": 4.0,
        "errorbar.capsize": 1.5,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "savefig.bbox": None,  # keep the exact column width; constrained layout keeps labels inside
        "pdf.fonttype": 42,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
        "mathtext.default": "regular",
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    }


@contextmanager
def paper_style(width: str) -> Iterator[None]:
    """Context in which figures are drawn in the paper style."""
    with plt.rc_context(rc_params(width)):
        yield


def new_figure(width: str, aspect: float = 0.75, ncols: int = 1, nrows: int = 1, **kwargs: object):
    """A figure of the column ``width`` and height ``aspect`` x width, with its axes."""
    w = width_in(width)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, w * aspect), squeeze=False, **kwargs)
    return fig, axes


def model_style(index: int) -> dict[str, object]:
    """Colour and marker of the model at position ``index`` of the study's model list."""
    return {"color": OKABE_ITO[index % len(OKABE_ITO)], "marker": MARKERS[index % len(MARKERS)]}


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Sequence[str], dpi: int) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<fmt>`` for each format (atomically) and close it."""
    paths = []
    try:
        for fmt in formats:
            path = Path(out_dir) / f"{stem}.{fmt}"
            with atomic_path(path, suffix=f".{fmt}") as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi)
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def model_legend(fig: Figure, ax: object, width: str, extra: Sequence[tuple[object, str]] = ()) -> None:
    """The legend of the models (handles of ``ax``, or of every axes of an array, plus ``extra``) above the panels."""
    handles: list[object] = []
    labels: list[str] = []
    for one in ax.flat if hasattr(ax, "flat") else [ax]:  # type: ignore[attr-defined]
        for handle, label in zip(*one.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    for handle, label in extra:
        handles.append(handle)
        labels.append(label)
    if not handles:
        return
    ncol = min(len(handles), 3 if width == "single" else 6)
    fig.legend(handles, labels, loc="outside upper center", ncol=ncol, columnspacing=1.0, handletextpad=0.4)


def note(ax: object, text: str) -> None:
    """A grey note in the middle of an axes (e.g. 'no model reconstructs Xmax')."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")  # type: ignore[attr-defined]


def compact_number(value: float) -> str:
    """A tick label such as 300, 3k, 25M or 0.02 (no exponent notation)."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def log_axis(ax: object, axis: str = "x") -> None:
    """Log scale labelled at the powers of ten only, compactly (narrow panels stay readable)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis  # type: ignore[attr-defined]
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")  # type: ignore[attr-defined]
    target.set_major_locator(LogLocator(base=10, subs=(1.0,)))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: compact_number(v)))
    target.set_minor_formatter(NullFormatter())
