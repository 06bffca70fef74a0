"""The table of every reconstructed target: one row per model and target, as CSV, Markdown and LaTeX.

For each model and each target it reconstructs (registry order, :mod:`airshower.targets`),
on the nominal test set over all events inside ``evaluation.lg_energy_bins``, all primaries
(the ``total`` entry of ``per_primary.all`` of the metrics), with bootstrap errors:

* ``label``: the model's display name; ``unit``, ``events``: the residual's unit as :mod:`airshower.targets` defines it
  (``1``: dimensionless, e.g. the relative energy residual E_rec/E_true - 1) and the count;
* the target's resolution statistics ``std``, ``half68`` (Xmax, lg E, ln A) or ``q68``
  (axis opening angle, core distance) and ``bias`` (mean residual), each with ``<stat>_err``;
* ``merit_factor`` (+ ``_err``) and ``merit_factor_true``: p/Fe merit factor of the
  reconstructed and the true value (targets that separate primaries: Xmax, ln A; the true
  ln A is one value per primary, its merit factor ``inf``);
* ``pull_std`` (+ ``_err``) and ``pull_half68`` (+ ``_err``): width of the pulls
  (rec - true) / sigma of every component, 1 for a calibrated uncertainty (empty: the model
  has no uncertainty head).

The CSV holds the values in the residual's unit; the Markdown and LaTeX tables show the
``figures.resolution`` statistic where the target has it (else q68) and the relative energy
residual in percent. Empty cells: not available. The layout helpers are those of
:mod:`airshower.figures.summary`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airshower.atomic import write_text
from airshower.figures.paper_style import residual_style
from airshower.figures.study import Study, quantity, resolution_stat, true_merit_factor
from airshower.figures.summary import latex_table, markdown_table, plus_minus, tex_text, write_csv
from airshower.targets import TARGETS

RESOLUTION_STATS = tuple(dict.fromkeys(s for t in TARGETS.values() for s in t.statistics if s != "bias"))
PULL_STATS = ("std", "half68")
TEX_UNITS = {"g/cm2": r"g\,cm$^{-2}$", "%": r"\%"}


def _with_errors(entry: dict[str, Any] | None, names: Sequence[str], prefix: str = "") -> dict[str, Any]:
    entry = entry or {}
    out: dict[str, Any] = {}
    for name in names:
        out[f"{prefix}{name}"] = entry.get(name)
        out[f"{prefix}{name}_err"] = entry.get(f"{name}_err")
    return out


def target_rows(study: Study) -> list[dict[str, Any]]:
    """One dict per (model, reconstructed target) with the columns of the module docstring (None: not available)."""
    rows = []
    for m in study.models:
        metrics = m.metrics[study.nominal]
        for target, spec in TARGETS.items():
            q = quantity(metrics, target)
            if q is None:
                continue
            total = q["per_primary"]["all"]["total"]
            mf = (q.get("merit_factor") or {}).get("total") or {}
            calibration = q.get("calibration") or {}
            rows.append({
                "model": m.name,
                "label": m.label,
                "target": target,
                "unit": spec.residual_unit,
                "events": total.get("count"),
                **_with_errors(total, (*RESOLUTION_STATS, "bias")),
                "merit_factor": mf.get("reco"),
                "merit_factor_err": mf.get("reco_err"),
                "merit_factor_true": true_merit_factor(mf) if mf else None,
                **_with_errors(calibration.get("total"), PULL_STATS, "pull_"),
            })
    return rows


def _true_merit(value: float | None, tex: bool) -> str:
    if value is not None and math.isinf(value):
        return r"$\infty$" if tex else "∞"
    return plus_minus(value, None, 2, tex)


TEX_STATS = {"std": r"$\sigma$", "half68": r"$\frac{1}{2}w_{68}$", "q68": r"68\%"}


def _table(rows: Sequence[dict[str, Any]], stat: str, tex: bool) -> tuple[list[str], list[list[str]], list[int]]:
    """(header, body, last row of each model) of the Markdown (``tex`` False) or LaTeX table."""
    if tex:
        header = ["Model", "Target", "Unit", "Stat.", "Resolution", "Bias", "MF", r"MF$_\mathrm{true}$", "Pull width"]
    else:
        header = ["model", "target", "unit", "statistic", "resolution", "bias", "MF", "MF (true)", "pull width"]
    body = []
    last = []
    for k, r in enumerate(rows):
        style = residual_style(r["target"])
        res = resolution_stat(r["target"], stat)
        digits = style.digits
        first = k == 0 or rows[k - 1]["model"] != r["model"]
        if k + 1 == len(rows) or rows[k + 1]["model"] != r["model"]:
            last.append(k)
        if tex:
            label = tex_text(r["label"]) if first else ""
            cells = [label, TARGETS[r["target"]].label if "$" in TARGETS[r["target"]].label
                     else tex_text(TARGETS[r["target"]].label), TEX_UNITS.get(style.unit, tex_text(style.unit)),
                     TEX_STATS.get(res, tex_text(res))]
        else:
            cells = [r["label"], r["target"], style.unit, res]
        cells += [
            plus_minus(r[res], r[f"{res}_err"], digits, tex, style.scale),
            plus_minus(r["bias"], r["bias_err"], digits, tex, style.scale),
            plus_minus(r["merit_factor"], r["merit_factor_err"], 2, tex),
            _true_merit(r["merit_factor_true"], tex),
            plus_minus(r["pull_std"], r["pull_std_err"], 2, tex),
        ]
        body.append(cells)
    return header, body, last


def _caption(study: Study, tex: bool) -> str:
    edges = study.models[0].metrics[study.nominal]["lg_energy_bins"]
    nominal = study.dataset_label(study.nominal)
    if tex:
        return (
            rf"Every reconstructed target, study {tex_text(study.name)}, nominal test set ({tex_text(nominal)}), "
            rf"all primaries, true $\lg(E/\mathrm{{eV}})$ from {edges[0]:g} to {edges[-1]:g}. Resolution: the "
            r"statistic named of the residual ($\sigma$: standard deviation; $\frac{1}{2}w_{68}$: half-width of "
            r"the central 68\% interval; 68\%: 68\% quantile of the opening angle of the axis or of the core "
            r"distance); bias: mean residual; energy: $E_\mathrm{rec}/E_\mathrm{true} - 1$ in percent. MF: merit "
            r"factor of p and Fe of the reconstructed (true) value. Pull width: standard deviation of "
            r"$(\mathrm{rec} - \mathrm{true})/\sigma$, 1 for a calibrated uncertainty, empty for a model without "
            r"one. Errors: bootstrap."
        )
    return (
        f"Every reconstructed target, study '{study.name}', nominal test set ({nominal}), all primaries, true "
        f"lg(E/eV) from {edges[0]:g} to {edges[-1]:g}. Resolution: the statistic named of the residual (std: "
        "standard deviation; half68: half-width of the central 68% interval; q68: 68% quantile of the axis "
        "opening angle or core distance); bias: mean residual; energy: E(rec)/E(true) − 1 in percent. MF: p/Fe "
        "merit factor of the reconstructed (true) value. Pull width: standard deviation of (rec − true)/σ, 1 for "
        "a calibrated uncertainty, empty for a model without one. Errors: bootstrap."
    )


def write_target_tables(out_dir: str | Path, study: Study, stat: str, stem: str = "targets") -> list[Path]:
    """``{stem}.csv``, ``{stem}.md`` and ``{stem}.tex`` of :func:`target_rows` in ``out_dir``."""
    out_dir = Path(out_dir)
    rows = target_rows(study)
    md_header, md_body, _ = _table(rows, stat, tex=False)
    tex_header, tex_body, last = _table(rows, stat, tex=True)
    return [
        write_csv(out_dir / f"{stem}.csv", rows),
        write_text(out_dir / f"{stem}.md", markdown_table(md_header, md_body, _caption(study, tex=False), left=4)),
        write_text(out_dir / f"{stem}.tex", latex_table(tex_header, tex_body, _caption(study, tex=True),
                                                         f"{study.name}-{stem}", left=4, gaps=last)),
    ]
