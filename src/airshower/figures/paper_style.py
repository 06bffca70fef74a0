"""One look for every paper figure: widths, fonts, the colour of each model and primary, saving.

* Widths: single column 3.4 in, double column 7.0 in (config ``figures.width``), the
  column widths of the common two-column journals (e.g. PRD, JINST).
* Fonts 8 pt (single) / 9 pt (double), ticks inside on all sides, no frame around legends.
* Two looks (config ``figures.style``): ``default``, DejaVu Sans with upright mathtext (screen
  and report); ``journal``, serif text in Latin Modern Roman with Computer Modern mathtext and
  italic symbols, the faces of a LaTeX paper. The Latin Modern fonts come from ``mplhep-data``
  (``pip install mplhep``, optional: not a dependency of the package); without them the journal
  style uses STIX (Times-like text and math), which matplotlib ships. ``figures.usetex: true`` typesets
  every label with LaTeX in the journal style where ``latex`` (and ``dvipng`` for PNG) is
  installed, else it warns and keeps mathtext.
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

import shutil  # noqa: E402
import warnings  # noqa: E402

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
    shown = GCM2 if unit == "g/cm2" else (r"$\%$" if unit == "%" else unit)  # (also typesets with usetex)
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


STYLES = ("default", "journal")
# serif faces of the journal style, first found wins: Latin Modern (mplhep-data), then matplotlib's own
JOURNAL_SERIF = ["Latin Modern Roman", "CMU Serif", "STIXGeneral", "DejaVu Serif"]


def _register_journal_fonts() -> bool:
    """Make the Latin Modern fonts of ``mplhep-data`` (a dependency of mplhep) known to matplotlib;
    False when the package is not installed."""
    from matplotlib import font_manager

    if any(f.name == "Latin Modern Roman" for f in font_manager.fontManager.ttflist):
        return True
    try:
        import mplhep_data
    except ImportError:
        return False
    folder = Path(mplhep_data.__file__).parent / "fonts"
    for name in ("latinmodernroman", "latinmodernmath"):
        for path in sorted((folder / name).glob("*.otf")):
            font_manager.fontManager.addfont(str(path))
    return any(f.name == "Latin Modern Roman" for f in font_manager.fontManager.ttflist)


def latex_available(formats: Sequence[str] = ("pdf",)) -> bool:
    """Whether matplotlib can typeset with LaTeX here: ``latex``, and ``dvipng`` for PNG files."""
    needed = ["latex"] + (["dvipng"] if "png" in formats else [])
    return all(shutil.which(tool) for tool in needed)


def style_params(style: str = "default", usetex: bool = False, formats: Sequence[str] = ("pdf",)) -> dict[str, object]:
    """The matplotlib settings of a look (:data:`STYLES`) on top of :func:`rc_params`."""
    if style not in STYLES:
        raise ValueError(f"figures.style = {style!r}: choose one of {list(STYLES)}")
    if style == "default":
        return {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}
    latin_modern = _register_journal_fonts()
    params: dict[str, object] = {
        "font.family": "serif",
        "font.serif": JOURNAL_SERIF if latin_modern else ["STIXGeneral", "DejaVu Serif"],
        "mathtext.fontset": "cm" if latin_modern else "stix",
        "mathtext.default": "it",
        "axes.formatter.use_mathtext": True,
    }
    if usetex:
        if latex_available(formats):
            params |= {"text.usetex": True, "text.latex.preamble": r"\usepackage{amsmath}"}
        else:
            warnings.warn("figures.usetex: true, but latex (and dvipng for PNG) is not installed: drawing the "
                          "journal style with mathtext", stacklevel=2)
    return params


@contextmanager
def paper_style(width: str, style: str = "default", usetex: bool = False,
                formats: Sequence[str] = ("pdf",)) -> Iterator[None]:
    """Context in which figures are drawn in the paper style (``style``: ``default`` or ``journal``)."""
    import logging

    # fontTools, embedding the OpenType fonts of the journal style, logs a line per font about its dates
    quiet = logging.getLogger("fontTools")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with plt.rc_context(rc_params(width) | style_params(style, usetex, formats)):
            yield
    finally:
        quiet.setLevel(level)


def new_figure(width: str, aspect: float = 0.75, ncols: int = 1, nrows: int = 1, **kwargs: object):
    """A figure of the column ``width`` and height ``aspect`` x width, with its axes."""
    w = width_in(width)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, w * aspect), squeeze=False, **kwargs)
    return fig, axes


def model_style(index: int) -> dict[str, object]:
    """Colour and marker of the model at position ``index`` of the study's model list: the eight
    colours and markers in step, the markers shifted by one in each further round of colours, so
    that up to 64 models get distinct pairs."""
    shift = index // len(OKABE_ITO)
    return {"color": OKABE_ITO[index % len(OKABE_ITO)], "marker": MARKERS[(index + shift) % len(MARKERS)]}


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
    ncol = legend_columns(labels, fig.get_figwidth(), 3 if width == "single" else 6)
    rows = -(-len(labels) // ncol)
    if rows > 2:  # a long legend: the figure grows by its extra rows, the panels keep their height
        fig.set_figheight(fig.get_figheight() + (rows - 2) * 1.35 * _legend_points() / 72.0)
    fig.legend(handles, labels, loc="outside upper center", ncol=ncol, columnspacing=1.0, handletextpad=0.4)


def _legend_points() -> float:
    """The legend's font size [pt] (rcParams may give it as a name such as 'small')."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points())


def legend_columns(labels: Sequence[str], width_in: float, most: int) -> int:
    """The most columns (up to ``most``) in which a legend of ``labels`` fits ``width_in`` (estimated:
    about 0.55 em a character, 2 em of handle and 1 em between columns), so that long display labels
    wrap into more rows instead of running off the figure."""
    em = _legend_points() / 72.0
    for ncol in range(min(len(labels), most), 1, -1):
        rows = -(-len(labels) // ncol)
        columns = [labels[c * rows:(c + 1) * rows] for c in range(ncol)]
        needed = sum(max((len(t) for t in col), default=0) * 0.55 * em + 2.0 * em for col in columns if col)
        if needed + (ncol - 1) * em <= 0.97 * width_in:
            return ncol
    return 1


def note(ax: object, text: str) -> None:
    """A grey note in the middle of an axes (e.g. 'no model reconstructs Xmax')."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")  # type: ignore[attr-defined]


def compact_number(value: float) -> str:
    """A tick label such as 300, 3k, 25M or 0.02 (no exponent notation)."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def readable_log_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Three (else two) to ``most`` tick values in [lo, hi] of a log axis: the coarsest of powers of
    ten (every n-th over many decades), 1-3, 1-2-5, 1-2-3-5-7 steps that gives three; a span without
    two such values gets its two ends."""
    import math

    lo, hi = sorted((float(lo), float(hi)))
    if not (lo > 0 and math.isfinite(hi)):
        return []
    decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    choices = []
    for subs in ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0, 7.0), (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)):
        ticks = [float(f"{m * 10.0**e:.6g}") for e in decades for m in subs if lo <= m * 10.0**e <= hi * (1 + 1e-9)]
        if len(ticks) > most and subs == (1.0,):
            return ticks[:: math.ceil(len(ticks) / most)]
        if 3 <= len(ticks) <= most:
            return ticks
        choices.append(ticks)
    two = [t for t in choices if len(t) == 2]
    return two[0] if two else [float(f"{lo:.2g}"), float(f"{hi:.2g}")]


def log_axis(ax: object, axis: str = "x", limits: tuple[float, float] | None = None) -> None:
    """Log scale with two to five compactly labelled ticks (300, 3k, 25M, 0.02) whatever the span
    (:func:`readable_log_ticks` of the final ``limits``, else of the current ones); minor ticks unlabelled."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis  # type: ignore[attr-defined]
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")  # type: ignore[attr-defined]
    if limits is not None:
        (ax.set_xlim if axis == "x" else ax.set_ylim)(*limits)  # type: ignore[attr-defined]
    lo, hi = (ax.get_xlim if axis == "x" else ax.get_ylim)()  # type: ignore[attr-defined]
    target.set_major_locator(FixedLocator(readable_log_ticks(lo, hi)))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: compact_number(v)))
    target.set_minor_locator(LogLocator(base=10, subs="auto"))
    target.set_minor_formatter(NullFormatter())


TIME_UNITS = ((120.0, 1.0, "s"), (7200.0, 60.0, "min"), (float("inf"), 3600.0, "h"))


def time_unit(seconds: float) -> tuple[float, str]:
    """(seconds per unit, unit) in which a time axis reaching ``seconds`` reads best: s below 2 min,
    min below 2 h, else h (as the tables, :func:`airshower.figures.summary.format_duration`)."""
    for limit, factor, unit in TIME_UNITS:
        if seconds < limit:
            return factor, unit
    return 3600.0, "h"


# the true shower core in footprints: an open star, a position rather than a data point
TRUE_CORE = {"marker": "*", "ms": 8.5, "mfc": "none", "mec": "black", "mew": 1.1}
