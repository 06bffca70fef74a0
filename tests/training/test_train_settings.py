"""The training settings of one model: schema, per-model overrides, their errors, and the frozen settings object."""

from __future__ import annotations

import dataclasses

import pytest

from airshower.config import load_schema, validate_config
from airshower.errors import ConfigError
from airshower.training.settings import TrainingSettings, training_settings


def config(models: dict, **training) -> dict:
    return validate_config({"models": models, "training": training})


def test_every_training_key_has_a_default_and_a_description() -> None:
    props = load_schema()["$defs"]["training"]["properties"]
    for key, spec in props.items():
        assert "default" in spec, key
        assert spec.get("description"), key


def test_every_training_key_is_a_field_of_the_settings() -> None:
    props = set(load_schema()["$defs"]["training"]["properties"])
    fields = {f.name for f in dataclasses.fields(TrainingSettings)}
    assert props <= fields, sorted(props - fields)
    # which run of the model (training.replicas) and the validation split's seed, shared by its replicas
    assert fields - props == {"model_name", "entry", "section", "replica", "split_seed"}


def test_overrides_are_merged_over_the_global_section() -> None:
    cfg = config(
        {"a": {"type": "hexcnn", "training": {"learning_rate": 0.05, "epochs": 3}}, "b": {"type": "vit"}},
        learning_rate=0.001,
        batch_size=32,
    )
    a, b = training_settings(cfg, "a"), training_settings(cfg, "b")
    assert (a.learning_rate, a.epochs, a.batch_size) == (0.05, 3, 32)
    assert (b.learning_rate, b.epochs, b.batch_size) == (0.001, 10, 32)
    assert a.section_dict()["learning_rate"] == 0.05 and a.section_dict()["epochs"] == 3
    assert a.spec_dict() == {"type": "hexcnn"}
    assert a.entry_dict() == {"type": "hexcnn", "training": {"learning_rate": 0.05, "epochs": 3}}


def test_settings_are_frozen_and_their_copies_plain() -> None:
    s = training_settings(config({"a": {"type": "hexcnn"}}, targets=["xmax", "core"]), "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.epochs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.section["epochs"] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        s.loss_weights["xmax"] = 2.0  # type: ignore[index]
    copy = s.section_dict()
    copy["targets"].append("axis")
    assert s.targets == ("xmax", "core") and s.section["targets"] == ["xmax", "core"]


def test_loss_weights_cover_every_trained_target_in_order() -> None:
    s = training_settings(config({"a": {"type": "hexcnn"}}, targets=["core", "xmax"], loss_weights={"xmax": 0.5}), "a")
    assert list(s.loss_weights.items()) == [("core", 1.0), ("xmax", 0.5)]


# an override is checked in one place, the config's validation (airshower.config.load_schema
# refers models.<name>.training to the training section); the settings merge what passed it
def test_unknown_override_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'models\.a\.training'.*'learnin_rate' was unexpected.*allowed keys: .*learning_rate"):
        config({"a": {"type": "hexcnn", "training": {"learnin_rate": 0.1}}})


def test_bad_override_value_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'models\.a\.training\.learning_rate' = 0 is out of range"):
        config({"a": {"type": "hexcnn", "training": {"learning_rate": 0}}})
    with pytest.raises(ConfigError, match=r"'models\.a\.training\.epochs' = '3' has the wrong type"):
        config({"a": {"type": "hexcnn", "training": {"epochs": "3"}}})


def test_learning_rate_zero_is_refused_by_the_schema() -> None:
    with pytest.raises(ConfigError, match=r"training\.learning_rate.*must be > 0"):
        config({"a": {"type": "hexcnn"}}, learning_rate=0)


def test_unknown_target_is_refused_by_the_schema() -> None:
    with pytest.raises(ConfigError, match=r"training\.targets\.0.*'zenith'.*not allowed"):
        config({"a": {"type": "hexcnn"}}, targets=["zenith"])


def test_unknown_model_is_named() -> None:
    cfg = config({"a": {"type": "hexcnn"}})
    with pytest.raises(ConfigError, match=r"model 'b' is not a key of 'models'.*\['a'\]"):
        training_settings(cfg, "b")


def test_loss_weight_of_an_untrained_target_is_refused() -> None:
    cfg = config({"a": {"type": "hexcnn"}}, targets=["xmax"], loss_weights={"core": 2.0})
    with pytest.raises(ConfigError, match=r"loss_weights.*'core'.*trained targets"):
        training_settings(cfg, "a")


def test_all_weights_zero_is_refused() -> None:
    cfg = config({"a": {"type": "hexcnn"}}, targets=["xmax"], loss_weights={"xmax": 0.0})
    with pytest.raises(ConfigError, match=r"all trained targets weigh 0"):
        training_settings(cfg, "a")
