"""``airshower train`` on the command line: errors reach the user as one clear line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airshower.cli import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(["train", *argv])
    return code, capsys.readouterr().err


def test_unknown_model_is_named(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfg = json.dumps({"models": {"a": {"type": "hexcnn"}}})
    code, err = run(capsys, "--config-json", cfg, "--model", "b", "--tensors", str(tmp_path / "x.h5"))
    assert code == 2 and "model 'b' is not a key of 'models'" in err


def test_zero_learning_rate_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfg = json.dumps({"models": {"a": {"type": "hexcnn"}}, "training": {"learning_rate": 0.0}})
    code, err = run(capsys, "--config-json", cfg, "--model", "a", "--tensors", str(tmp_path / "x.h5"))
    assert code == 2 and "training.learning_rate" in err and "> 0" in err


def test_missing_tensor_file_is_named(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfg = json.dumps({"models": {"a": {"type": "hexcnn"}}})
    code, err = run(capsys, "--config-json", cfg, "--model", "a", "--tensors", str(tmp_path / "x.h5"))
    assert code == 2 and "x.h5: tensor file not found" in err
