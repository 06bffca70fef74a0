"""The paper figures and summary tables, drawn from a synthetic study."""

import csv
import json
from pathlib import Path

import pytest

from airshower.cli import main as cli_main
from airshower.errors import InputFileError
from airshower.figures.paper import figure_stems, output_files, run_figures

from tests.kit.study import DATASETS, FIGURES, MODELS, make_study


def test_every_declared_output_is_written_and_not_empty(drawn):
    out, written = drawn
    expected = output_files(list(MODELS), DATASETS, ["png"])
    assert sorted(p.name for p in written) == sorted(expected)
    for name in expected:
        path = out / name
        # time_to_target.csv: one short row per model (the synthetic histories record no resolution)
        assert path.stat().st_size > (100 if name == "time_to_target.csv" else 500), name
    assert (out / "headline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp*"))


def test_stems_follow_models_and_datasets():
    stems = figure_stems(["a", "b"], ["test"])
    assert "model_dependence" not in stems
    assert {"xmax_2d_a", "xmax_2d_b", "xmax_distributions_a", "headline", "example_event"} <= set(stems)
    assert "model_dependence" in figure_stems(["a"], ["test", "other"])
    files = output_files(["a"], ["test"], ["pdf", "png"])
    assert "headline.pdf" in files and "headline.png" in files and "summary.tex" in files


def test_summary_tables_have_one_row_per_model(drawn):
    out, _ = drawn
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == list(MODELS)
    for col in ("parameters", "flops_per_event", "wall_hours", "device_hours", "epochs",
                "xmax_resolution_19.0", "xmax_resolution_19.0_err", "xmax_bias_19.6", "merit_factor_19.6",
                "merit_factor_true_19.6"):
        assert col in rows[0], col
    assert int(rows[2]["parameters"]) == int(MODELS["vit"][3])
    # the smearing of each synthetic model is recovered in the table
    for r, (sigma, *_rest) in zip(rows, MODELS.values(), strict=True):
        assert abs(float(r["xmax_resolution_19.0"]) - sigma) < 4 * float(r["xmax_resolution_19.0_err"])
    assert [r["label"] for r in rows] == ["Hex CNN", "LSTM + hex CNN", "Vision transformer"]
    assert "xmax_bias_19.0_test_qgsjet" in rows[0] and "training_time_s" in rows[0]
    md = (out / "summary.md").read_text().split("\n\n")
    physics, cost = [block.splitlines() for block in md if block.startswith("| ")]
    assert len(physics) == 2 + 2 * len(MODELS)  # header, rule, one row per model and summary energy
    assert len(cost) == 2 + len(MODELS)
    assert "± " in physics[2] and "Vision transformer" in "".join(cost)
    tex = (out / "summary.tex").read_text()
    assert tex.count(r"\toprule") == 2 and tex.count(r"\bottomrule") == 2
    assert r"\label{tab:synthetic-physics}" in tex and r"\label{tab:synthetic-cost}" in tex
    assert "LSTM + hex CNN" in tex and "lstm\\_hexcnn" not in tex


def test_missing_inputs_are_clear_errors(tmp_path, study_dir):
    results, tensors = study_dir
    with pytest.raises(InputFileError, match="metrics file not found"):
        run_figures(results, ["hexcnn", "nosuchmodel"], DATASETS, FIGURES, tensors, tmp_path)
    with pytest.raises(InputFileError, match="tensor file not found"):
        run_figures(results, ["hexcnn"], ["test"], FIGURES | {"formats": ["png"]}, tmp_path / "none.h5", tmp_path)


def test_cli_figures_pdf_and_png_double_width(tmp_path, capsys):
    results = tmp_path / "results" / "s"
    tensors = make_study(results, models={"hexcnn": MODELS["hexcnn"]}, datasets=["test"])
    figures = FIGURES | {"width": "double", "headline_lg_energy": 19.6, "distribution_lg_energy": [19.0, 19.5],
                         "resolution": "half68"}
    cfg = {"study": "s", "test_datasets": ["test"], "models": {"hexcnn": {"type": "hexcnn"}}, "figures": figures}
    args = ["figures", "--config-json", json.dumps(cfg), "--results", str(results), "--tensors", str(tensors)]
    assert cli_main(args) == 0
    out = results / "figures"
    assert sorted(p.name for p in out.iterdir()) == sorted(output_files(["hexcnn"], ["test"], ["pdf", "png"]))
    assert (out / "headline.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "example_event.png").read_bytes()[:4] == b"\x89PNG"
    bad = cfg | {"models": {"nosuch": {"type": "hexcnn"}}}
    assert cli_main(["figures", "--config-json", json.dumps(bad), "--results", str(results), "--tensors",
                     str(tensors)]) == 2
    assert "nosuch.json" in capsys.readouterr().err


def test_example_event_choice_and_reading(study_dir):
    from airshower.figures.event_display import choose_example, read_event
    from airshower.figures.study import load_study

    results, tensors = study_dir
    study = load_study(results, list(MODELS), DATASETS, tensors)
    preds = [m.predictions for m in study.models]
    row, event_id = choose_example(preds, 19.5)
    lg_e = preds[0].truth["lg_energy"]
    assert abs(lg_e[row] - 19.5) == min(abs(lg_e - 19.5))
    event = read_event(tensors, row)
    assert event.event_id == event_id and event.traces.shape == (9, 9, 40)
    assert event.targets["xmax"] == pytest.approx(preds[0].truth["xmax"][row], rel=1e-6)
    with pytest.raises(InputFileError, match="row 100000 does not exist"):
        read_event(tensors, 100_000)


def test_report_entries_name_the_caption_of_each_figure():
    from airshower.figures.paper import report_entries

    entries = report_entries(["cnn", "vit"], ["test", "qgs"], ["pdf", "png"])
    assert ("xmax_2d_vit.png", "xmax_2d", "vit", True) in entries
    assert ("xmax_2d_vit.pdf", "xmax_2d", "vit", False) in entries
    assert ("headline.png", "headline", None, True) in entries
    assert {kind for _, kind, _, _ in entries} <= {
        p.stem for p in (Path(__file__).resolve().parents[2] / "workflow" / "report").glob("*.rst")
    }
