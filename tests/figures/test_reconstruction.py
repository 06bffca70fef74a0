"""Figures and table of every reconstructed target and of the uncertainties' calibration, from synthetic studies."""

import csv
import math

import matplotlib.pyplot as plt
import pytest

from airshower.figures.paper import FIGURES, TABLES, output_files, run_figures
from airshower.figures.study import load_study

from tests.kit.study import DATASETS, FIGURES as FIGURE_CONFIG, MODEL_TARGETS, MODELS, make_study


NEW_FIGURES = ("targets_vs_energy", "xmax_vs_zenith", "xmax_vs_energy_per_primary", "calibration")


@pytest.fixture(scope="module")
def out(drawn):
    """The folder of the synthetic study's figures and tables (conftest's ``drawn``)."""
    return drawn[0]


@pytest.fixture(scope="module")
def xmax_only(tmp_path_factory):
    """A study of one model that reconstructs Xmax only, without uncertainty: (results, tensors)."""
    results = tmp_path_factory.mktemp("xmax_only") / "results" / "x"
    tensors = make_study(results, models={"hexcnn": MODELS["hexcnn"]}, datasets=["test"], model_targets={})
    return results, tensors


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_new_figures_and_table_are_declared():
    assert set(NEW_FIGURES) <= set(FIGURES)
    assert {"targets.csv", "targets.md", "targets.tex"} <= set(TABLES)
    files = output_files(["a"], ["test"], ["pdf"])
    assert {f"{f}.pdf" for f in NEW_FIGURES} <= set(files) and "targets.csv" in files


def test_new_figures_are_drawn_for_a_multi_target_study(out):
    for stem in NEW_FIGURES:
        assert (out / f"{stem}.png").stat().st_size > 5000, stem


def test_targets_table_has_one_row_per_model_and_target(out):
    rows = _rows(out / "targets.csv")
    expected = [(m, t) for m in MODELS for t in ("xmax", "lg_energy", "axis", "core", "ln_a")
                if t in MODEL_TARGETS[m][0]]
    assert [(r["model"], r["target"]) for r in rows] == expected
    for col in ("unit", "events", "std", "std_err", "half68", "q68", "q68_err", "bias", "bias_err",
                "merit_factor", "merit_factor_err", "merit_factor_true", "pull_std", "pull_std_err", "pull_half68"):
        assert col in rows[0], col
    by = {(r["model"], r["target"]): r for r in rows}
    assert by["vit", "xmax"]["unit"] == "g/cm2" and by["vit", "axis"]["unit"] == "deg"
    assert by["vit", "lg_energy"]["unit"] == "1" and by["vit", "core"]["unit"] == "m"
    # the statistics each target defines, and only those
    assert by["vit", "axis"]["q68"] and not by["vit", "axis"]["std"] and not by["vit", "axis"]["bias"]
    assert by["vit", "lg_energy"]["std"] and not by["vit", "lg_energy"]["q68"]
    # the synthetic smearing is recovered: Xmax and ln A (0.6) std, relative energy std 0.1
    for r, (sigma, *_rest) in zip([by[m, "xmax"] for m in MODELS], MODELS.values(), strict=True):
        assert abs(float(r["std"]) - sigma) < 4 * float(r["std_err"])
    assert abs(float(by["vit", "ln_a"]["std"]) - 0.6) < 4 * float(by["vit", "ln_a"]["std_err"])
    assert abs(float(by["hexcnn", "lg_energy"]["std"]) - 0.1) < 4 * float(by["hexcnn", "lg_energy"]["std_err"])
    # merit factor where the target separates primaries; the true ln A is one value per primary
    assert by["vit", "ln_a"]["merit_factor"] and math.isinf(float(by["vit", "ln_a"]["merit_factor_true"]))
    assert 0.5 < float(by["vit", "xmax"]["merit_factor_true"]) < 3.0
    assert not by["vit", "axis"]["merit_factor"]


def test_pull_width_says_how_well_calibrated_each_model_is(out):
    rows = _rows(out / "targets.csv")
    for r in rows:
        scale = MODEL_TARGETS[r["model"]][1]
        if scale is None:  # no uncertainty head: empty
            assert r["pull_std"] == "" and r["pull_half68"] == ""
            continue
        width, err = float(r["pull_std"]), float(r["pull_std_err"])
        # synthetic sigma = true spread x scale: pulls of width 1 / scale (1: calibrated)
        assert abs(width - 1.0 / scale) < max(4 * err, 0.02), (r["model"], r["target"], width, err)
    calibrated = [float(r["pull_std"]) for r in rows if MODEL_TARGETS[r["model"]][1] == 1.0]
    assert calibrated and all(abs(w - 1.0) < 0.12 for w in calibrated)
    overconfident = [float(r["pull_std"]) for r in rows if MODEL_TARGETS[r["model"]][1] == 0.8]
    assert overconfident and all(w > 1.12 for w in overconfident)


def test_targets_markdown_and_latex(out):
    n_rows = len(_rows(out / "targets.csv"))
    md = (out / "targets.md").read_text().splitlines()
    table = [line for line in md if line.startswith("| ")]
    assert len(table) == 1 + n_rows
    assert "pull width" in table[0] and "resolution" in table[0]
    vit_energy = next(line for line in table if line.startswith("| Vision transformer | lg_energy |"))
    assert "| % | std |" in vit_energy  # the relative energy residual in percent
    assert "∞" in next(line for line in table if "| ln_a |" in line)
    tex = (out / "targets.tex").read_text()
    assert r"\toprule" in tex and tex.count(r"\\") == 1 + n_rows
    # display labels of models and targets, typeset
    assert "LSTM + hex CNN" in tex and r"$\ln A$" in tex and r"\infty" in tex and "lstm" not in tex


def test_summary_reads_the_xmax_merit_factor_of_the_quantities(out):
    rows = _rows(out / "summary.csv")
    assert all(r["merit_factor_19.0"] and r["merit_factor_true_19.0"] for r in rows)


def test_panels_follow_the_reconstructed_targets(study_dir):
    from airshower.figures.paper_style import paper_style
    from airshower.figures.reconstruction import plot_calibration, plot_targets_vs_energy

    results, tensors = study_dir
    study = load_study(results, list(MODELS), DATASETS, tensors)
    with paper_style("double"):
        fig = plot_targets_vs_energy(study, "std", "double")
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == ["energy", "direction", "core", r"$\ln A$", r"$\ln A$, p/Fe"]
        fig = plot_calibration(study, "double")
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == [r"$X_\mathrm{max}$", "energy", "direction", "core", r"$\ln A$"]
        # hexcnn has no uncertainty head: only the two others in the calibration legend
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["LSTM + hex CNN", "Vision transformer"]
    plt.close("all")


def test_xmax_only_study_writes_every_file_with_notes(xmax_only, tmp_path):
    from airshower.figures.paper_style import paper_style
    from airshower.figures.reconstruction import (
        plot_calibration,
        plot_targets_vs_energy,
        plot_xmax_vs_energy_per_primary,
        plot_xmax_vs_zenith,
    )

    results, tensors = xmax_only
    written = run_figures(results, ["hexcnn"], ["test"], FIGURE_CONFIG | {"formats": ["png"]}, tensors, tmp_path)
    expected = output_files(["hexcnn"], ["test"], ["png"])
    assert sorted(p.name for p in written) == sorted(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)
    rows = _rows(tmp_path / "targets.csv")
    assert [(r["model"], r["target"], r["pull_std"]) for r in rows] == [("hexcnn", "xmax", "")]

    study = load_study(results, ["hexcnn"], ["test"], tensors)

    def texts(fig):
        return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)

    with paper_style("single"):
        assert "besides Xmax" in texts(plot_targets_vs_energy(study, "std", "single"))
        assert "uncertainties" in texts(plot_calibration(study, "single"))
        # Xmax is there: drawn, no note
        assert texts(plot_xmax_vs_zenith(study, "std", "single")) == ""
        assert texts(plot_xmax_vs_energy_per_primary(study, "half68", "single")) == ""
    plt.close("all")
