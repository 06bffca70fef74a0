"""The config schema: defaults, clear errors for bad values, and the per-dataset view."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from airshower.config import dataset_simulation, load_config, load_config_json, validate_config
from airshower.errors import ConfigError


def test_default_and_tiny_configs_validate(repo: Path) -> None:
    for name in ("config/config.yaml", "config/paper.yaml", "config/paper_360.yaml", "config/cpu.yaml",
                 "config/gpu.yaml", "tests/config/config.yaml", "tests/config/gpu_rehearsal.yaml"):
        cfg = load_config(repo / name)
        assert cfg["simulation"]["trace_bins"] >= 1
        assert cfg["train_dataset"] in cfg["datasets"]


def test_defaults_fill_nested_sections_without_touching_the_input() -> None:
    raw = {"simulation": {"trace_bins": 80}}
    cfg = validate_config(raw)
    assert cfg["simulation"]["trace_bins"] == 80
    assert cfg["simulation"]["hadronic_model"] == "EPOS-LHC"
    assert cfg["convert"]["grid_size"] == 13
    assert raw == {"simulation": {"trace_bins": 80}}


def test_training_and_evaluation_select_6t5_events_by_default(repo: Path) -> None:
    """Auger's analyses use 6T5 events only; so does every shipped study unless it says otherwise."""
    assert validate_config({})["training"]["selection"] == {"t5": True}
    assert validate_config({})["evaluation"]["selection"] == {"t5": True}
    for name in ("config/config.yaml", "config/cpu.yaml", "config/paper.yaml"):
        cfg = load_config(repo / name)
        assert cfg["training"]["selection"]["t5"] and cfg["evaluation"]["selection"]["t5"], name
    # defaults are copies: filling one config never changes the next one
    cfg["simulation"]["primaries"]["p"] = 9.0
    assert validate_config({})["simulation"]["primaries"]["p"] == 0.25


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"simulation": {"max_zenith_deg": 95}}, ["simulation.max_zenith_deg", "95", "<= 65"]),
        ({"simulation": {"trace_bins": 0}}, ["simulation.trace_bins", "0", ">= 1"]),
        ({"simulation": {"hadronic_model": "SIBYLL"}}, ["simulation.hadronic_model", "SIBYLL", "EPOS-LHC"]),
        ({"simulation": {"primaries": {"O": 1.0}}}, ["simulation.primaries", "'O'", "Fe"]),
        ({"datasets": {"train": {"events": -5, "seed": 1}}}, ["datasets.train.events", "-5", ">= 1"]),
        ({"bogus": 1}, ["unknown key", "bogus"]),
        ({"simulation": {"lg_energy": [20.0, 19.0]}}, ["simulation.lg_energy", "minimum must be below"]),
        ({"simulation": {"primaries": {"p": 0, "Fe": 0}}}, ["simulation.primaries", "at least one"]),
        ({"convert": {"grid_size": 12}}, ["convert.grid_size", "12", "odd"]),
        ({"test_datasets": ["nope"]}, ["test_datasets", "nope"]),
        ({"test_datasets": ["train"]}, ["training dataset"]),
        (
            {"datasets": {"train": {"events": 10, "seed": 1}, "test": {"events": 10, "seed": 1}}},
            ["datasets.test.seed", "independently"],
        ),
        ({"datasets": {"train": {"events": 2, "shards": 3, "seed": 1}}}, ["datasets.train.shards", "exceeds"]),
    ],
)
def test_bad_values_are_named(raw: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(raw)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_dataset_overrides_apply_only_to_their_dataset(repo: Path) -> None:
    cfg = load_config(repo / "config/config.yaml")
    assert dataset_simulation(cfg, "test_qgsjet")["hadronic_model"] == "QGSJetII-04"
    assert dataset_simulation(cfg, "test")["hadronic_model"] == "EPOS-LHC"
    assert dataset_simulation(cfg, "test_muon133")["muon_scale"] == pytest.approx(1.33)
    # an override holds only what it changes: no defaults are filled into it
    assert cfg["datasets"]["test_qgsjet"]["simulation"] == {"hadronic_model": "QGSJetII-04"}


def test_stage_json_is_validated_too() -> None:
    cfg = load_config_json('{"datasets": {"x": {"events": 5, "seed": 3}}}')
    assert cfg["datasets"]["x"]["shards"] == 1
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config_json("{oops")


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_cli_rejects_a_bad_config_before_any_work(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"simulation": {"max_zenith_deg": 120}}))
    out = tmp_path / "out.root"
    proc = subprocess.run(
        [sys.executable, "-m", "airshower.cli", "simulate", "--config", str(cfg),
         "--dataset", "train", "--shard", "0", "--output", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "simulation.max_zenith_deg" in proc.stderr and "120" in proc.stderr
    assert not out.exists()


def test_every_shipped_model_builds(repo: Path) -> None:
    from airshower.models.flops import count_parameters
    from airshower.models.registry import build_model

    for name in ("config/config.yaml", "config/paper.yaml", "config/paper_360.yaml", "config/cpu.yaml",
                 "config/gpu.yaml", "tests/config/config.yaml", "tests/config/gpu_rehearsal.yaml"):
        cfg = load_config(repo / name)
        for model, spec in cfg["models"].items():
            net = build_model(model, spec, cfg["convert"]["grid_size"], cfg["simulation"]["trace_bins"],
                              cfg["training"]["targets"])
            assert count_parameters(net) > 0


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"lerning_rate": 0.1}, ["models.cnn.training", "lerning_rate", "allowed keys", "learning_rate"]),
        ({"epochs": "7"}, ["models.cnn.training.epochs", "'7'", "integer"]),
        ({"optimizer": "lbfgs"}, ["models.cnn.training.optimizer", "lbfgs", "adamw"]),
    ],
)
def test_per_model_training_overrides_are_checked_against_the_training_section(
    override: dict, words: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config({"models": {"cnn": {"type": "hexcnn", "training": override}}})
    for word in words:
        assert word in str(info.value), str(info.value)


def test_per_model_training_overrides_get_no_defaults() -> None:
    """An override holds only what it changes: the other keys keep the training section's values."""
    cfg = validate_config({"models": {"cnn": {"type": "hexcnn", "training": {"epochs": 3}}}})
    assert cfg["models"]["cnn"]["training"] == {"epochs": 3}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"type": "vit", "dept": 3}, ["models.vit.dept", "unknown hyperparameter", "allowed:", "depth"]),
        ({"type": "vit", "depth": 0}, ["models.vit.depth = 0", ">= 1"]),
        ({"type": "vit", "dim": 32, "heads": 3}, ["models.vit.heads = 3", "divide"]),
    ],
)
def test_model_entries_are_checked_against_the_registry(spec: dict, words: list[str]) -> None:
    from airshower.models.registry import check_model_entries

    cfg = validate_config({"models": {"vit": spec}})
    with pytest.raises(ConfigError) as info:
        check_model_entries(cfg, source="study.yaml")
    message = str(info.value)
    assert message.startswith("study.yaml: ") and "\n" not in message, message
    for word in words:
        assert word in message, message


def test_shipped_model_entries_pass_the_load_time_check(repo: Path) -> None:
    from airshower.models.registry import check_model_entries

    for name in ("config/config.yaml", "config/paper.yaml", "config/paper_360.yaml", "config/cpu.yaml",
                 "config/gpu.yaml", "tests/config/config.yaml", "tests/config/gpu_rehearsal.yaml"):
        check_model_entries(load_config(repo / name), source=name)


def test_display_labels_and_figure_style_are_config_keys() -> None:
    """`label` of a model or a dataset (of any source) and `figures.style` / `figures.usetex`."""
    from airshower.models.registry import build_model, check_model_entries

    cfg = validate_config({
        "models": {"cnn": {"type": "hexcnn", "label": "Hex CNN (AixNet)"}},
        "datasets": {"train": {"events": 10, "seed": 1, "label": "training"},
                     "test": {"events": 10, "seed": 2, "simulation": {"muon_scale": 1.33}, "label": "muons x1.33"},
                     "mine": {"source": "files", "paths": ["a.root"], "label": "my showers"}},
        "figures": {"style": "journal", "usetex": True},
    })
    assert cfg["models"]["cnn"]["label"] == "Hex CNN (AixNet)"
    assert cfg["datasets"]["mine"]["label"] == "my showers"
    assert validate_config({})["figures"]["style"] == "default"
    assert validate_config({})["figures"]["usetex"] is False
    # the label is not a hyperparameter: the registry takes the entry as it is
    check_model_entries(cfg, source="study.yaml")
    assert build_model("cnn", cfg["models"]["cnn"], 7, 16, ["xmax"]) is not None
    for raw, words in (
        ({"figures": {"style": "fancy"}}, ["figures.style", "fancy", "journal"]),
        ({"models": {"cnn": {"type": "hexcnn", "label": ""}}}, ["models.cnn.label"]),
        ({"datasets": {"train": {"events": 10, "seed": 1, "label": 3}}}, ["datasets.train.label", "string"]),
    ):
        with pytest.raises(ConfigError) as info:
            validate_config(raw)
        for word in words:
            assert word in str(info.value), str(info.value)
