"""Scaling of the network families: Xmax resolution against model size, training compute and training-set size.

A family is an architecture (``type`` of a model entry, recorded in ``train_info.json``; the
model's name when not recorded): its models differ in size (parameters) and/or in the number
of events trained on. Per model, from ``train_info.json`` of replica 0 (the model itself):
``parameters`` (count), ``training_flops`` (total forward + backward FLOPs of the training;
None in records written before it was kept: the model is left out of panel b) and
``train_events`` (events trained on). The resolution is the ``figures.resolution`` statistic
of Xmax [g/cm2] on the nominal test set over all energies (the ``total`` entry of the
metrics), the mean over the model's replicas (:func:`airshower.figures.summary.replica_statistics`);
its error is the replicas' standard deviation (ddof 1) when the model has two or more
replicas with the resolution, else the bootstrap error of the metrics.

* ``scaling``: three panels sharing the resolution axis, every x axis logarithmic:
  (a) resolution vs parameters and (b) vs training FLOPs, of the models trained on the study's
  largest ``train_events`` (all models when none records it), the points of a family joined
  in order of x, and the Pareto front over all of them (no other model is at least as good
  with at most as many parameters, resp. FLOPs) as a grey dashed step line; (c) resolution vs
  training events, all models, one line per family and parameter count. One colour and
  marker per family (those of its first model in the config's order); a panel without data
  says so.
* ``scaling.csv`` and ``scaling.md``: one row per model, in the config's order: ``model``,
  ``label``, ``family`` and ``family_label`` (:mod:`airshower.figures.labels`), ``parameters``,
  ``training_flops`` [FLOP], ``train_events``, ``replicas`` (with the resolution),
  ``resolution_gcm2`` and ``resolution_err_gcm2`` [g/cm2], ``error`` (``replica_std`` or
  ``bootstrap``: which error that is), ``bootstrap_err_gcm2`` and ``replica_std_gcm2``
  (both, where available), ``largest_train_events`` (whether the model is in panels a and b),
  ``pareto_params`` and ``pareto_flops`` (on the front of panel a, resp. b; False for a model
  not in that panel). Empty cells: not recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airshower.atomic import write_text
from airshower.figures.study import ModelRecord, Study

PANELS = ("parameters", "training_flops", "train_events")
PARETO = {"parameters": "pareto_params", "training_flops": "pareto_flops"}
FLOP_UNITS = ((1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"))


def family(record: ModelRecord) -> str:
    """The model's architecture (``type`` of ``train_info.json``), else its name."""
    return str(record.train("type") or record.name)


def _number(value: Any) -> float | None:
    """A positive finite number of ``train_info.json``, else None."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (x, y) that no other point dominates (x and y both at most its, one
    smaller), in order of x: lower y with smaller x is better. Of equal points the first is kept."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1], i))
    front, best = [], math.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def scaling_rows(study: Study, stat: str = "std") -> list[dict[str, Any]]:
    """One row per model: the columns of the module docstring (None where not available)."""
    from airshower.figures.labels import default_model_label
    from airshower.figures.summary import replica_statistics

    rows = []
    for m in study.models:
        rs = replica_statistics(m, study.nominal, None, stat)
        replica_std = rs["replica_std"] if rs["n"] >= 2 else None
        err, kind = (replica_std, "replica_std") if replica_std is not None else (rs["bootstrap"], "bootstrap")
        fam = family(m)
        events = _number(m.train("train_events"))
        rows.append({
            "model": m.name,
            "label": m.label,
            "family": fam,
            "family_label": default_model_label(fam, fam),
            "parameters": None if _number(m.train("parameters")) is None else int(m.train("parameters")),
            "training_flops": _number(m.train("training_flops")),
            "train_events": None if events is None else int(events),
            "replicas": rs["n"],
            "resolution_gcm2": rs["mean"],
            "resolution_err_gcm2": err,
            "error": None if rs["mean"] is None or err is None else kind,
            "bootstrap_err_gcm2": rs["bootstrap"],
            "replica_std_gcm2": replica_std,
            "largest_train_events": False,
            "pareto_params": False,
            "pareto_flops": False,
        })
    known = [r["train_events"] for r in rows if r["train_events"] is not None]
    largest = max(known) if known else None
    for r in rows:
        r["largest_train_events"] = largest is None or r["train_events"] == largest
    for key, column in PARETO.items():
        drawn = panel_rows(rows, key)
        for i in pareto_front([(r[key], r["resolution_gcm2"]) for r in drawn]):
            drawn[i][column] = True
    return rows


def panel_rows(rows: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The rows drawn in the panel of ``key`` (one of :data:`PANELS`): with a resolution and a
    positive x; panels a and b (``parameters``, ``training_flops``) only the largest training set."""
    return [r for r in rows if r["resolution_gcm2"] is not None and r[key] is not None
            and (key == "train_events" or r["largest_train_events"])]


def _flop_unit(largest: float) -> tuple[float, str]:
    """(FLOPs per unit, unit) for an axis reaching ``largest`` FLOPs."""
    return next(((f, u) for f, u in FLOP_UNITS if largest >= f), (1.0, "FLOP"))


def plot_scaling(study: Study, width: str, stat: str = "std") -> Any:
    """Resolution vs parameters, vs training FLOPs (the largest training set, with the Pareto
    front) and vs training events (all models)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator

    from airshower.figures.headline import energy_label
    from airshower.figures.paper_style import (
        GCM2,
        compact_number,
        log_axis,
        model_legend,
        model_style,
        new_figure,
        note,
        readable_log_ticks,
    )
    from airshower.figures.performance import STAT_LABELS

    rows = scaling_rows(study, stat)
    first = {}  # family -> index of its first model: its colour and marker
    for m, r in zip(study.models, rows, strict=True):
        first.setdefault(r["family"], m.index)
    aspect = 0.42 if width == "double" else 0.6
    fig, axes = new_figure(width, aspect=aspect, ncols=len(PANELS), sharey=True)
    narrow = width == "single"
    front_drawn = False
    tops = []
    for ax, key in zip(axes[0], PANELS, strict=True):
        drawn = panel_rows(rows, key)
        scale, unit = (_flop_unit(max(r[key] for r in drawn)) if key == "training_flops" and drawn
                       else (1.0, ""))
        compute = f"training{'' if narrow else ' compute'} [{unit or 'FLOP'}]"  # narrow: short labels
        ax.set_xlabel({"parameters": "parameters", "training_flops": compute, "train_events": "training events"}[key])
        if not drawn:
            note(ax, "no data")
            ax.set_xticks([])
            continue
        groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for r in drawn:
            groups.setdefault((r["family"], r["parameters"] if key == "train_events" else None), []).append(r)
        for (fam, _), members in groups.items():
            members.sort(key=lambda r: r[key])
            style = model_style(first[fam])
            errs = [0.0 if r["resolution_err_gcm2"] is None else r["resolution_err_gcm2"] for r in members]
            ax.errorbar([r[key] / scale for r in members], [r["resolution_gcm2"] for r in members], yerr=errs,
                        color=style["color"], marker=style["marker"], ms=4.0, lw=0.9, elinewidth=0.8,
                        label=members[0]["family_label"])
            tops += [r["resolution_gcm2"] + e for r, e in zip(members, errs, strict=True)]
        if key in PARETO:
            front = sorted((r for r in drawn if r[PARETO[key]]), key=lambda r: r[key])
            if len(front) > 1:
                ax.step([r[key] / scale for r in front], [r["resolution_gcm2"] for r in front], where="post",
                        color="0.5", ls="--", lw=0.8, zorder=0)
                front_drawn = True
        xs = [r[key] / scale for r in drawn]
        lo, hi = min(xs), max(xs)
        pad = max(2.0, math.sqrt(10.0 * lo / hi))  # at least one decade shown: room for two ticks
        log_axis(ax, "x", (lo / pad, hi * pad))
        if narrow:  # three panels in one column: at most three labelled ticks each
            ax.xaxis.set_major_locator(FixedLocator(readable_log_ticks(*ax.get_xlim(), most=3)))
    axes[0, 0].set_ylabel(f"{STAT_LABELS[stat]} [{GCM2}]")
    if tops:
        axes[0, 0].set_ylim(bottom=0.0, top=1.25 * max(tops))
        axes[0, 0].text(0.05, 0.04, energy_label(study.models[0], study.nominal, None),
                        transform=axes[0, 0].transAxes, fontsize="x-small", color="0.3", va="bottom")
    largest = max((r["train_events"] for r in rows if r["train_events"] is not None), default=None)
    if largest is not None and panel_rows(rows, "parameters"):
        axes[0, 0].text(0.95, 0.96, f"{compact_number(largest)} training events", transform=axes[0, 0].transAxes,
                        fontsize="x-small", color="0.3", ha="right", va="top")
    extra = [(Line2D([], [], color="0.5", ls="--", lw=0.8), "Pareto front")] if front_drawn else []
    model_legend(fig, axes, width, extra=extra)
    return fig


def write_scaling(out_dir: str | Path, study: Study, stat: str = "std") -> list[Path]:
    """``scaling.csv`` (every column) and ``scaling.md`` (a table with its caption)."""
    from airshower.figures.summary import COUNT_STEPS, _si, markdown_table, plus_minus, write_csv

    out_dir = Path(out_dir)
    rows = scaling_rows(study, stat)
    written = [write_csv(out_dir / "scaling.csv", rows)]
    flop_steps = tuple((f, " " + u[0]) for f, u in FLOP_UNITS)  # 1.2 P: 1.2e15 FLOPs
    header = ["model", "family", "parameters", "training FLOPs", "train events", "replicas", "resolution [g/cm2]",
              "error", "Pareto (params)", "Pareto (FLOPs)"]
    body = [[r["label"], r["family_label"], _si(r["parameters"], COUNT_STEPS), _si(r["training_flops"], flop_steps),
             _si(r["train_events"], COUNT_STEPS), str(r["replicas"]),
             plus_minus(r["resolution_gcm2"], r["resolution_err_gcm2"], 1, False),
             {"replica_std": "replica std", "bootstrap": "bootstrap"}.get(r["error"] or "", ""),
             "yes" if r["pareto_params"] else "", "yes" if r["pareto_flops"] else ""]
            for r in rows]
    known = [r["train_events"] for r in rows if r["train_events"] is not None]
    subset = (f"the models trained on the largest training set ({max(known)} events)" if known
              else "all models (no model records its training events)")
    caption = (f"Scaling of the network families of study '{study.name}': Xmax resolution ({stat}) on the "
               f"nominal test set {study.dataset_label(study.nominal)} over all energies, the mean over each "
               "model's replicas ± their standard deviation (two or more replicas) or the bootstrap error "
               "(column 'error'). Pareto: no other model is at least as good with at most as many parameters "
               f"(resp. training FLOPs, forward and backward), among {subset}.")
    written.append(write_text(out_dir / "scaling.md", markdown_table(header, body, caption, left=2)))
    return written


__all__: Sequence[str] = ("family", "pareto_front", "panel_rows", "plot_scaling", "scaling_rows", "write_scaling")
