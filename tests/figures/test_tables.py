"""The summary tables fit a page of a two-column article: a physics and a cost table, readable time units."""

import csv
import re

import pytest

from airshower.figures.summary import (
    COLUMN_PT,
    TEXT_PT,
    cost_table,
    estimate_width_pt,
    format_duration,
    latex_table,
    summary_rows,
)

from tests.kit.study import DATASETS, MODELS


def _tabulars(tex: str) -> list[list[list[str]]]:
    """The cell rows of every tabular of a LaTeX file (header and body; rules left out)."""
    tables = []
    for block in re.findall(r"\\begin\{tabular\}.*?\\end\{tabular\}", tex, re.S):
        rows = [line.removesuffix(r" \\") for line in block.splitlines() if line.endswith(r"\\")]
        tables.append([row.split(" & ") for row in rows])
    return tables


def test_durations_read_in_seconds_minutes_or_hours():
    assert format_duration(17.3) == "17 s"
    assert format_duration(4.44) == "4.4 s"
    assert format_duration(86.0) == "86 s"
    assert format_duration(125.0) == "2.1 min"
    assert format_duration(0.79 * 3600) == "47 min"
    assert format_duration(2.5 * 3600) == "2.5 h"
    assert format_duration(120 * 3600) == "120 h"
    assert format_duration(None) == ""
    assert format_duration(25.0, (60.0, "min"), with_unit=False) == "0.42"
    assert "0.0069" not in format_duration(0.0069 * 3600)


def test_summary_tex_is_a_physics_and_a_cost_table_that_fit_the_page(drawn):
    out, _ = drawn
    tex = (out / "summary.tex").read_text()
    physics, cost = _tabulars(tex)
    # physics: model, energy bin, resolution, one bias per test dataset, merit factor
    assert len(physics[-1]) == 3 + len(DATASETS) + 1
    assert "QGSJetII-04" not in tex  # no labels given to the synthetic study: its dataset names
    assert r"test\_qgsjet" in tex
    # cost: parameters, FLOPs, training time [unit in the header], GPU time (two models ran on GPUs), epochs, device
    assert cost[0][:4] == ["Model", "Parameters", "FLOPs/event", "Training [min]"]
    assert "GPU time [min]" in cost[0] and "Device" in cost[0]
    assert [row[-1] for row in cost[1:]] == ["CPU", "NVIDIA H200", "NVIDIA H200"]
    assert cost[1][cost[0].index("GPU time [min]")] == "--"  # no GPU time for the CPU-trained model
    for rows in (physics, cost):
        assert estimate_width_pt(rows[:1], rows[1:]) < TEXT_PT
    # the captions typeset their symbols
    assert r"$X_\mathrm{max}$" in tex and "Xmax" not in tex and r"\_rec" not in tex
    assert tex.count(r"\begin{table") == 2


def test_the_old_twelve_column_table_would_not_fit():
    header = ["model", "parameters", "FLOPs/event", "training [h]", "device [h]", "epochs"] + [
        f"{q} 18.8--19.1 [g\\,cm$^{{-2}}$]" for q in ("res.", "bias", "MF")] * 2
    body = [["lstm\\_hexcnn", "373 k", "12.1 M", "0.0066", "0.0066 (CPU)", "6 (5)"]
            + ["$56.6 \\pm 3.0$", "$-1.4 \\pm 2.7$", "$0.18 \\pm 0.09$"] * 2]
    assert estimate_width_pt([header], body) > TEXT_PT + 300
    assert latex_table(header, body, "c", "x").startswith(r"\begin{table*}")
    narrow = latex_table(["a", "b"], [["1", "2"]], "c", "x")
    assert narrow.startswith(r"\begin{table}") and estimate_width_pt([["a", "b"]], [["1", "2"]]) < COLUMN_PT


def test_the_cost_table_of_cpu_trained_models_has_no_gpu_column(study_dir):
    from airshower.figures.study import load_study
    from airshower.figures.summary import cost_caption

    results, tensors = study_dir
    study = load_study(results, ["hexcnn"], DATASETS, tensors)
    rows = summary_rows(study, [19.0], "std")
    header, body = cost_table(rows, tex=False)
    assert header == ["model", "parameters", "FLOPs/event", "training [min]", "epochs (best)"]
    assert body[0][3] == format_duration(MODELS["hexcnn"][4] * 3600, (60.0, "min"), with_unit=False) == "3"
    assert "a CPU" in cost_caption(study, rows, tex=False) and "GPU" not in cost_caption(study, rows, tex=False)


def test_summary_csv_keeps_every_column(drawn):
    out, _ = drawn
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for col in ("model", "label", "parameters", "flops_per_event", "training_time_s", "wall_hours",
                "device_hours", "device", "on_gpu", "epochs", "best_epoch", "xmax_resolution_19.0",
                "xmax_bias_19.6_err", "xmax_bias_19.0_test_qgsjet", "xmax_bias_19.0_test_qgsjet_err",
                "merit_factor_true_19.0", "events_19.6"):
        assert col in rows[0], col
    assert float(rows[0]["training_time_s"]) == pytest.approx(3600 * MODELS["hexcnn"][4])


def test_target_table_fits_and_typesets(drawn):
    out, _ = drawn
    tex = (out / "targets.tex").read_text()
    (rows,) = _tabulars(tex)
    assert r"\begin{table*}" in tex
    width = estimate_width_pt(rows[:1], rows[1:], colsep=4.0 if r"\setlength{\tabcolsep}{4pt}" in tex else 6.0)
    assert width * (0.9 if r"\small" in tex else 1.0) < TEXT_PT
    assert r"$X_\mathrm{max}$" in tex and r"$E_\mathrm{rec}/E_\mathrm{true} - 1$" in tex
