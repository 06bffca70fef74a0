"""The study's paper figures and summary tables (``airshower figures``).

Reads, for every model of the config (``models``) and test dataset (``test_datasets``, the
first nominal), the products laid out in :mod:`airshower.figures.study` and writes to
``results/{study}/figures/`` (each figure in every format of ``figures.formats``, in the look
of ``figures.style``). Legends, titles and tables name models and datasets by their display
labels (:mod:`airshower.figures.labels`: ``label`` of an entry of ``models`` or ``datasets``,
else one derived from its type or settings), in the config's order:

==============================  =============================================================
``xmax_resolution``             Xmax resolution vs lg E, all models (nominal test set)
``xmax_bias``                   Xmax bias vs lg E, all models
``headline``                    resolution vs parameters, training time and (where a GPU was
                                used) GPU time
``learning_curves``             validation Xmax resolution (where recorded) and losses vs
                                epoch and training time
``resolution_vs_time``          validation Xmax resolution vs cumulative training time, the
                                baseline's best and where each model reaches it
                                (:mod:`airshower.figures.time_to_target`)
``scaling``                     resolution vs parameters and training FLOPs (largest training
                                set, Pareto front) and vs training events, per family
                                (:mod:`airshower.figures.scaling`)
``merit_factor``                p/Fe merit factor of reconstructed and true Xmax vs lg E
``targets_vs_energy``           resolution and bias of every other target vs lg E (energy in
                                percent, axis and core 68% containment, ln A with its merit factor)
``xmax_vs_zenith``              Xmax resolution and bias vs true zenith angle
``xmax_vs_energy_per_primary``  Xmax resolution and bias vs lg E, one column per p, He, N, Fe
``calibration``                 width of the pulls (rec - true) / sigma vs lg E, per target
                                trained with an uncertainty (1: calibrated)
``model_dependence``            bias shift, each other test set minus the nominal one
                                (only when ``test_datasets`` names more than one)
``example_event``               footprint (signal, start time), traces, reconstructions
``xmax_2d_{model}``             reconstructed vs true Xmax, per model
``xmax_distributions_{model}``  reconstructed Xmax per primary, per model
``summary.csv|md|tex``          one row per model, complete (CSV); a physics table and a
                                cost table that fit a page (Markdown, LaTeX)
                                (:mod:`airshower.figures.summary`)
``targets.csv|md|tex``          one row per model and reconstructed target: resolution, bias,
                                merit factor, pull width (:mod:`airshower.figures.target_summary`)
``time_to_target.csv|md``       per model the training time to reach the baseline's best
                                validation resolution and its ratio to the baseline's
``scaling.csv|md``              per model its family, parameters, training FLOPs and events,
                                resolution (replica mean) and whether on the Pareto front
==============================  =============================================================

Models trained several times (``training.replicas``): the figures with one curve per model
draw replica 0 (the model itself); the summary tables give the mean and standard deviation
over the replicas beside the bootstrap error (:mod:`airshower.figures.summary`).

Every figure is always written: one whose data no model has (a study that trains Xmax only,
models without uncertainties) shows a note saying so.

:func:`output_files` lists them (the Snakemake rule declares exactly these outputs).
Plotting modules are imported inside the functions so that ``airshower --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airshower import layout
from airshower.errors import ConfigError

FIGURES = (
    "xmax_resolution",
    "xmax_bias",
    "headline",
    "learning_curves",
    "resolution_vs_time",
    "scaling",
    "merit_factor",
    "targets_vs_energy",
    "xmax_vs_zenith",
    "xmax_vs_energy_per_primary",
    "calibration",
    "example_event",
)
MODEL_DEPENDENCE = "model_dependence"
PER_MODEL = ("xmax_2d", "xmax_distributions")
TABLES = ("summary.csv", "summary.md", "summary.tex", "targets.csv", "targets.md", "targets.tex",
          "time_to_target.csv", "time_to_target.md", "scaling.csv", "scaling.md")


def figure_stems(models: Sequence[str], datasets: Sequence[str]) -> list[str]:
    """Names (without extension) of every figure the study produces."""
    stems = list(FIGURES)
    if len(datasets) > 1:
        stems.append(MODEL_DEPENDENCE)
    stems += [f"{kind}_{m}" for kind in PER_MODEL for m in models]
    return stems


def output_files(models: Sequence[str], datasets: Sequence[str], formats: Sequence[str]) -> list[str]:
    """File names (relative to the figures folder) of every figure and table."""
    return [f"{stem}.{fmt}" for stem in figure_stems(models, datasets) for fmt in formats] + list(TABLES)


def report_entries(
    models: Sequence[str], datasets: Sequence[str], formats: Sequence[str]
) -> list[tuple[str, str, str | None, bool]]:
    """For the Snakemake rule: (file name, caption name, model or None, shown in the report) of every figure.

    The caption name is the figure kind (``xmax_2d`` for ``xmax_2d_{model}``); one format
    per figure (PNG when drawn, else the first) is shown in the report.
    """
    shown = "png" if "png" in formats else formats[0]
    per_model = {f"{kind}_{m}": (kind, m) for kind in PER_MODEL for m in models}
    entries = []
    for stem in figure_stems(models, datasets):
        kind, model = per_model.get(stem, (stem, None))
        entries += [(f"{stem}.{fmt}", kind, model, fmt == shown) for fmt in formats]
    return entries


def make_figures(study: Any, figures: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Draw every figure and write the tables of a loaded :class:`~airshower.figures.study.Study`."""
    from airshower.figures.distributions import plot_xmax_2d, plot_xmax_per_primary
    from airshower.figures.event_display import choose_example, plot_example_event, read_event
    from airshower.figures.headline import plot_headline
    from airshower.figures.learning_curves import plot_learning_curves
    from airshower.figures.paper_style import paper_style, save_figure
    from airshower.figures.performance import plot_merit_factor, plot_model_dependence, plot_xmax_vs_energy
    from airshower.figures.reconstruction import (
        plot_calibration,
        plot_targets_vs_energy,
        plot_xmax_vs_energy_per_primary,
        plot_xmax_vs_zenith,
    )
    from airshower.figures.scaling import plot_scaling, write_scaling
    from airshower.figures.summary import summary_rows, write_csv, write_latex, write_markdown
    from airshower.figures.target_summary import write_target_tables
    from airshower.figures.time_to_target import plot_resolution_vs_time, write_time_to_target

    from airshower.figures.paper_style import latex_available

    out_dir = Path(out_dir)
    width, formats, dpi = figures["width"], list(figures["formats"]), int(figures["dpi"])
    stat = figures["resolution"]
    style, usetex = figures.get("style", "default"), bool(figures.get("usetex", False))
    written: list[Path] = []

    def save(fig: Any, stem: str) -> None:
        written.extend(save_figure(fig, out_dir, stem, formats, dpi))

    # the example event first: a missing tensor file fails before anything is drawn
    if study.tensor_file is None:
        raise ConfigError("the example event needs the nominal tensor file (--tensors)")
    row, _ = choose_example([m.predictions for m in study.models], float(figures["example_lg_energy"]))
    event = read_event(study.tensor_file, row)

    with paper_style(width, style, usetex, formats):
        if usetex and style == "journal" and latex_available(formats):  # as paper_style decides
            _escape_labels_for_latex(study)
        save(plot_xmax_vs_energy(study, stat, width), "xmax_resolution")
        save(plot_xmax_vs_energy(study, "bias", width), "xmax_bias")
        save(plot_headline(study, stat, figures["headline_lg_energy"], width), "headline")
        save(plot_learning_curves(study, width, stat), "learning_curves")
        save(plot_resolution_vs_time(study, width, stat), "resolution_vs_time")
        save(plot_scaling(study, width, stat), "scaling")
        save(plot_merit_factor(study, width), "merit_factor")
        save(plot_targets_vs_energy(study, stat, width), "targets_vs_energy")
        save(plot_xmax_vs_zenith(study, stat, width), "xmax_vs_zenith")
        save(plot_xmax_vs_energy_per_primary(study, stat, width), "xmax_vs_energy_per_primary")
        save(plot_calibration(study, width), "calibration")
        if len(study.datasets) > 1:
            save(plot_model_dependence(study, width), MODEL_DEPENDENCE)
        for m in study.models:
            save(plot_xmax_2d(m.predictions, width, m.label), f"xmax_2d_{m.name}")
            save(plot_xmax_per_primary(m.predictions, width, figures["distribution_lg_energy"], m.label,
                                       study.dataset_label(study.nominal)), f"xmax_distributions_{m.name}")
        fig = plot_example_event(event, [(m.index, m.predictions) for m in study.models], width,
                                 int(figures["example_traces"]), labels=[m.label for m in study.models])
        save(fig, "example_event")

    energies = [float(e) for e in figures["summary_lg_energies"]]
    rows = summary_rows(study, energies, stat)
    written.append(write_csv(out_dir / "summary.csv", rows))
    written.append(write_markdown(out_dir / "summary.md", study, rows, energies, stat))
    written.append(write_latex(out_dir / "summary.tex", study, rows, energies, stat))
    written.extend(write_target_tables(out_dir, study, stat))
    written.extend(write_time_to_target(out_dir, study, stat))
    written.extend(write_scaling(out_dir, study, stat))
    return written


def _escape_labels_for_latex(study: Any) -> None:
    """Display labels made safe for ``text.usetex`` (underscores, percent signs, ...)."""
    from airshower.figures.summary import tex_text

    for m in study.models:
        m.label = tex_text(m.label)
    study.dataset_labels = {ds: tex_text(label) for ds, label in study.dataset_labels.items()}


def run_figures(
    results: str | Path,
    models: Sequence[str],
    datasets: Sequence[str],
    figures: Mapping[str, Any],
    tensor_file: str | Path,
    out_dir: str | Path | None = None,
    study_name: str | None = None,
    model_labels: Mapping[str, str] | None = None,
    dataset_labels: Mapping[str, str] | None = None,
    selection: Mapping[str, Any] | None = None,
    replicas: Mapping[str, int] | None = None,
) -> list[Path]:
    """Load the study's products under ``results`` and draw everything into ``out_dir``.

    ``replicas``: model -> number of replicas (``training.replicas``; default 1 each).

    ``models`` and ``datasets`` in the order drawn; ``model_labels`` and ``dataset_labels``:
    their display names (:func:`airshower.figures.labels.labels_from_config`; default: the
    architecture's label of each model, the name of each dataset); ``selection``: the events
    the figures drawn from predictions show (``evaluation.selection``, as the metrics).
    """
    from airshower.figures.study import load_study
    from airshower.io.files import require_writable

    out_dir = require_writable(out_dir or Path(results) / "figures", "figures folder", directory=True)
    study = load_study(results, models, datasets, tensor_file=tensor_file, name=study_name,
                       model_labels=model_labels, dataset_labels=dataset_labels, selection=selection,
                       replicas=replicas)
    return make_figures(study, figures, out_dir)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower figures``."""
    parser.add_argument("--results", default=None, help="the study's results folder (default: results/{study})")
    parser.add_argument("--tensors", default=None,
                        help="nominal test tensor file, for the example event (default: data/{study}/tensors/{dataset}.h5)")
    parser.add_argument("--output-dir", default=None, help="where to write (default: {results}/figures)")


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower figures``: reads ``study``, ``models`` (names, types, labels), ``test_datasets``,
    their entries of ``datasets`` and ``simulation`` (for the datasets' labels), ``figures`` and
    ``evaluation.selection``."""
    from airshower.figures.labels import labels_from_config
    from airshower.training.replicas import replica_count

    results = Path(args.results or layout.results_dir(config["study"]))
    datasets = list(config["test_datasets"])
    tensors = args.tensors or layout.tensor_file(config["study"], datasets[0])
    model_labels, dataset_labels = labels_from_config(config)
    written = run_figures(results, list(config["models"]), datasets, config["figures"], tensors,
                          args.output_dir, study_name=config["study"], model_labels=model_labels,
                          dataset_labels=dataset_labels, selection=config["evaluation"]["selection"],
                          replicas={m: replica_count(config, m) for m in config["models"]})
    print(f"wrote {len(written)} files to {Path(args.output_dir or results / 'figures')}")
    return 0
