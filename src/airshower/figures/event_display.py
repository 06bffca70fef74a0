"""An example event: the station footprint on the hexagonal grid, traces, and every model's reconstruction.

The event is read from the nominal test tensor file with :func:`airshower.io.tensors.read_arrays`
at the row its predictions file records (``meta/index``). Panels:

* footprint coloured by total signal (sum of the trace [VEM], log scale) and by start time
  relative to the hottest station [us]: each cell of the G x G axial window drawn as a
  hexagon at its lattice position (:func:`airshower.hexgrid.axial_to_xy`, relative to the
  hottest station); silent stations open, dead stations hatched grey, saturated stations
  with a thick black edge, absent cells not drawn; the true core (open black star with a
  white halo: a position, not a data point), each model's reconstructed core where predicted
  (its open marker), and an arrow for the direction of propagation projected on the ground
  (length 3 km x sin(zenith)), all named in a legend above the panels;
* traces of the hottest stations [VEM per bin] against time [us] (start time + bin x bin width);
* truth and every model's reconstruction, printed.

The example is the event whose true lg(E/eV) is nearest ``figures.example_lg_energy``
among the events every model reconstructed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.collections import PatchCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import RegularPolygon
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

from airshower.errors import InputFileError
from airshower.evaluation.metrics import PRIMARIES
from airshower.evaluation.prediction_file import Predictions
from airshower.figures.paper_style import GCM2, TRUE_CORE, model_style, width_in
from airshower.hexgrid import SPACING_M, axial_to_xy
from airshower.io.tensors import read_arrays, tensor_info
from airshower.station_state import StationState
from airshower.targets import opening_angle_deg

PRIMARY_NAMES = {a: name for name, a in PRIMARIES.items()}
ARROW_KM = 3.0  # length of the propagation arrow for a horizontal shower [km] (x sin(zenith))


@dataclass
class TensorEvent:
    """One event of a tensor file (window arrays of shape (G, G[, ...]))."""

    index: int
    event_id: int
    traces: np.ndarray  # (G, G, T) [VEM/bin]
    start_time: np.ndarray  # (G, G) [ns]
    state: np.ndarray  # (G, G) StationState
    bin_ns: float
    targets: dict[str, np.ndarray]

    @property
    def grid_size(self) -> int:
        return int(self.state.shape[0])

    @property
    def signal(self) -> np.ndarray:
        """(G, G) total signal [VEM]."""
        return self.traces.sum(axis=-1)


def read_event(path: str | Path, index: int) -> TensorEvent:
    """Row ``index`` of a tensor file (:func:`airshower.io.tensors.read_arrays`); :class:`InputFileError` naming the file."""
    path = Path(path)
    info = tensor_info(path)
    if not 0 <= index < info["N"]:
        raise InputFileError(f"{path}: event row {index} does not exist (the file holds {info['N']} events)")
    arrays = read_arrays(path, index, index + 1)
    targets = {k.split("/", 1)[1]: np.asarray(v[0]) for k, v in arrays.items() if k.startswith("targets/")}
    event_id = int(arrays["meta/event_id"][0]) if "meta/event_id" in arrays else index
    return TensorEvent(
        index=index,
        event_id=event_id,
        traces=np.asarray(arrays["inputs/traces"][0], dtype=np.float32),
        start_time=np.asarray(arrays["inputs/start_time"][0], dtype=np.float64),
        state=np.asarray(arrays["inputs/state"][0], dtype=np.int16),
        bin_ns=float(info["bin_ns"]),
        targets=targets,
    )


def choose_example(predictions: Sequence[Predictions], lg_energy: float) -> tuple[int, int]:
    """(tensor-file row, event id) of the event nearest ``lg_energy`` that every model reconstructed."""
    if not predictions:
        raise InputFileError("no predictions to choose an example event from")
    common = set(predictions[0].event_id.tolist())
    for p in predictions[1:]:
        common &= set(p.event_id.tolist())
    first = predictions[0]
    mask = np.isin(first.event_id, list(common))
    if not mask.any():
        raise InputFileError("the models' predictions share no event; were they made from the same tensor file?")
    lg_e = np.where(mask, first.truth["lg_energy"], np.inf)
    k = int(np.argmin(np.abs(lg_e - lg_energy)))
    return int(first.index[k]), int(first.event_id[k])


def _cells(event: TensorEvent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = event.grid_size
    i, j = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    x, y = axial_to_xy(i - g // 2, j - g // 2)
    return x / 1000.0, y / 1000.0, event.state


def _footprint(ax, fig: Figure, event: TensorEvent, values: np.ndarray, norm, cmap: str, label: str) -> None:  # noqa: ANN001
    x, y, state = _cells(event)
    radius = SPACING_M / np.sqrt(3.0) / 1000.0 * 0.97
    on = state >= StationState.TRIGGERED
    silent = state == StationState.SILENT
    dead = state == StationState.DEAD

    def hexes(sel: np.ndarray) -> list[RegularPolygon]:
        return [RegularPolygon((a, b), 6, radius=radius) for a, b in zip(x[sel], y[sel], strict=True)]

    ax.add_collection(PatchCollection(hexes(silent), facecolor="white", edgecolor="0.75", lw=0.4))
    ax.add_collection(PatchCollection(hexes(dead), facecolor="0.85", edgecolor="0.6", lw=0.4, hatch="xxx"))
    coll = PatchCollection(hexes(on), cmap=cmap, norm=norm, edgecolor="0.3", lw=0.4)
    coll.set_array(values[on])
    ax.add_collection(coll)
    sat = state == StationState.SATURATED
    if sat.any():
        ax.add_collection(PatchCollection(hexes(sat), facecolor="none", edgecolor="black", lw=1.4))
    shown = state >= StationState.DEAD
    if shown.any():
        pad = 1.0
        ax.set_xlim(x[shown].min() - pad, x[shown].max() + pad)  # y follows from the equal aspect
    ax.set_aspect("equal", adjustable="datalim")  # fill the panel; the lattice keeps its shape
    ax.set_xlabel("x [km]")
    ax.set_ylabel("y [km]")
    bar = fig.colorbar(coll, ax=ax, label=label, location="bottom", shrink=0.85, pad=0.02)
    if isinstance(norm, LogNorm):
        decades = np.log10(norm.vmax / norm.vmin)
        bar.ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades < 1.5 else (1.0,), numticks=8))
        bar.ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        bar.ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        bar.ax.xaxis.set_major_locator(MaxNLocator(4))




def _halo(width: float) -> list[object]:
    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _mark_geometry(ax, event: TensorEvent, models: Sequence[tuple[int, Predictions, int, str]]) -> list[tuple[object, str]]:  # noqa: ANN001
    """True core (open black star with a white halo), direction arrow and each model's reconstructed
    core (its open marker); returns the legend entries (handle, text) of what was drawn."""
    entries: list[tuple[object, str]] = []
    core = event.targets.get("core")
    if core is not None:
        cx, cy = float(core[0]) / 1000.0, float(core[1]) / 1000.0
        (star,) = ax.plot([cx], [cy], ls="none", zorder=7, **TRUE_CORE)
        star.set_path_effects(_halo(2.2))
        entries.append((Line2D([], [], ls="none", **TRUE_CORE), "true core"))
        axis = event.targets.get("axis")
        if axis is not None:
            # the axis points to where the shower comes from; it propagates along -axis
            arrow = ax.annotate("", xy=(cx - ARROW_KM * axis[0], cy - ARROW_KM * axis[1]), xytext=(cx, cy),
                                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.3}, zorder=5)
            arrow.arrow_patch.set_path_effects(_halo(2.6))
            entries.append((Line2D([], [], ls="none", marker=r"$\rightarrow$", color="black", ms=9),
                            "direction (ground)"))
    for index, pred, k, label in models:
        if "core" in pred.reco:
            rx, ry = pred.reco["core"][k] / 1000.0
            style = model_style(index)
            marks = {"marker": style["marker"], "color": style["color"], "mfc": "none", "ms": 5, "mew": 1.0}
            (point,) = ax.plot([rx], [ry], ls="none", zorder=6, **marks)
            point.set_path_effects(_halo(2.2))
            entries.append((Line2D([], [], ls="none", **marks), f"{label}: core"))
    return entries


def _summary_text(event: TensorEvent, models: Sequence[tuple[int, Predictions, int, str]]) -> str:
    first = models[0][1]
    k0 = models[0][2]
    mass = int(round(float(first.truth["mass"][k0])))
    width = min(22, max(6, *(len(label) + 1 for *_, label in models)))
    lines = [
        f"event {event.event_id}  (row {event.index})",
        f"A = {mass} ({PRIMARY_NAMES.get(mass, '?')}), zenith {float(first.truth['zenith'][k0]):.1f} deg",
        f"true: Xmax {float(first.truth['xmax'][k0]):.0f} {GCM2}, lg E {float(first.truth['lg_energy'][k0]):.2f}",
        "",
        f"{'model':<{width}}{'Xmax':>6}{'dX':>6}{'lgE':>7}{'dAx':>6}",
    ]
    for _, pred, k, label in models:
        xmax = pred.reco.get("xmax")
        lg_e = pred.reco.get("lg_energy")
        axis = pred.reco.get("axis")
        cols = [
            f"{xmax[k]:6.0f}" if xmax is not None else f"{'-':>6}",
            f"{xmax[k] - pred.truth['xmax'][k]:+6.0f}" if xmax is not None else f"{'-':>6}",
            f"{lg_e[k]:7.2f}" if lg_e is not None else f"{'-':>7}",
            f"{opening_angle_deg(axis[k:k + 1], pred.truth['axis'][k:k + 1])[0]:6.2f}" if axis is not None
            else f"{'-':>6}",
        ]
        lines.append(f"{label[:width - 1]:<{width}}" + "".join(cols))
    lines.append("")
    lines.append(f"dX: reco - true [{GCM2}]; dAx: axis error [deg]")
    return "\n".join(lines)


def plot_example_event(
    event: TensorEvent,
    models: Sequence[tuple[int, Predictions]],
    width: str,
    n_traces: int = 4,
    labels: Sequence[str] | None = None,
) -> Figure:
    """The example-event figure; ``models`` pairs each model's style index with its predictions,
    ``labels`` are their display names (default: the names in the predictions files)."""
    import matplotlib.pyplot as plt

    rows = []
    for n, (index, pred) in enumerate(models):
        match = np.flatnonzero(pred.event_id == event.event_id)
        if match.size == 0:
            raise InputFileError(f"{pred.path}: event {event.event_id} is not in the predictions of {pred.model}")
        rows.append((index, pred, int(match[0]), labels[n] if labels else pred.model))
    w = width_in(width)
    if width == "single":  # footprints side by side, then traces, then the text, each full width
        fig = plt.figure(figsize=(w, w * 1.4))
        grid = fig.add_gridspec(3, 2, height_ratios=[1.0, 0.85, 0.7])
        ax_sig, ax_time = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_tr, ax_txt = fig.add_subplot(grid[1, :]), fig.add_subplot(grid[2, :])
    else:
        fig = plt.figure(figsize=(w, w * 0.72))
        grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1.0])
        ax_sig, ax_time = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_tr, ax_txt = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])

    signal = event.signal
    on = event.state >= StationState.TRIGGERED
    positive = signal[on & (signal > 0)]
    sig_norm = LogNorm(vmin=max(positive.min(), 0.1), vmax=positive.max()) if positive.size else LogNorm(0.1, 10)
    _footprint(ax_sig, fig, event, np.clip(signal, sig_norm.vmin, None), sig_norm, "viridis", "signal [VEM]")
    t_us = event.start_time / 1000.0
    t_on = t_us[on]
    t_norm = Normalize(vmin=t_on.min(), vmax=t_on.max()) if t_on.size else Normalize(0, 1)
    _footprint(ax_time, fig, event, t_us, t_norm, "plasma", r"start time [$\mu$s]")
    for ax in (ax_sig, ax_time):
        entries = _mark_geometry(ax, event, rows)
    if entries:
        handles, texts = zip(*entries, strict=True)
        fig.legend(handles, texts, loc="outside upper center", ncol=min(len(entries), 3 if width == "single" else 6),
                   columnspacing=1.0, handletextpad=0.3, fontsize="x-small")
    ax_time.set_ylabel("")

    order = np.argsort(np.where(on, signal, -np.inf), axis=None)[::-1][: max(0, n_traces)]
    g = event.grid_size
    cmap = plt.get_cmap("viridis")
    shown = 0
    for rank, flat in enumerate(order):
        i, j = np.unravel_index(flat, signal.shape)
        if not on[i, j]:
            continue
        t = (event.start_time[i, j] + event.bin_ns * np.arange(event.traces.shape[-1])) / 1000.0
        colour = cmap(rank / max(1, len(order) - 1) * 0.85)
        ax_tr.step(t, event.traces[i, j], where="post", lw=0.8, color=colour,
                   label=f"({i - g // 2:+d},{j - g // 2:+d}) {signal[i, j]:.0f} VEM")
        shown += 1
    ax_tr.set_xlabel(r"time [$\mu$s]")
    ax_tr.set_ylabel("signal [VEM / bin]")
    if shown:
        ax_tr.legend(loc="upper right", fontsize="xx-small", title=r"($\Delta q$,$\Delta r$) total",
                     title_fontsize="xx-small")
    ax_txt.axis("off")
    ax_txt.text(0.0, 1.0, _summary_text(event, rows), va="top", ha="left",
                family="monospace", fontsize="x-small", transform=ax_txt.transAxes)
    return fig

