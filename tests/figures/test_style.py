"""The look of the figures: default and journal style, readable axes, the headline and learning-curve panels,
the example event's true core."""

import shutil

import matplotlib
import numpy as np
import pytest

from airshower.figures.paper_style import (
    compact_number,
    model_legend,
    model_style,
    paper_style,
    readable_log_ticks,
    style_params,
    time_unit,
)

from tests.kit.study import DATASETS


@pytest.fixture(scope="module")
def study(study_dir):
    from airshower.figures.study import load_study

    results, tensors = study_dir
    return load_study(results, ["hexcnn", "lstm_hexcnn", "vit"], DATASETS, tensors)


def _tick_labels(axis) -> list[str]:
    ax = axis.axes
    ax.figure.canvas.draw()
    lo, hi = sorted(axis.get_view_interval())
    return [t.get_text() for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs(), strict=True)
            if t.get_text() and lo <= v <= hi]


def test_default_style_is_dejavu_sans_and_journal_is_serif_with_mathtext():
    with paper_style("single"):
        assert matplotlib.rcParams["font.family"] == ["sans-serif"]
        assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    with paper_style("single", "journal"):
        assert matplotlib.rcParams["font.family"] == ["serif"]
        assert matplotlib.rcParams["mathtext.fontset"] in ("cm", "stix")
        assert not matplotlib.rcParams["text.usetex"]
        from matplotlib.font_manager import FontProperties, findfont

        found = findfont(FontProperties(family="serif"), fallback_to_default=False)
        assert "DejaVuSans" not in found
    assert matplotlib.rcParams["font.family"] != ["serif"]  # the context restores the settings
    with pytest.raises(ValueError, match="journal"):
        style_params("fancy")


@pytest.mark.skipif(shutil.which("latex") is not None, reason="latex is installed here")
def test_usetex_without_latex_warns_and_keeps_mathtext():
    with pytest.warns(UserWarning, match="latex"):
        params = style_params("journal", usetex=True, formats=["png"])
    assert "text.usetex" not in params


def test_journal_style_draws_every_figure(study_dir, tmp_path):
    from airshower.figures.paper import run_figures

    from tests.kit.study import FIGURES, MODELS

    results, tensors = study_dir
    out = tmp_path / "journal"
    written = run_figures(results, list(MODELS), DATASETS, FIGURES | {"formats": ["pdf"], "style": "journal"},
                          tensors, out)
    pdf = (out / "headline.pdf").read_bytes()
    assert b"DejaVuSans" not in pdf and len(written) > 20


def test_log_ticks_are_readable_whatever_the_span():
    assert readable_log_ticks(13e3, 750e3) == [3e4, 1e5, 3e5]  # the parameters of the default study
    assert readable_log_ticks(0.7, 6.9) == [1.0, 2.0, 5.0]
    assert len(readable_log_ticks(100, 1e9)) <= 5
    for lo, hi in ((0.55, 0.9), (2.1e5, 3.2e6), (0.8, 1.1), (17.0, 86.0)):
        assert len(readable_log_ticks(lo, hi)) >= 2, (lo, hi)
    assert time_unit(86) == (1.0, "s") and time_unit(0.8 * 3600) == (60.0, "min") and time_unit(5 * 3600)[1] == "h"


def test_headline_gpu_panel_only_with_gpu_models_and_readable_parameter_ticks(study_dir, study):
    from airshower.figures.headline import headline_panels, plot_headline
    from airshower.figures.study import load_study

    results, tensors = study_dir
    with paper_style("single"):
        fig = plot_headline(study, "std", None, "single")
        assert headline_panels(study) == ["params", "time", "gpu"]
        params_ax, time_ax, gpu_ax = fig.axes
        assert gpu_ax.get_xlabel().startswith("GPU time")
        assert len(gpu_ax.containers) == 2  # the two GPU-trained models only
        assert params_ax.get_xscale() == "log" and len(_tick_labels(params_ax.xaxis)) >= 2
        assert all("^" not in t and "10" != t for t in _tick_labels(params_ax.xaxis))
        assert time_ax.get_xlabel() == "training [min]"  # three panels in one column: the short label
        cpu_only = load_study(results, ["hexcnn"], DATASETS, tensors)
        fig = plot_headline(cpu_only, "std", None, "single")
        assert headline_panels(cpu_only) == ["params", "time"] and len(fig.axes) == 2
        assert not any("GPU" in ax.get_xlabel() for ax in fig.axes)
        assert len(_tick_labels(fig.axes[0].xaxis)) >= 2  # one model: still two labelled ticks


def test_learning_curves_fall_back_to_the_loss_with_readable_ticks(study):
    from airshower.figures.learning_curves import plot_learning_curves

    with paper_style("single"):
        fig = plot_learning_curves(study, "single")
        epoch_ax = fig.axes[0]
        assert epoch_ax.get_ylabel() == "loss (standardised)"
        labels = _tick_labels(epoch_ax.yaxis)
        assert len(labels) >= 2 and not any("times" in t or "^" in t for t in labels)
        assert fig.axes[1].get_xlabel() in ("training time [min]", "training time [h]", "training time [s]")


def test_learning_curves_show_the_validation_resolution_in_physical_units(study):
    import copy

    from airshower.figures.learning_curves import plot_learning_curves, resolution_column

    physical = copy.deepcopy(study)
    for m in physical.models:
        n = len(m.history["epoch"])
        m.history["val_xmax_std_gcm2"] = np.linspace(80.0, 40.0 + 5 * m.index, n)
    assert resolution_column(physical.models[0].history)[0] == "std"
    assert resolution_column({"epoch": np.arange(3.0), "val_loss": np.ones(3)}) is None
    with paper_style("single"):
        fig = plot_learning_curves(physical, "single")
        top = fig.axes[0]
        assert "g/cm" in top.get_ylabel() and "validation" in top.get_ylabel()
        assert top.get_yscale() == "linear"
        assert len(fig.axes) == 4
        texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        assert texts[:3] == [m.label for m in study.models]
        assert "validation" in [t.get_text() for t in fig.axes[3].get_legend().get_texts()]


def test_example_event_true_core_is_an_open_marker_with_a_legend_entry(study_dir, study):
    from airshower.figures.event_display import choose_example, plot_example_event, read_event

    _, tensors = study_dir
    row, _ = choose_example([m.predictions for m in study.models], 19.5)
    event = read_event(tensors, row)
    with paper_style("single"):
        fig = plot_example_event(event, [(m.index, m.predictions) for m in study.models], "single", 3,
                                 labels=[m.label for m in study.models])
    texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "true core" in texts and "Vision transformer: core" in texts
    stars = [line for ax in fig.axes for line in ax.lines if line.get_marker() == "*"]
    assert stars and all(line.get_markerfacecolor() == "none" for line in stars)
    summary = [t.get_text() for ax in fig.axes for t in ax.texts if "model" in t.get_text()]
    assert summary and "LSTM + hex CNN" in summary[0]


def test_up_to_64_models_get_distinct_colour_and_marker_pairs():
    pairs = [(model_style(i)["color"], model_style(i)["marker"]) for i in range(64)]
    assert len(set(pairs)) == 64


def test_a_long_legend_grows_the_figure_not_squeezes_the_panels():
    import matplotlib.pyplot as plt

    heights = []
    for n in (3, 20):
        fig, ax = plt.subplots(figsize=(3.4, 2.4), layout="constrained")
        for i in range(n):
            ax.plot([0, 1], [i, i], label=f"model number {i}", **model_style(i))
        model_legend(fig, ax, "single")
        heights.append(fig.get_figheight())
        plt.close(fig)
    assert heights[0] == pytest.approx(2.4) and heights[1] > 2.4 + 0.5


def test_compact_numbers_keep_three_digits():
    assert [compact_number(v) for v in (24589, 1.55e6, 300, 0.02)] == ["24.6k", "1.55M", "300", "0.02"]
