"""config/README.md documents every key of the schema and every model hyperparameter."""

from __future__ import annotations

from pathlib import Path

from airshower.config import load_schema
from airshower.models.registry import MODEL_TYPES


def _keys(schema: dict) -> set[str]:
    keys = set(schema.get("properties", {}))
    defs = schema.get("$defs", {})
    for name in ("simulation", "training"):
        keys |= set(defs[name]["properties"])
    for section in ("convert", "evaluation", "figures"):
        keys |= set(schema["properties"][section]["properties"])
    return keys


def test_every_config_key_is_documented(repo: Path) -> None:
    text = (repo / "config/README.md").read_text()
    missing = sorted(k for k in _keys(load_schema()) if f"`{k}`" not in text)
    assert not missing, f"config/README.md does not document {missing}"


def test_every_model_hyperparameter_is_documented(repo: Path) -> None:
    text = (repo / "config/README.md").read_text()
    for kind, cls in MODEL_TYPES.items():
        assert f"`type: {kind}`" in text
        missing = sorted(k for k in cls.HYPERPARAMETERS if f"`{k}`" not in text)
        assert not missing, f"config/README.md does not document {kind} hyperparameters {missing}"
