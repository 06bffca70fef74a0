"""The comparison table of the study: one row per model, as CSV, Markdown and LaTeX (booktabs).

Columns: model; parameters; FLOPs per event; training time [h] (the epochs' wall time,
``training_time_s`` of ``train_info.json``); device hours (training time x processes: GPU
hours when trained on GPUs); epochs run (and the best epoch); and, for each energy of
``figures.summary_lg_energies``, in the bin of ``evaluation.lg_energy_bins`` holding it on
the nominal test set: Xmax resolution (``figures.resolution`` statistic) and bias
[g/cm2] and the p/Fe merit factor of reconstructed Xmax, each with its bootstrap error.
The CSV also carries the merit factor of true Xmax in the same bin (the ceiling a
reconstruction can reach); the Markdown and LaTeX tables state it in their caption line.
Empty cells: not recorded or not reconstructed.

The layout helpers (:func:`write_csv`, :func:`plus_minus`, :func:`markdown_table`,
:func:`latex_table`) also write the per-target table, :mod:`airshower.figures.target_summary`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airshower.atomic import write_text
from airshower.evaluation.binned import bin_containing
from airshower.figures.study import ModelRecord, Study, block_entries, xmax_entries


def _bin(record: ModelRecord, dataset: str, block: str, lg_energy: float) -> dict[str, Any] | None:
    metrics = record.metrics[dataset]
    entries = block_entries(metrics, "xmax", block) if block == "merit_factor" else xmax_entries(metrics)
    return None if entries is None else bin_containing(entries, lg_energy)


def energy_key(lg_energy: float) -> str:
    """Column suffix of a summary energy, e.g. ``19.0``."""
    return f"{lg_energy:.1f}" if round(lg_energy, 1) == lg_energy else f"{lg_energy:g}"


def summary_rows(study: Study, energies: Sequence[float], stat: str) -> list[dict[str, Any]]:
    """One dict per model with the columns of the module docstring (None where not available)."""
    rows = []
    for m in study.models:
        row: dict[str, Any] = {
            "model": m.name,
            "parameters": m.train("parameters"),
            "flops_per_event": m.train("flops_per_event"),
            "wall_hours": m.wall_hours,
            "device_hours": m.device_hours,
            "type": m.train("type"),
            "device": m.train("device"),
            "on_gpu": m.on_gpu,
            "epochs": m.train("epochs"),
            "best_epoch": m.train("best_epoch"),
        }
        for e in energies:
            k = energy_key(e)
            x = _bin(m, study.nominal, "xmax", e) or {}
            mf = _bin(m, study.nominal, "merit_factor", e) or {}
            row[f"xmax_resolution_{k}"] = x.get(stat)
            row[f"xmax_resolution_{k}_err"] = x.get(f"{stat}_err")
            row[f"xmax_bias_{k}"] = x.get("bias")
            row[f"xmax_bias_{k}_err"] = x.get("bias_err")
            row[f"merit_factor_{k}"] = mf.get("reco")
            row[f"merit_factor_{k}_err"] = mf.get("reco_err")
            row[f"merit_factor_true_{k}"] = mf.get("true")
            row[f"events_{k}"] = x.get("count")
        rows.append(row)
    return rows


def energy_bins(study: Study, energies: Sequence[float]) -> list[tuple[float, float] | None]:
    """The [lo, hi) bin of each summary energy (None outside the bins)."""
    edges = study.models[0].metrics[study.nominal]["lg_energy_bins"]
    bins = [{"lo": lo, "hi": hi} for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    out = []
    for e in energies:
        b = bin_containing(bins, e)
        out.append(None if b is None else (b["lo"], b["hi"]))
    return out


def write_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """All columns, machine-readable (empty cell = None)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["model"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return write_text(path, buf.getvalue())


def _si(value: float | None, unit_steps: Sequence[tuple[float, str]]) -> str:
    if value is None:
        return ""
    for factor, suffix in unit_steps:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


COUNT_STEPS = ((1e9, " G"), (1e6, " M"), (1e3, " k"))


def plus_minus(value: float | None, err: float | None, digits: int, tex: bool, scale: float = 1.0) -> str:
    """``value ± err`` (times ``scale``) with ``digits`` decimals; LaTeX math when ``tex``; empty for None."""
    if value is None:
        return ""
    pm = r" \pm " if tex else " ± "
    text = f"{value * scale:.{digits}f}" + ("" if err is None else f"{pm}{err * scale:.{digits}f}")
    return f"${text}$" if tex else text


def tex_text(text: str) -> str:
    """Plain text made safe for LaTeX (underscores, percent signs; quotes dropped)."""
    return text.replace("_", r"\_").replace("%", r"\%").replace("'", "")


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], caption: str, left: int = 1) -> str:
    """A Markdown table (the first ``left`` columns left-aligned, the others right) and its caption line."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * left + ["---:"] * (len(header) - left)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n\n" + caption + "\n"


def latex_table(header: Sequence[str], body: Sequence[Sequence[str]], caption: str, label: str, left: int = 1) -> str:
    """A booktabs ``table*`` (needs ``\\usepackage{booktabs}``); ``caption`` is plain text, escaped here."""
    lines = [
        r"\begin{table*}",
        r"\centering",
        r"\caption{" + tex_text(caption) + "}",
        r"\label{tab:" + label.replace("_", "-") + "}",
        r"\begin{tabular}{" + "l" * left + "r" * (len(header) - left) + "}",
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(cells) + r" \\" for cells in body]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table*}"]
    return "\n".join(lines) + "\n"


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2g}" if value < 1 else f"{value:.1f}"


def _table(study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float], tex: bool) -> tuple[list[str], list[list[str]]]:
    bins = energy_bins(study, energies)
    gcm2 = r"g\,cm$^{-2}$" if tex else "g/cm2"
    header = ["model", "parameters", "FLOPs/event", "training [h]", "device [h]", "epochs"]
    for e, b in zip(energies, bins, strict=True):
        where = f"{b[0]:g}-{b[1]:g}" if b else f"{e:g}"
        if tex:
            where = where.replace("-", "--")
        header += [f"res. {where} [{gcm2}]", f"bias {where} [{gcm2}]", f"MF {where}"]
    body = []
    for r in rows:
        epochs = "" if r["epochs"] is None else str(r["epochs"])
        if r["best_epoch"] is not None and epochs:
            epochs += f" ({r['best_epoch']})"
        cells = [
            tex_text(r["model"]) if tex else r["model"],
            _si(r["parameters"], COUNT_STEPS),
            _si(r["flops_per_event"], COUNT_STEPS),
            _hours(r["wall_hours"]),
            _hours(r["device_hours"]) + ("" if r["device_hours"] is None or r["on_gpu"] else " (CPU)"),
            epochs,
        ]
        for e in energies:
            k = energy_key(e)
            cells += [
                plus_minus(r[f"xmax_resolution_{k}"], r[f"xmax_resolution_{k}_err"], 1, tex),
                plus_minus(r[f"xmax_bias_{k}"], r[f"xmax_bias_{k}_err"], 1, tex),
                plus_minus(r[f"merit_factor_{k}"], r[f"merit_factor_{k}_err"], 2, tex),
            ]
        body.append(cells)
    return header, body


def _caption(study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float], stat: str) -> str:
    what = "standard deviation" if stat == "std" else "half-width of the central 68% interval"
    true_mf = []
    for e in energies:
        k = energy_key(e)
        vals = [r[f"merit_factor_true_{k}"] for r in rows if r[f"merit_factor_true_{k}"] is not None]
        if vals:
            true_mf.append(f"{vals[0]:.2f} at lg E = {e:g}")
    text = (
        f"Study '{study.name}', test set '{study.nominal}'. Resolution: {what} of Xmax_rec - Xmax_true; "
        "bias: its mean; MF: p/Fe merit factor of reconstructed Xmax; errors: bootstrap. "
        "Epochs: run (best). Device hours: wall time x devices."
    )
    if true_mf:
        text += " Merit factor of true Xmax: " + ", ".join(true_mf) + "."
    return text


def write_markdown(path: str | Path, study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float],
                   stat: str) -> Path:
    """A Markdown table for the README or a report."""
    header, body = _table(study, rows, energies, tex=False)
    return write_text(path, markdown_table(header, body, _caption(study, rows, energies, stat)))


def write_latex(path: str | Path, study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float],
                stat: str) -> Path:
    """A booktabs table (needs ``\\usepackage{booktabs}``) ready to ``\\input`` in a paper."""
    header, body = _table(study, rows, energies, tex=True)
    return write_text(path, latex_table(header, body, _caption(study, rows, energies, stat), f"{study.name}-summary"))
