"""SD-reconstructed Xmax against the fluorescence detector's, for hybrid events of the Auger open data.

Input: the per-event table that ``airshower reconstruct`` writes (HDF5 ``.h5``/``.hdf5``: one
dataset per column under ``events/`` with a ``unit`` attribute; or CSV ``.csv``, without
units), from a tensor file converted from the Auger open data with the summary CSV (docs/
auger-open-data.md). Columns used: ``xmax``, the network's Xmax [g/cm2], and
``reference_fd_xmax``, the FD Xmax of the event [g/cm2] (NaN for events without FD; the
converter stores the source's reference fields under ``reference/<name>`` and reconstruct
copies them as ``reference_<name>``). In an HDF5 table both units must be g/cm2; a CSV table
carries none, and g/cm2 is assumed.

:func:`draw_sd_vs_fd` draws, in the paper style (single column), the SD Xmax against the FD
Xmax with the identity line (top) and the difference SD - FD against the FD Xmax with its
mean and standard deviation in the legend (bottom); a table without hybrid events gives the
figure with a note. Hybrid events only: rows where both values are finite.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airshower.errors import InputFileError
from airshower.figures.paper_style import GCM2, OKABE_ITO, XMAX_LABEL, new_figure, note, paper_style, save_figure

SD_COLUMN = "xmax"
FD_COLUMN = "reference_fd_xmax"
UNIT = "g/cm2"


@dataclass(frozen=True)
class SdFdSummary:
    """What :func:`draw_sd_vs_fd` drew: hybrid events, mean and standard deviation of SD - FD [g/cm2]."""

    events: int
    mean: float
    std: float
    path: Path


def _read_columns(table: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named float columns of a reconstruct table (HDF5 or CSV), checked for unit (HDF5)."""
    if not table.is_file():
        raise InputFileError(f"{table}: table not found")
    suffix = table.suffix.lower()
    out: dict[str, np.ndarray] = {}
    if suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(table, "r") as f:
                group = f.get("events")
                if group is None:
                    raise InputFileError(f"{table}: no 'events' group: not a table of airshower reconstruct")
                for name in names:
                    if name not in group:
                        raise InputFileError(_missing(table, name))
                    expected = "" if name == "t5" else UNIT  # the 6T5 flag has no unit
                    unit = str(group[name].attrs.get("unit", expected))
                    if unit != expected:
                        raise InputFileError(f"{table}: column '{name}' is in {unit!r}, expected {expected!r}")
                    out[name] = np.asarray(group[name][()], dtype=np.float64)
        except OSError as exc:
            raise InputFileError(f"{table}: cannot be read as HDF5 ({exc})") from exc
        return out
    if suffix != ".csv":
        raise InputFileError(f"{table}: unknown table format {suffix!r} (reconstruct writes .h5, .hdf5 or .csv)")
    with open(table, newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for name in names:
            if name not in header:
                raise InputFileError(_missing(table, name))
        values: dict[str, list[float]] = {name: [] for name in names}
        for line, row in enumerate(reader, start=2):
            for name in names:
                text = (row[name] or "").strip()
                try:
                    values[name].append(float(text) if text else np.nan)
                except ValueError:
                    raise InputFileError(f"{table}: line {line}: column '{name}' = {text!r} is not a number") from None
    return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}


def _missing(table: Path, name: str) -> str:
    if name == FD_COLUMN:
        return (f"{table}: no column '{FD_COLUMN}': reconstruct a tensor file converted from the Auger open data "
                "with its summary CSV (docs/auger-open-data.md)")
    return f"{table}: no column '{name}': the network does not reconstruct Xmax"


def draw_sd_vs_fd(
    table_path: str | Path,
    output_path: str | Path,
    dpi: int = 300,
    t5_only: bool = False,
    style: str = "default",
    usetex: bool = False,
) -> SdFdSummary:
    """Draw SD against FD Xmax of the hybrid events of ``table_path`` into ``output_path``.

    The format follows the suffix of ``output_path`` (``.pdf``, ``.png``, ...); the file is
    written atomically. Returns the number of hybrid events and the mean and standard
    deviation of SD - FD [g/cm2] (NaN without hybrid events). ``t5_only``: the 6T5 events only
    (the table's ``t5`` column, as ``evaluation.selection`` selects them); ``style``/``usetex``:
    those of ``figures``.
    """
    table = Path(table_path)
    output = Path(output_path)
    fmt = output.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"{output}: give the figure's format as the file suffix (.pdf, .png, ...)")
    cols = _read_columns(table, (SD_COLUMN, FD_COLUMN, "t5") if t5_only else (SD_COLUMN, FD_COLUMN))
    sd, fd = cols[SD_COLUMN], cols[FD_COLUMN]
    hybrid = np.isfinite(sd) & np.isfinite(fd)
    if t5_only:
        hybrid &= cols["t5"] == 1
    sd, fd = sd[hybrid], fd[hybrid]
    diff = sd - fd
    n = int(diff.size)
    mean = float(diff.mean()) if n else float("nan")
    std = float(diff.std(ddof=1)) if n > 1 else float("nan")
    unit = GCM2
    with paper_style("single", style, usetex, [fmt]):
        fig, axes = new_figure("single", aspect=1.25, nrows=2, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.0]})
        top, bottom = axes[0, 0], axes[1, 0]
        if n:
            lo, hi = float(min(sd.min(), fd.min())), float(max(sd.max(), fd.max()))
            pad = 0.05 * max(hi - lo, 50.0)
            lo, hi = lo - pad, hi + pad
            top.scatter(fd, sd, s=6, color=OKABE_ITO[0], alpha=0.7, linewidths=0, label=f"hybrid events ({n})")
            top.plot([lo, hi], [lo, hi], color="0.3", lw=0.8, ls="--", label="SD = FD")
            top.set_xlim(lo, hi)
            top.set_ylim(lo, hi)
            stats = (f"mean {mean:+.1f} {unit}" + (f", $\\sigma$ {std:.1f} {unit}" if np.isfinite(std) else ""))
            bottom.scatter(fd, diff, s=6, color=OKABE_ITO[0], alpha=0.7, linewidths=0, label=stats)
            bottom.axhline(0.0, color="0.3", lw=0.8, ls="--")
            if np.isfinite(std):
                bottom.axhspan(mean - std, mean + std, color=OKABE_ITO[0], alpha=0.12, lw=0)
            bottom.axhline(mean, color=OKABE_ITO[0], lw=0.8)
            d_lo, d_hi = float(min(diff.min(), 0.0)), float(max(diff.max(), 0.0))
            span = max(d_hi - d_lo, 20.0)
            bottom.set_ylim(d_lo - 0.08 * span, d_hi + 0.35 * span)  # room for the legend
            top.legend(loc="upper left")
            bottom.legend(loc="upper left")
        else:
            note(top, "no hybrid event (FD Xmax) in the table")
        top.set_ylabel(f"SD {XMAX_LABEL} [{unit}]")
        bottom.set_xlabel(f"FD {XMAX_LABEL} [{unit}]")
        bottom.set_ylabel(f"SD $-$ FD [{unit}]")
        output.parent.mkdir(parents=True, exist_ok=True)
        (path,) = save_figure(fig, output.parent, output.stem, [fmt], dpi)
    return SdFdSummary(n, mean, std, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower sd-vs-fd``."""
    parser.add_argument("--table", required=True, type=Path, help="per-event table of airshower reconstruct")
    parser.add_argument("--output", required=True, type=Path, help="figure to write (.pdf, .png, ...)")


def main(config: Mapping[str, Any], args: argparse.Namespace) -> int:
    """``airshower sd-vs-fd``: the figure, and its numbers as one JSON line. With a config, its
    ``figures`` (dpi, style, usetex) and ``evaluation.selection`` (6T5) apply."""
    from airshower.io.files import require_writable

    require_writable(args.output, "figure")
    figures = config.get("figures", {})
    selection = config.get("evaluation", {}).get("selection") or {}
    summary = draw_sd_vs_fd(args.table, args.output, dpi=int(figures.get("dpi", 300)),
                            t5_only=bool(selection.get("t5", False)), style=figures.get("style", "default"),
                            usetex=bool(figures.get("usetex", False)))
    print(json.dumps({"output": str(args.output), "hybrid_events": summary.events,
                      "mean_sd_minus_fd": summary.mean, "std_sd_minus_fd": summary.std}))
    return 0
