"""Replicas in the summary tables (mean, spread, significance) and the time-to-target figure and table."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from airshower.figures.study import Study
from airshower.figures.summary import (
    latex_tables,
    physics_table,
    replica_statistics,
    significantly_different,
    summary_rows,
)
from airshower.figures.time_to_target import (
    baseline_model,
    plot_resolution_vs_time,
    time_to_target_rows,
    write_time_to_target,
)

from tests.kit.records import history, record, study


def test_replica_statistics_combine_the_bootstrap_and_the_training_scatter() -> None:
    m = record("a", 0, [(40.0, 30.0), (42.0, 31.0), (44.0, 29.0)], err=1.5)
    s = replica_statistics(m, "test", 19.2, "std")
    assert s["n"] == 3 and s["mean"] == pytest.approx(42.0) and s["replica_std"] == pytest.approx(2.0)
    assert s["bootstrap"] == pytest.approx(1.5)
    assert s["combined_err"] == pytest.approx(math.sqrt(1.5**2 + 2.0**2 / 3))
    one = replica_statistics(record("b", 1, [(40.0, 30.0)], err=1.5), "test", 19.2, "std")
    assert one["replica_std"] is None and one["combined_err"] == pytest.approx(1.5)


def test_a_difference_is_significant_only_beyond_both_errors() -> None:
    # 6 g/cm2 apart, bootstrap errors 1: beyond the bootstrap alone, but the replicas scatter by ~5
    noisy = [record(n, i, v) for i, (n, v) in enumerate([("a", [(40.0, 30.0), (46.0, 30.0), (34.0, 30.0)]),
                                                        ("b", [(46.0, 30.0), (52.0, 30.0), (40.0, 30.0)])])]
    stats = [replica_statistics(m, "test", 19.2, "std") for m in noisy]
    assert not significantly_different(*stats)
    # the same means with a small replica scatter: significant
    calm = [record("a", 0, [(40.0, 30.0), (40.5, 30.0), (39.5, 30.0)]),
            record("b", 1, [(46.0, 30.0), (46.5, 30.0), (45.5, 30.0)])]
    assert significantly_different(*[replica_statistics(m, "test", 19.2, "std") for m in calm])
    # one replica: the training scatter is unknown, nothing is called significant
    single = [record("a", 0, [(40.0, 30.0)]), record("b", 1, [(60.0, 30.0)])]
    assert significantly_different(*[replica_statistics(m, "test", 19.2, "std") for m in single]) is None


def test_the_summary_aggregates_the_replicas_and_states_the_rule() -> None:
    s = study(record("a", 0, [(40.0, 30.0), (40.5, 30.2), (39.5, 29.8)]),
              record("b", 1, [(46.0, 30.0), (46.5, 30.4), (45.5, 29.6)]))
    rows = summary_rows(s, [19.2, 19.7], "std")
    assert [r["replicas"] for r in rows] == [3, 3]
    assert rows[0]["xmax_resolution_19.2_mean"] == pytest.approx(40.0)
    assert rows[0]["xmax_resolution_19.2"] == pytest.approx(40.0)  # replica 0 itself, as before
    assert rows[1]["xmax_resolution_19.2_replica_std"] == pytest.approx(0.5)
    assert rows[0]["xmax_resolution_19.2_significant"] is None  # the best model
    assert rows[1]["xmax_resolution_19.2_significant"] is True
    assert rows[1]["xmax_resolution_19.7_significant"] is False  # 30.0 against 30.0
    header, body, _ = physics_table(s, rows, [19.2, 19.7], "std", tex=False)
    assert header[3].startswith("σ(replicas)") and body[2][2].endswith(" *") and body[2][3] == "0.5 (3)"
    tex = latex_tables(s, rows, [19.2, 19.7], "std")
    assert r"\sigma_\mathrm{rep}" in tex and "significant" in tex and r"$^{*}$" in tex


def test_without_replicas_the_physics_table_is_as_before() -> None:
    s = study(record("a", 0, [(40.0, 30.0)]), record("b", 1, [(46.0, 30.0)]))
    rows = summary_rows(s, [19.2], "std")
    header, body, _ = physics_table(s, rows, [19.2], "std", tex=False)
    assert len(header) == 5 and body[0][2] == "40.0 ± 1.0"
    assert "replica" not in latex_tables(s, rows, [19.2], "std")


def timed_study() -> Study:
    return study(
        record("hexcnn", 0, [(50.0, 40.0)], history=history([10, 20, 30, 40], [60, 55, 52, 51])),
        record("lstm_hexcnn", 1, [(45.0, 35.0)], history=history([100, 200, 300, 400], [60, 45, 40, 41])),
        record("vit", 2, [(40.0, 30.0)], history=history([50, 100, 150, 200], [50, 40, 38, 37])),
    )


def test_time_to_target_against_the_baseline() -> None:
    s = timed_study()
    assert baseline_model(s).name == "lstm_hexcnn"
    rows = {r["model"]: r for r in time_to_target_rows(s)}
    assert rows["lstm_hexcnn"]["target_gcm2"] == 40.0 and rows["lstm_hexcnn"]["time_to_target_s"] == 300.0
    assert rows["lstm_hexcnn"]["ratio"] == 1.0
    assert rows["vit"]["time_to_target_s"] == 100.0 and rows["vit"]["ratio"] == pytest.approx(1 / 3)
    assert rows["hexcnn"]["time_to_target_s"] is None and rows["hexcnn"]["ratio"] is None
    assert rows["vit"]["best_gcm2"] == 37.0 and rows["hexcnn"]["training_time_s"] == 40.0
    # without lstm_hexcnn the first model is the baseline
    first = study(*[m for m in s.models if m.name != "lstm_hexcnn"])
    assert baseline_model(first).name == "hexcnn"
    assert {r["model"]: r["ratio"] for r in time_to_target_rows(first)} == {"hexcnn": 1.0, "vit": pytest.approx(50 / 40)}


def test_time_figure_and_table_are_written(tmp_path) -> None:
    from airshower.figures.paper_style import paper_style, save_figure

    s = timed_study()
    written = write_time_to_target(tmp_path, s)
    assert [p.name for p in written] == ["time_to_target.csv", "time_to_target.md"]
    rows = list(csv.DictReader((tmp_path / "time_to_target.csv").open()))
    assert rows[2]["model"] == "vit" and float(rows[2]["ratio"]) == pytest.approx(1 / 3)
    assert "not reached" in (tmp_path / "time_to_target.md").read_text()
    with paper_style("single", "default", False, ["png"]):
        s.models[2].replicas = [record("vit~1", 2, [(41.0, 31.0)], history=history([40, 90], [49, 39]))]
        fig = plot_resolution_vs_time(s, "single")
        thin = [line for line in fig.axes[0].lines if line.get_linewidth() == pytest.approx(0.6)]
        assert len(thin) == 1 and len(fig.axes[0].lines) >= 4
        assert save_figure(fig, tmp_path, "resolution_vs_time", ["png"], 60)[0].stat().st_size > 0
        # histories without the validation resolution: a note, no error
        empty = study(record("a", 0, [(40.0, 30.0)], history={"epoch": np.array([1.0]), "seconds": np.array([3.0])}))
        save_figure(plot_resolution_vs_time(empty, "single"), tmp_path, "empty", ["png"], 60)


def test_the_paper_figures_include_the_time_figure_and_table(drawn) -> None:
    out, _ = drawn
    assert (out / "resolution_vs_time.png").stat().st_size > 0
    assert (out / "time_to_target.csv").stat().st_size > 0
