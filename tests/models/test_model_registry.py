"""The registry: every config type builds, and bad entries fail with the key, value and what is allowed."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from airshower.errors import ConfigError
from airshower.models.registry import MODEL_TYPES, build_model, hyperparameter_table, resolve_hyperparameters


def test_registry_covers_the_config_schema():
    schema = yaml.safe_load(resources.files("airshower").joinpath("schemas/config.schema.yaml").read_text())
    enum = schema["properties"]["models"]["additionalProperties"]["properties"]["type"]["enum"]
    assert set(enum) == set(MODEL_TYPES)


@pytest.mark.parametrize("kind", sorted(MODEL_TYPES))
def test_defaults_build_and_training_subdict_is_ignored(kind):
    model = build_model("m", {"type": kind, "training": {"epochs": 3}}, 13, 120, ["xmax", "axis"])
    assert model.TYPE == kind
    assert model.targets == ["xmax", "axis"]
    assert set(model.hyperparameters) == set(MODEL_TYPES[kind].HYPERPARAMETERS)
    assert hyperparameter_table(kind).count("\n") + 1 == len(MODEL_TYPES[kind].HYPERPARAMETERS)


@pytest.mark.parametrize(
    "spec,pattern",
    [
        ({"type": "resnet"}, r"models\.net\.type = 'resnet'.*allowed: hexcnn"),
        ({}, r"models\.net: missing 'type'"),
        ({"type": "vit", "widht": 3}, r"models\.net\.widht: unknown hyperparameter \(value 3\); allowed: .*dim"),
        ({"type": "vit", "dim": -4}, r"models\.net\.dim = -4: expected an integer >= 8"),
        ({"type": "vit", "dim": True}, r"models\.net\.dim = True: expected an integer"),
        ({"type": "vit", "dim": 2.5}, r"models\.net\.dim = 2\.5"),
        ({"type": "vit", "tokens": "patches"}, r"models\.net\.tokens = 'patches': expected one of 'window', '"),
        ({"type": "vit", "dim": 30, "heads": 4}, r"models\.net\.heads = 4: must divide dim = 30"),
        ({"type": "temporal", "attention": "flash"}, r"models\.net\.attention = 'flash'.*'fused', 'materialized'"),
        ({"type": "hexcnn", "conv_channels": []}, r"models\.net\.conv_channels = \[\]: expected a list of integers"),
        ({"type": "hexcnn", "conv_channels": [8, 0]}, r"models\.net\.conv_channels = \[8, 0\]"),
        ({"type": "hexcnn", "trace_kernel": 4}, r"models\.net\.trace_kernel = 4: must be odd"),
        ({"type": "hexcnn", "dropout": 1.5}, r"models\.net\.dropout = 1\.5: expected a number >= 0 and <= 0\.9"),
        ({"type": "temporal", "patch_bins": 500}, r"models\.net\.patch_bins = 500: must be <= the trace length 120"),
        ("vit", r"models\.net = 'vit': expected a mapping"),
    ],
)
def test_bad_entries_raise_config_error(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_model("net", spec, 13, 120, ["xmax"])


@pytest.mark.parametrize(
    "grid,bins,targets,pattern",
    [
        (12, 120, ["xmax"], r"convert\.grid_size = 12"),
        (13, 0, ["xmax"], r"simulation\.trace_bins = 0"),
        (13, 120, ["mass"], r"training\.targets: unknown target 'mass'"),
        (13, 120, [], r"training\.targets = \[\]"),
    ],
)
def test_bad_sizes_and_targets(grid, bins, targets, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_model("net", {"type": "hexcnn"}, grid, bins, targets)


@pytest.mark.parametrize("text, expected", [("on", "on"), ("off", "off"), ("'on'", "on"), ("auto", "auto")])
def test_unquoted_on_off_in_yaml_mean_the_choices(text, expected):
    """YAML 1.1 reads ``time_checkpoint: on`` as true; the registry takes it as the choice 'on'."""
    spec = yaml.safe_load(f"type: temporal\ntime_checkpoint: {text}")
    assert resolve_hyperparameters("t", spec, 5, 16)["time_checkpoint"] == expected


def test_a_boolean_is_no_choice_where_on_off_are_not_allowed():
    with pytest.raises(ConfigError, match=r"models\.v\.tokens = True"):
        resolve_hyperparameters("v", {"type": "vit", "tokens": True}, 5, 16)


def test_the_networks_take_their_hyperparameters_from_the_torch_free_specs():
    """One declaration per architecture (airshower.models.specs): the classes share its tables and rules."""
    from airshower.models.specs import ARCHITECTURES

    assert list(MODEL_TYPES) == list(ARCHITECTURES)
    for kind, cls in MODEL_TYPES.items():
        assert cls.HYPERPARAMETERS is ARCHITECTURES[kind].hyperparameters
        assert cls.SUPPORTS_UNCERTAINTY == ARCHITECTURES[kind].supports_uncertainty
    hp = {**{k: p.default for k, p in ARCHITECTURES["temporal"].hyperparameters.items()}, "dim": 30, "patch_bins": 99}
    assert MODEL_TYPES["temporal"].constraints(hp, 5, 16) == ARCHITECTURES["temporal"].constraints(hp, 5, 16)
    assert [key for key, _ in ARCHITECTURES["temporal"].constraints(hp, 5, 16)] == ["heads", "patch_bins"]


def test_checking_a_config_imports_no_torch(repo):
    """What the workflow runs when it loads: the model entries checked with the standard library only."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        import yaml
        from airshower.config import validate_config
        from airshower.models.specs import check_model_entries, hyperparameter_table
        import airshower.models
        cfg = validate_config(yaml.safe_load(open({str(repo / "tests/config/config.yaml")!r})))
        check_model_entries(cfg, source="tiny")
        hyperparameter_table("vit")
        print(sorted(m for m in ("torch", "numpy") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['numpy']"  # numpy: the target registry, for the schema's list of targets
