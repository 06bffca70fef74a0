"""The training section of one model: schema, per-model overrides and their errors."""

from __future__ import annotations

import pytest

from airshower.config import load_schema, validate_config
from airshower.errors import ConfigError
from airshower.training.settings import model_spec, resolve_training


def config(models: dict, **training) -> dict:
    return validate_config({"models": models, "training": training})


def test_every_training_key_has_a_default_and_a_description() -> None:
    props = load_schema()["$defs"]["training"]["properties"]
    for key, spec in props.items():
        assert "default" in spec, key
        assert spec.get("description"), key


def test_overrides_are_merged_over_the_global_section() -> None:
    cfg = config(
        {"a": {"type": "hexcnn", "training": {"learning_rate": 0.05, "epochs": 3}}, "b": {"type": "vit"}},
        learning_rate=0.001,
        batch_size=32,
    )
    a, b = resolve_training(cfg, "a"), resolve_training(cfg, "b")
    assert (a["learning_rate"], a["epochs"], a["batch_size"]) == (0.05, 3, 32)
    assert (b["learning_rate"], b["epochs"], b["batch_size"]) == (0.001, 10, 32)
    assert model_spec(cfg, "a") == {"type": "hexcnn"}


def test_unknown_override_key_is_named() -> None:
    cfg = config({"a": {"type": "hexcnn", "training": {"learnin_rate": 0.1}}})
    with pytest.raises(ConfigError, match=r"models\.a\.training.*learnin_rate.*allowed keys"):
        resolve_training(cfg, "a")


def test_bad_override_value_is_named() -> None:
    cfg = config({"a": {"type": "hexcnn", "training": {"learning_rate": 0}}})
    with pytest.raises(ConfigError, match=r"models\.a\.training\.learning_rate"):
        resolve_training(cfg, "a")


def test_learning_rate_zero_is_refused_by_the_schema() -> None:
    with pytest.raises(ConfigError, match=r"training\.learning_rate.*must be > 0"):
        config({"a": {"type": "hexcnn"}}, learning_rate=0)


def test_unknown_target_is_refused_by_the_schema() -> None:
    with pytest.raises(ConfigError, match=r"training\.targets\.0.*'zenith'.*not allowed"):
        config({"a": {"type": "hexcnn"}}, targets=["zenith"])


def test_unknown_model_is_named() -> None:
    cfg = config({"a": {"type": "hexcnn"}})
    with pytest.raises(ConfigError, match=r"model 'b' is not a key of 'models'.*\['a'\]"):
        resolve_training(cfg, "b")


def test_loss_weight_of_an_untrained_target_is_refused() -> None:
    cfg = config({"a": {"type": "hexcnn"}}, targets=["xmax"], loss_weights={"core": 2.0})
    with pytest.raises(ConfigError, match=r"loss_weights.*'core'.*trained targets"):
        resolve_training(cfg, "a")
