"""The comparison tables of the study: one row per model as CSV; a physics and a cost table as Markdown and LaTeX.

``summary.csv`` (machine-readable, complete), one row per model in the config's order:
``model`` (config name) and ``label`` (display name, :mod:`airshower.figures.labels`);
``parameters``; ``flops_per_event``; ``training_time_s`` and ``wall_hours`` (the epochs' wall
time, ``training_time_s`` of ``train_info.json``); ``device_hours`` (training time x
processes) with ``device`` and ``on_gpu``; ``epochs`` and ``best_epoch``; and, for each energy
of ``figures.summary_lg_energies``, in the bin of ``evaluation.lg_energy_bins`` holding it:
Xmax resolution (``figures.resolution`` statistic) and bias [g/cm2] on the nominal test set,
the p/Fe merit factor of reconstructed and of true Xmax, the event count, and the Xmax bias
on every other test set (``xmax_bias_{E}_{dataset}``), each with its bootstrap error
(``_err``). Empty cells: not recorded or not reconstructed.

Replicas (``training.replicas``: a model trained N times with independent initialisation,
shuffling and augmentation): ``replicas`` (N) and, per summary energy,
``xmax_resolution_{E}_mean`` (mean over the replicas), ``_replica_std`` (their sample standard
deviation, ddof = 1; empty for N = 1), ``_combined_err`` and ``_significant`` (whether the
model differs significantly from the best model at that energy), after :func:`replica_statistics`
and :func:`significantly_different`. The rule, stated in the captions: the error of a model's
mean resolution is ``sqrt(b^2 + s^2 / N)``, with ``b`` the mean bootstrap error of its replicas
(all evaluated on the same test events, so averaging does not shrink it) and ``s`` the
replica standard deviation; two models differ significantly only when their means differ by
more than twice the quadrature sum of their errors, hence by more than both their bootstrap
errors and their training scatter, and only when both have at least two replicas (with one,
the scatter from training is unknown). The quadrature sum is conservative: both models are
evaluated on the same events, whose fluctuations partly cancel in the difference. When any
model has more than one replica the physics table shows the mean ± bootstrap error, the
replica standard deviation and marks models worse than the best by more than that.

``summary.md`` and ``summary.tex`` hold two tables that fit a page of a two-column article:

* physics (``table*``, full text width): per model and summary energy the Xmax resolution on
  the nominal test set, the bias on each test set (columns named by the datasets' labels)
  and the merit factor;
* cost (``table`` in one column when it fits, else ``table*``): parameters, FLOPs per event,
  training time (in s, min or h, whichever reads best for the column), GPU time (only when a model trained
  on GPUs) and epochs; the device in the caption, or in a column when the models differ.

The LaTeX captions typeset their symbols (:math:`X_\\mathrm{max}`) and need only
``\\usepackage{booktabs}``. :func:`estimate_width_pt` estimates a table's width in a 10 pt
Computer Modern font (the column widths of REVTeX/JINST: 246 pt, text 510 pt), which
chooses the environment. The layout helpers (:func:`write_csv`, :func:`plus_minus`,
:func:`markdown_table`, :func:`latex_table`) also write the per-target table,
:mod:`airshower.figures.target_summary`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airshower.atomic import write_text
from airshower.evaluation.binned import bin_containing
from airshower.figures.study import ModelRecord, Study, block_entries, quantity, xmax_entries

COLUMN_PT = 246.0  # \columnwidth of a two-column article (REVTeX, JINST: 3.4 in)
TEXT_PT = 510.0  # \textwidth of the same (7.06 in)
TABCOLSEP_PT = 6.0  # LaTeX's default \tabcolsep
MARGIN = 0.95  # the width estimate is good to a few percent: a table must fit 95% of the space
TEX_GCM2 = r"g\,cm$^{-2}$"
TEX_XMAX = r"$X_\mathrm{max}$"
TEX_STAT = {"std": r"$\sigma(\Delta X_\mathrm{max})$", "half68": r"$\frac{1}{2}w_{68}(\Delta X_\mathrm{max})$"}
MD_STAT = {"std": "σ(ΔXmax)", "half68": "½ w68(ΔXmax)"}


def _bin(record: ModelRecord, dataset: str, block: str, lg_energy: float | None) -> dict[str, Any] | None:
    """The entry of ``block`` (``xmax`` or ``merit_factor``) in the bin holding ``lg_energy``;
    None: over all energies (the ``total`` entry)."""
    metrics = record.metrics[dataset]
    if lg_energy is None:
        q = quantity(metrics, "xmax", None if block == "xmax" else block)
        if q is None:
            return None
        return (q["per_primary"]["all"] if block == "xmax" else q).get("total")
    entries = block_entries(metrics, "xmax", block) if block == "merit_factor" else xmax_entries(metrics)
    return None if entries is None else bin_containing(entries, lg_energy)


SIGNIFICANCE = 2.0  # a difference is significant beyond this many combined errors


def replica_statistics(record: ModelRecord, dataset: str, lg_energy: float | None, stat: str) -> dict[str, Any]:
    """Resolution of every replica of a model in the bin of ``lg_energy`` (None: over all energies), aggregated:
    ``values``, ``n``, ``mean``, ``replica_std`` (ddof 1; None for one replica), ``bootstrap``
    (mean of the replicas' bootstrap errors) and ``combined_err`` = sqrt(bootstrap^2 + replica_std^2 / n)
    (the bootstrap alone for one replica). Replicas without the bin are left out."""
    values, errors = [], []
    for run in record.runs:
        entry = _bin(run, dataset, "xmax", lg_energy) or {}
        if entry.get(stat) is not None and math.isfinite(float(entry[stat])):
            values.append(float(entry[stat]))
            if entry.get(f"{stat}_err") is not None:
                errors.append(float(entry[f"{stat}_err"]))
    n = len(values)
    if not n:
        return {"values": [], "n": 0, "mean": None, "replica_std": None, "bootstrap": None, "combined_err": None}
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    boot = sum(errors) / len(errors) if errors else None
    parts = [x for x in (boot, None if std is None else std / math.sqrt(n)) if x is not None]
    combined = math.sqrt(sum(x * x for x in parts)) if parts else None
    return {"values": values, "n": n, "mean": mean, "replica_std": std, "bootstrap": boot, "combined_err": combined}


def significantly_different(a: dict[str, Any], b: dict[str, Any], threshold: float = SIGNIFICANCE) -> bool | None:
    """Whether two models' mean resolutions (:func:`replica_statistics`) differ by more than
    ``threshold`` times the quadrature sum of their combined errors; None when it cannot be
    said (a model with fewer than two replicas, or no error)."""
    if a["n"] < 2 or b["n"] < 2 or a["combined_err"] is None or b["combined_err"] is None:
        return None
    return abs(a["mean"] - b["mean"]) > threshold * math.hypot(a["combined_err"], b["combined_err"])


def energy_key(lg_energy: float) -> str:
    """Column suffix of a summary energy, e.g. ``19.0``."""
    return f"{lg_energy:.1f}" if round(lg_energy, 1) == lg_energy else f"{lg_energy:g}"


def summary_rows(study: Study, energies: Sequence[float], stat: str) -> list[dict[str, Any]]:
    """One dict per model with the columns of the module docstring (None where not available)."""
    rows = []
    replica_stats = {(m.name, e): replica_statistics(m, study.nominal, e, stat) for m in study.models
                     for e in energies}
    for m in study.models:
        row: dict[str, Any] = {
            "model": m.name,
            "label": m.label,
            "replicas": len(m.runs),
            "parameters": m.train("parameters"),
            "flops_per_event": m.train("flops_per_event"),
            "training_time_s": None if m.wall_hours is None else m.wall_hours * 3600.0,
            "wall_hours": m.wall_hours,
            "device_hours": m.device_hours,
            "type": m.train("type"),
            "device": m.train("device"),
            "n_devices": m.train("n_devices"),
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
            rs = replica_stats[(m.name, e)]
            best = min((replica_stats[(o.name, e)] for o in study.models if replica_stats[(o.name, e)]["n"]),
                       key=lambda r: r["mean"], default=None)
            row[f"xmax_resolution_{k}_mean"] = rs["mean"]
            row[f"xmax_resolution_{k}_mean_err"] = rs["bootstrap"]
            row[f"xmax_resolution_{k}_replica_std"] = rs["replica_std"]
            row[f"xmax_resolution_{k}_combined_err"] = rs["combined_err"]
            row[f"xmax_resolution_{k}_significant"] = (None if best is None or best is rs
                                                       else significantly_different(rs, best))
            row[f"xmax_bias_{k}"] = x.get("bias")
            row[f"xmax_bias_{k}_err"] = x.get("bias_err")
            row[f"merit_factor_{k}"] = mf.get("reco")
            row[f"merit_factor_{k}_err"] = mf.get("reco_err")
            row[f"merit_factor_true_{k}"] = mf.get("true")
            row[f"events_{k}"] = x.get("count")
            for ds in study.datasets[1:]:
                other = _bin(m, ds, "xmax", e) or {}
                row[f"xmax_bias_{k}_{ds}"] = other.get("bias")
                row[f"xmax_bias_{k}_{ds}_err"] = other.get("bias_err")
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


# -- cell formats ---------------------------------------------------------------------------

def _si(value: float | None, unit_steps: Sequence[tuple[float, str]]) -> str:
    if value is None:
        return ""
    for factor, suffix in unit_steps:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


COUNT_STEPS = ((1e9, " G"), (1e6, " M"), (1e3, " k"))


TIME_UNITS = ((120.0, 1.0, "s"), (7200.0, 60.0, "min"), (math.inf, 3600.0, "h"))


def duration_unit(seconds: float) -> tuple[float, str]:
    """(seconds per unit, unit) that reads best for durations up to ``seconds``: s below 2 min,
    min below 2 h, else h (never "0.0069 h")."""
    for limit, factor, unit in TIME_UNITS:
        if seconds < limit:
            return factor, unit
    return 3600.0, "h"


def format_duration(seconds: float | None, unit: tuple[float, str] | None = None, with_unit: bool = True) -> str:
    """A duration in ``unit`` (default: :func:`duration_unit` of itself), two significant digits below 10:
    ``17 s``, ``1.4 min``, ``47 min``, ``2.5 h``, ``120 h``; empty for None."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    factor, name = unit or duration_unit(seconds)
    value = seconds / factor
    text = f"{value:.2g}" if value < 10 else f"{value:.0f}"
    return f"{text} {name}" if with_unit else text


def plus_minus(value: float | None, err: float | None, digits: int, tex: bool, scale: float = 1.0) -> str:
    """``value ± err`` (times ``scale``) with ``digits`` decimals; LaTeX math when ``tex``; empty for None."""
    if value is None:
        return ""
    pm = r" \pm " if tex else " ± "
    text = f"{value * scale:.{digits}f}" + ("" if err is None else f"{pm}{err * scale:.{digits}f}")
    return f"${text}$" if tex else text


def tex_text(text: str) -> str:
    """Plain text made safe for LaTeX (backslashes, underscores, percent signs, ampersands, hashes, < and >;
    quotes dropped)."""
    text = text.replace("\\", r"\textbackslash{}")
    for char in ("&", "%", "#", "_"):
        text = text.replace(char, "\\" + char)
    return text.replace("<", "$<$").replace(">", "$>$").replace("'", "")


def _range(b: tuple[float, float] | None, e: float, tex: bool) -> str:
    if b is None:
        return f"{e:g}"
    return f"{b[0]:g}{'--' if tex else '–'}{b[1]:g}"


# -- layout -----------------------------------------------------------------------------------

def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], caption: str, left: int = 1) -> str:
    """A Markdown table (the first ``left`` columns left-aligned, the others right) and its caption line."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * left + ["---:"] * (len(header) - left)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n\n" + caption + "\n"


def _tex_width_pt(cell: str, size: float = 10.0) -> float:
    """Width [pt] of a LaTeX cell in Computer Modern at ``size`` (matplotlib's mathtext; an estimate)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    # an en dash (--) is as wide as a digit in Computer Modern; cmr10 has no glyph for it
    text = cell.replace("--", "0").replace(r"\,", " ").replace(r"\%", "%").replace(r"\_", "_").replace(r"\&", "&")
    if not text.strip():
        return 0.0
    import matplotlib

    try:
        with matplotlib.rc_context({"mathtext.fontset": "cm"}):
            width, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(family="cmr10", size=size),
                                                                     ismath="$" in text)
        return float(width)
    except (ValueError, RuntimeError):  # not mathtext: count ~5 pt a character
        return 0.5 * size * len(text)


def estimate_width_pt(header_rows: Sequence[Sequence[str]], body: Sequence[Sequence[str]],
                      colsep: float = TABCOLSEP_PT) -> float:
    """Estimated natural width [pt] of a ``tabular`` (10 pt Computer Modern): the widest cell of
    each column plus 2 ``\\tabcolsep``. Cells spanning columns (``\\multicolumn``) are not counted."""
    columns = max(len(r) for r in (*header_rows, *body))
    widest = [0.0] * columns
    for row in (*header_rows, *body):
        for k, cell in enumerate(row):
            if "\\multicolumn" not in cell:
                widest[k] = max(widest[k], _tex_width_pt(cell))
    return sum(widest) + 2 * colsep * columns


def latex_table(header: Sequence[str], body: Sequence[Sequence[str]], caption: str, label: str, left: int = 1,
                env: str | None = None, head_lines: Sequence[str] = (), gaps: Sequence[int] = ()) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``).

    ``caption``: LaTeX (escape plain text with :func:`tex_text`); ``head_lines``: raw rows
    above the ``header`` (column groups with ``\\multicolumn`` and ``\\cmidrule``); ``gaps``:
    body rows after which a small vertical space separates groups; ``env``: ``table``
    (one column) or ``table*`` (full width); None: ``table`` when the estimated width fits a
    column of a two-column article, else ``table*``, whose columns move closer (``\\tabcolsep``
    4 pt) and then its font shrinks (``\\small``) where that makes it fit the text width (each
    with a 5% margin for the error of the estimate).
    """
    fit = []
    natural = estimate_width_pt([header], body)
    if env is None:
        env = "table" if natural <= MARGIN * COLUMN_PT else "table*"
    if env == "table*" and natural > MARGIN * TEXT_PT:
        fit.append(r"\setlength{\tabcolsep}{4pt}")
        if estimate_width_pt([header], body, colsep=4.0) > MARGIN * TEXT_PT:
            fit.append(r"\small")
    lines = [
        rf"\begin{{{env}}}",
        r"\centering",
        *fit,
        r"\caption{" + caption + "}",
        r"\label{tab:" + label.replace("_", "-") + "}",
        r"\begin{tabular}{" + "l" * left + "r" * (len(header) - left) + "}",
        r"\toprule",
        *head_lines,
        " & ".join(header) + r" \\",
        r"\midrule",
    ]
    for k, cells in enumerate(body):
        lines.append(" & ".join(cells) + r" \\")
        if k in gaps and k != len(body) - 1:
            lines.append(r"\addlinespace")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\end{{{env}}}"]
    return "\n".join(lines) + "\n"


# -- the physics table --------------------------------------------------------------------------

def physics_table(study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float], stat: str,
                  tex: bool) -> tuple[list[str], list[list[str]], list[str]]:
    """(header, body, head lines) of the physics table: one row per model and summary energy."""
    bins = energy_bins(study, energies)
    datasets = study.datasets
    names = [tex_text(study.dataset_label(ds)) if tex else study.dataset_label(ds) for ds in datasets]
    replicas = has_replicas(rows)
    spread = ([r"$\sigma_\mathrm{rep}$ ($N$)"] if tex else ["σ(replicas) [g/cm2] (N)"]) if replicas else []
    if tex:
        header = ["Model", r"$\lg(E/\mathrm{eV})$", TEX_STAT.get(stat, stat), *spread, *names, "MF"]
        first_bias = 4 + len(spread)
        head = [
            " & & Resolution & " + " & " * len(spread) + (r"\multicolumn{%d}{c}{Bias $\langle\Delta X_\mathrm{max}\rangle$}" % len(datasets)
                                    if len(datasets) > 1 else r"Bias $\langle\Delta X_\mathrm{max}\rangle$")
            + r" & \\",
            r"\cmidrule(lr){%d-%d}" % (first_bias, first_bias + len(datasets) - 1),
        ]
    else:
        header = ["model", "lg(E/eV)", f"{MD_STAT.get(stat, stat)} [g/cm2]", *spread,
                  *[f"bias {name} [g/cm2]" for name in names], "MF"]
        head = []
    body = []
    for r in rows:
        for i, (e, b) in enumerate(zip(energies, bins, strict=True)):
            k = energy_key(e)
            label = r["label"] if i == 0 else ""
            cells = [tex_text(label) if tex else label, _range(b, e, tex)]
            if replicas:  # the mean over the replicas, their spread, and * where worse than the best
                mark = (r"$^{*}$" if tex else " *") if r.get(f"xmax_resolution_{k}_significant") else ""
                std = r.get(f"xmax_resolution_{k}_replica_std")
                cells += [plus_minus(r[f"xmax_resolution_{k}_mean"], r[f"xmax_resolution_{k}_mean_err"], 1, tex) + mark,
                          ("" if std is None else f"{std:.1f}") + f" ({r['replicas']})"]
            else:
                cells.append(plus_minus(r[f"xmax_resolution_{k}"], r[f"xmax_resolution_{k}_err"], 1, tex))
            cells.append(plus_minus(r[f"xmax_bias_{k}"], r[f"xmax_bias_{k}_err"], 1, tex))
            cells += [plus_minus(r.get(f"xmax_bias_{k}_{ds}"), r.get(f"xmax_bias_{k}_{ds}_err"), 1, tex)
                      for ds in datasets[1:]]
            cells.append(plus_minus(r[f"merit_factor_{k}"], r[f"merit_factor_{k}_err"], 2, tex))
            body.append(cells)
    return header, body, head


def has_replicas(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether any model of the table was trained more than once."""
    return any((r.get("replicas") or 1) > 1 for r in rows)


def replica_caption(rows: Sequence[dict[str, Any]], tex: bool) -> str:
    """The sentence on replicas and significance of the physics caption (empty without replicas)."""
    if not has_replicas(rows):
        return ""
    if tex:
        return (r" Each model trained $N$ times (independent initialisation, shuffling and augmentation): "
                r"resolution = mean over the replicas $\pm$ mean bootstrap error; $\sigma_\mathrm{rep}$: their standard "
                r"deviation. A difference between two models is significant when it exceeds twice "
                r"$\sqrt{\sigma_a^2 + \sigma_b^2}$, with $\sigma^2 = \sigma_\mathrm{boot}^2 + \sigma_\mathrm{rep}^2/N$ "
                r"per model, so both the test-set (bootstrap) and the training (replica) scatter, and both models have "
                r"$N \geq 2$; $^{*}$: significantly worse than the best model at that energy.")
    return (" Each model trained N times (independent initialisation, shuffling and augmentation): resolution = "
            "mean over the replicas ± mean bootstrap error; σ(replicas): their standard deviation. A difference "
            "between two models is significant when it exceeds twice sqrt(σa² + σb²), with σ² = σboot² + σrep²/N "
            "per model, so both the test-set (bootstrap) and the training (replica) scatter, and both models have "
            "N ≥ 2; *: significantly worse than the best model at that energy.")


def _true_merit(rows: Sequence[dict[str, Any]], energies: Sequence[float], tex: bool) -> str:
    parts = []
    for e in energies:
        k = energy_key(e)
        vals = [r[f"merit_factor_true_{k}"] for r in rows if r[f"merit_factor_true_{k}"] is not None]
        if vals:
            at = rf"$\lg(E/\mathrm{{eV}}) = {e:g}$" if tex else f"lg E = {e:g}"
            parts.append(f"{vals[0]:.2f} at {at}")
    return ", ".join(parts)


def physics_caption(study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float], stat: str,
                    tex: bool) -> str:
    """Caption of the physics table: LaTeX with typeset symbols, or plain text for Markdown."""
    nominal = study.dataset_label(study.nominal)
    true_mf = _true_merit(rows, energies, tex)
    if tex:
        what = ("standard deviation" if stat == "std" else "half-width of the central 68\\% interval")
        text = (
            rf"{TEX_XMAX} reconstruction, study {tex_text(study.name)}, in bins of true $\lg(E/\mathrm{{eV}})$. "
            rf"Resolution: {what} of $\Delta X_\mathrm{{max}} = X_\mathrm{{max}}^\mathrm{{rec}} - "
            rf"X_\mathrm{{max}}^\mathrm{{true}}$ on the nominal test set ({tex_text(nominal)}); bias: mean "
            rf"$\langle\Delta X_\mathrm{{max}}\rangle$ on each test set; both in {TEX_GCM2}. MF: merit factor of p "
            rf"and Fe of the reconstructed {TEX_XMAX}"
            + (f" (true {TEX_XMAX}: {true_mf})" if true_mf else "")
            + ". Errors: bootstrap."
            + replica_caption(rows, tex)
        )
        return text
    what = "standard deviation" if stat == "std" else "half-width of the central 68% interval"
    text = (
        f"Xmax reconstruction, study '{study.name}', in bins of true lg(E/eV). Resolution: {what} of "
        f"ΔXmax = Xmax(rec) − Xmax(true) on the nominal test set ({nominal}); bias: its mean on each test set; "
        "both in g/cm2. MF: merit factor of p and Fe of the reconstructed Xmax"
        + (f" (true Xmax: {true_mf})" if true_mf else "")
        + ". Errors: bootstrap."
        + replica_caption(rows, tex)
    )
    return text


# -- the cost table -------------------------------------------------------------------------

def _common_device(rows: Sequence[dict[str, Any]]) -> str | None:
    devices = {str(r["device"]) for r in rows if r["device"] is not None}
    return devices.pop() if len(devices) == 1 and all(r["device"] is not None for r in rows) else None


def _device_name(row: dict[str, Any]) -> str:
    """Short name of a training device: ``CPU``, or the GPU's name and how many (``NVIDIA H200 x 4``)."""
    if row["device"] is None:
        return ""
    if not row["on_gpu"]:
        return "CPU"
    n = int(row.get("n_devices") or 1)
    return str(row["device"]) + (f" x {n}" if n > 1 else "")


def cost_table(rows: Sequence[dict[str, Any]], tex: bool) -> tuple[list[str], list[list[str]]]:
    """(header, body) of the cost table; GPU time only when a model trained on GPUs, the device
    as a column only when the models differ in it."""
    gpu = any(r["on_gpu"] for r in rows)
    device_column = _common_device(rows) is None and any(r["device"] is not None for r in rows)
    times = [r["training_time_s"] for r in rows if r["training_time_s"] is not None]
    unit = duration_unit(max(times)) if times else (3600.0, "h")
    gpu_times = [r["device_hours"] * 3600.0 for r in rows if r["on_gpu"] and r["device_hours"] is not None]
    gpu_unit = duration_unit(max(gpu_times)) if gpu_times else unit
    header = ["Model" if tex else "model", "Parameters" if tex else "parameters",
              "FLOPs/event", f"{'Training' if tex else 'training'} [{unit[1]}]"]
    if gpu:
        header.append(f"GPU time [{gpu_unit[1]}]")
    header.append("Epochs" if tex else "epochs (best)")
    if device_column:
        header.append("Device" if tex else "device")
    body = []
    dash = "--" if tex else "–"
    for r in rows:
        epochs = "" if r["epochs"] is None else str(r["epochs"])
        if r["best_epoch"] is not None and epochs:
            epochs += f" ({r['best_epoch']})"
        cells = [tex_text(r["label"]) if tex else r["label"],
                 _si(r["parameters"], COUNT_STEPS), _si(r["flops_per_event"], COUNT_STEPS),
                 format_duration(r["training_time_s"], unit, with_unit=False)]
        if gpu:
            cells.append(format_duration(None if r["device_hours"] is None else r["device_hours"] * 3600, gpu_unit,
                                         with_unit=False) if r["on_gpu"] else dash)
        cells.append(epochs)
        if device_column:
            cells.append(tex_text(_device_name(r)) if tex else _device_name(r))
        body.append(cells)
    return header, body


def cost_caption(study: Study, rows: Sequence[dict[str, Any]], tex: bool) -> str:
    """Caption of the cost table."""
    device = _common_device(rows)
    gpu = any(r["on_gpu"] for r in rows)
    name = tex_text(study.name) if tex else f"'{study.name}'"
    text = (f"Cost of the networks of study {name}: trainable parameters, floating-point operations per event "
            "(forward pass), training time (wall time of the epochs)")
    if gpu:
        text += ", GPU time (training time x GPUs, for the models trained on GPUs)"
    text += ", epochs run (best epoch)."
    if device is not None:
        if device.lower().startswith("cpu"):
            device = "a CPU" + device[3:]
        text += f" Trained on {tex_text(device) if tex else device}."
    return text.replace(" x ", r" $\times$ ") if tex else text


# -- writing --------------------------------------------------------------------------------

def _gaps(n_models: int, per_model: int) -> list[int]:
    return [k * per_model + per_model - 1 for k in range(n_models)] if per_model > 1 else []


def write_markdown(path: str | Path, study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float],
                   stat: str) -> Path:
    """The physics and the cost table in Markdown (for the README or a report)."""
    header, body, _ = physics_table(study, rows, energies, stat, tex=False)
    text = markdown_table(header, body, physics_caption(study, rows, energies, stat, tex=False), left=2)
    cost_header, cost_body = cost_table(rows, tex=False)
    text += "\n" + markdown_table(cost_header, cost_body, cost_caption(study, rows, tex=False))
    return write_text(path, text)


def latex_tables(study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float], stat: str) -> str:
    """The physics table (``tab:{study}-physics``) and the cost table (``tab:{study}-cost``) in LaTeX."""
    header, body, head = physics_table(study, rows, energies, stat, tex=True)
    physics = latex_table(header, body, physics_caption(study, rows, energies, stat, tex=True),
                          f"{study.name}-physics", left=2, head_lines=head, gaps=_gaps(len(rows), len(energies)))
    cost_header, cost_body = cost_table(rows, tex=True)
    cost = latex_table(cost_header, cost_body, cost_caption(study, rows, tex=True), f"{study.name}-cost")
    return physics + "\n" + cost


def write_latex(path: str | Path, study: Study, rows: Sequence[dict[str, Any]], energies: Sequence[float],
                stat: str) -> Path:
    """Both tables (needs ``\\usepackage{booktabs}``), ready to ``\\input`` in a paper."""
    return write_text(path, latex_tables(study, rows, energies, stat))
