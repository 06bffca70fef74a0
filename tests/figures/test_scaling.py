"""The scaling figure and table: resolution vs parameters, training FLOPs and training events, per family."""

from __future__ import annotations

import csv

import pytest

from airshower.figures.paper_style import model_style, paper_style, save_figure
from airshower.figures.scaling import pareto_front, plot_scaling, scaling_rows, write_scaling
from airshower.figures.summary import replica_statistics

from tests.kit.records import record, study


def model(name: str, index: int, family: str, resolutions: list[float], parameters: float,
          flops: float | None, events: int | None) -> object:
    """A model of ``family`` whose replicas have these overall resolutions (bootstrap error 1)."""
    info = {"type": family, "parameters": int(parameters), "training_flops": flops, "train_events": events}
    return record(name, index, [(v, v) for v in resolutions], info=info)


def scaling_study():
    return study(
        model("hex_s", 0, "hexcnn", [50.0, 52.0, 48.0], 1e5, 1e13, 100_000),
        model("hex_l", 1, "hexcnn", [42.0], 1e6, 1e14, 100_000),
        model("vit_s", 2, "vit", [48.0], 3e5, 4e13, 100_000),
        model("vit_l", 3, "vit", [45.0], 3e6, 5e14, 100_000),
        model("hex_s_10k", 4, "hexcnn", [60.0], 1e5, 1e12, 10_000),  # smaller training set: panel c only
        model("temporal", 5, "temporal", [49.0], 2e5, None, 100_000),  # older record: no training FLOPs
    )


def test_the_pareto_front_keeps_the_undominated_points_in_order_of_x() -> None:
    points = [(3.0, 45.0), (1.0, 50.0), (10.0, 42.0), (2.0, 50.0), (1.0, 55.0), (5.0, 41.0)]
    assert pareto_front(points) == [1, 0, 5]
    assert pareto_front([(1.0, 1.0)]) == [0] and pareto_front([]) == []


def test_replica_statistics_over_all_energies_use_the_total_entry() -> None:
    s = replica_statistics(record("a", 0, [(40.0, 30.0), (44.0, 30.0)]), "test", None, "std")
    assert s["values"] == [35.0, 37.0] and s["mean"] == pytest.approx(36.0)


def test_rows_give_the_replica_mean_its_error_and_the_pareto_fronts() -> None:
    rows = {r["model"]: r for r in scaling_rows(scaling_study())}
    hex_s = rows["hex_s"]
    assert hex_s["family"] == "hexcnn" and hex_s["family_label"] == "Hex CNN" and hex_s["replicas"] == 3
    assert hex_s["resolution_gcm2"] == pytest.approx(50.0)
    assert hex_s["resolution_err_gcm2"] == pytest.approx(2.0) and hex_s["error"] == "replica_std"
    assert rows["hex_l"]["resolution_err_gcm2"] == 1.0 and rows["hex_l"]["error"] == "bootstrap"
    assert rows["hex_l"]["replica_std_gcm2"] is None and rows["hex_l"]["bootstrap_err_gcm2"] == 1.0
    assert rows["temporal"]["training_flops"] is None and rows["hex_s"]["train_events"] == 100_000
    assert not rows["hex_s_10k"]["largest_train_events"] and rows["vit_l"]["largest_train_events"]
    # fewer parameters and better: hex_s (1e5), temporal (2e5), vit_s (3e5), hex_l (1e6); not vit_l,
    # nor hex_s_10k (trained on fewer events: not in the panel)
    assert {m for m, r in rows.items() if r["pareto_params"]} == {"hex_s", "temporal", "vit_s", "hex_l"}
    assert {m for m, r in rows.items() if r["pareto_flops"]} == {"hex_s", "vit_s", "hex_l"}
    # the model's name is its family when train_info.json records no type
    bare = study(record("mine", 0, [(40.0, 40.0)], info={"parameters": 10}))
    (row,) = scaling_rows(bare)
    assert row["family"] == "mine" and row["train_events"] is None and row["largest_train_events"]
    assert row["pareto_params"] and not row["pareto_flops"]


def test_the_figure_has_a_line_per_family_and_group_and_the_fronts(tmp_path) -> None:
    s = scaling_study()
    with paper_style("single", "default", False, ["png"]):
        fig = plot_scaling(s, "single")
        params, flops, events = fig.axes[:3]
        dashed = [line for line in params.lines if line.get_linestyle() == "--"]
        assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [1e5, 2e5, 3e5, 1e6]
        assert [line for line in flops.lines if line.get_linestyle() == "--"]
        solid = [line for line in events.lines if line.get_linestyle() == "-"]
        # (family, parameters): hexcnn 1e5 (two training sets), hexcnn 1e6, vit 3e5, vit 3e6, temporal 2e5
        assert len(solid) == 5
        hex_small = next(line for line in solid if len(line.get_xdata()) == 2)
        assert list(hex_small.get_xdata()) == [10_000, 100_000] and hex_small.get_color() == model_style(0)["color"]
        vit = [line for line in params.lines if line.get_color() == model_style(2)["color"] and len(line.get_xdata())]
        assert [line.get_marker() for line in vit if line.get_linestyle() == "-"] == [model_style(2)["marker"]]
        assert params.get_xscale() == "log" and events.get_xscale() == "log"
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels == ["Hex CNN", "Vision transformer", "Temporal transformer", "Pareto front"]
        assert save_figure(fig, tmp_path, "scaling", ["png"], 60)[0].stat().st_size > 0


def test_panels_without_data_say_so_and_one_model_is_enough(tmp_path) -> None:
    with paper_style("double", "default", False, ["png"]):
        one = study(record("hexcnn", 0, [(40.0, 40.0)], info={"type": "hexcnn", "parameters": 1000}))
        fig = plot_scaling(one, "double")
        texts = [[t.get_text() for t in ax.texts] for ax in fig.axes[:3]]
        assert "no data" not in texts[0] and "no data" in texts[1] and "no data" in texts[2]
        save_figure(fig, tmp_path, "one", ["png"], 60)
        nothing = study(record("a", 0, [(40.0, 40.0)], info={}))
        nothing.models[0].metrics["test"]["quantities"] = {}  # no Xmax reconstructed
        fig = plot_scaling(nothing, "double")
        assert all("no data" in [t.get_text() for t in ax.texts] for ax in fig.axes[:3])
        save_figure(fig, tmp_path, "none", ["png"], 60)


def test_the_table_is_written(tmp_path) -> None:
    written = write_scaling(tmp_path, scaling_study())
    assert [p.name for p in written] == ["scaling.csv", "scaling.md"]
    rows = list(csv.DictReader((tmp_path / "scaling.csv").open()))
    assert [r["model"] for r in rows] == ["hex_s", "hex_l", "vit_s", "vit_l", "hex_s_10k", "temporal"]
    for column in ("family", "parameters", "training_flops", "train_events", "replicas", "resolution_gcm2",
                   "resolution_err_gcm2", "error", "pareto_params", "pareto_flops"):
        assert column in rows[0], column
    assert rows[0]["error"] == "replica_std" and rows[5]["training_flops"] == "" and rows[3]["pareto_params"] == "False"
    md = (tmp_path / "scaling.md").read_text()
    assert "| hex_s | Hex CNN | 100 k | 10 T | 100 k | 3 | 50.0 ± 2.0 | replica std | yes | yes |" in md
    assert "largest training set (100000 events)" in md
    assert not list(tmp_path.glob(".*tmp*"))


def test_the_paper_figures_include_the_scaling_figure_and_table(drawn) -> None:
    out, _ = drawn
    assert (out / "scaling.png").stat().st_size > 0
    rows = list(csv.DictReader((out / "scaling.csv").open()))
    assert [r["family"] for r in rows] == ["hexcnn", "lstm_hexcnn", "vit"]
    # smearing 45, 35, 28 g/cm2 with 0.21, 0.65, 3.2 M parameters: each on the front; no FLOPs recorded
    assert [r["pareto_params"] for r in rows] == ["True"] * 3 and {r["pareto_flops"] for r in rows} == {"False"}
