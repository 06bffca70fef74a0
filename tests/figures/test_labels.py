"""Display labels of models and datasets, and that every figure and table uses them in the config's order."""

import json

from airshower.cli import main as cli_main
from airshower.config import validate_config
from airshower.figures.labels import TYPE_LABELS, dataset_labels, labels_from_config, model_labels

from tests.kit.study import DATASETS, MODELS, make_study


def test_model_labels_default_from_the_type_and_explicit_ones_win():
    models = {"b_vit": {"type": "vit"}, "base": {"type": "lstm_hexcnn", "label": "Auger baseline"},
              "cnn": {"type": "hexcnn"}}
    assert model_labels(models) == {"b_vit": "Vision transformer", "base": "Auger baseline", "cnn": "Hex CNN"}
    assert list(model_labels(models)) == ["b_vit", "base", "cnn"]  # the config's order
    assert set(TYPE_LABELS) == {"hexcnn", "lstm_hexcnn", "vit", "temporal", "perceiver"}
    # two models of one type are told apart by their names; names alone keep the names
    twins = model_labels({"hexcnn": {"type": "hexcnn"}, "hexcnn_mse": {"type": "hexcnn"}})
    assert twins == {"hexcnn": "Hex CNN (hexcnn)", "hexcnn_mse": "Hex CNN (hexcnn_mse)"}
    assert model_labels(["x", "y"]) == {"x": "x", "y": "y"}
    assert model_labels(["x"], kinds={"x": "perceiver"}) == {"x": "Perceiver"}


def test_dataset_labels_from_their_settings():
    simulation = {"hadronic_model": "EPOS-LHC", "muon_scale": 1.0, "electronics": "ub"}
    datasets = {
        "test": {"events": 10, "seed": 1},
        "test_qgsjet": {"events": 10, "seed": 2, "simulation": {"hadronic_model": "QGSJetII-04"}},
        "test_muon133": {"events": 10, "seed": 3, "simulation": {"muon_scale": 1.33}},
        "uub": {"events": 10, "seed": 4, "simulation": {"electronics": "uub", "muon_scale": 1.0}},
        "mine": {"events": 10, "seed": 5, "label": "my set"},
        "files": {"source": "files", "paths": ["a.root"]},
    }
    labels = dataset_labels(list(datasets), datasets, simulation)
    assert labels == {"test": "EPOS-LHC", "test_qgsjet": "QGSJetII-04", "test_muon133": "muon scale 1.33",
                      "uub": "UUB", "mine": "my set", "files": "files"}
    # two datasets of the same settings: their names tell them apart
    twins = dataset_labels(["a", "b"], {"a": {"events": 1, "seed": 1}, "b": {"events": 1, "seed": 2}}, simulation)
    assert twins == {"a": "EPOS-LHC (a)", "b": "EPOS-LHC (b)"}


def test_labels_of_the_default_config(repo):
    from airshower.config import load_config

    models, datasets = labels_from_config(load_config(repo / "config" / "config.yaml"))
    assert list(models.values()) == ["Hex CNN", "LSTM + hex CNN", "Vision transformer", "Temporal transformer",
                                     "Perceiver"]
    assert datasets == {"test": "EPOS-LHC", "test_qgsjet": "QGSJetII-04", "test_muon133": "muon scale 1.33"}


def _legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_figures_and_tables_show_labels_in_the_given_order(study_dir):
    from airshower.figures.headline import plot_headline
    from airshower.figures.performance import plot_model_dependence, plot_xmax_vs_energy
    from airshower.figures.study import load_study

    results, tensors = study_dir
    order = ["vit", "hexcnn", "lstm_hexcnn"]
    study = load_study(results, order, DATASETS, tensors, model_labels={"vit": "ViT"},
                       dataset_labels={"test": "EPOS-LHC", "test_qgsjet": "QGSJetII-04"})
    expected = ["ViT", "Hex CNN", "LSTM + hex CNN"]
    for fig in (plot_xmax_vs_energy(study, "std", "single"), plot_headline(study, "std", None, "single")):
        assert _legend_texts(fig) == expected
    fig = plot_model_dependence(study, "single")
    assert fig.axes[0].get_title(loc="left") == "QGSJetII-04\nminus EPOS-LHC"
    assert "test_qgsjet" not in fig.axes[0].get_title(loc="left")


def test_cli_labels_from_the_config(tmp_path):
    results = tmp_path / "results" / "s"
    models = {"hexcnn": MODELS["hexcnn"], "vit": MODELS["vit"]}
    tensors = make_study(results, models=models, datasets=DATASETS)
    cfg = {
        "study": "s", "test_datasets": DATASETS,
        "models": {"vit": {"type": "vit", "label": "Spatial ViT"}, "hexcnn": {"type": "hexcnn"}},
        "datasets": {"test": {"events": 10, "seed": 1},
                     "test_qgsjet": {"events": 10, "seed": 2, "simulation": {"hadronic_model": "QGSJetII-04"}}},
        "figures": {"formats": ["png"], "dpi": 50},
    }
    validate_config(cfg, partial=True)  # what the workflow passes is a valid partial config
    args = ["figures", "--config-json", json.dumps(cfg), "--results", str(results), "--tensors", str(tensors)]
    assert cli_main(args) == 0
    md = (results / "figures" / "summary.md").read_text()
    assert md.index("Spatial ViT") < md.index("Hex CNN")  # the config's order
    assert "bias QGSJetII-04" in md and "bias EPOS-LHC" in md
    targets = (results / "figures" / "targets.md").read_text()
    assert "Spatial ViT" in targets and "| vit |" not in targets
