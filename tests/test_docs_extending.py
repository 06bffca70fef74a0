"""The worked example of docs/extending.md runs as written (a target added from user code)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from airshower import targets

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.fixture
def clean_registry():
    yield
    targets.unregister("ln_rmu")


def test_adding_a_target_runs_end_to_end(tmp_path, monkeypatch, capsys, clean_registry) -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_example"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    out = capsys.readouterr().out
    assert "ln R_mu resolution" in out and "pull width of ln R_mu" in out
    rmu = namespace["metrics"]["quantities"]["ln_rmu"]
    total = rmu["per_primary"]["all"]["total"]
    assert total["count"] > 100 and np.isfinite(total["std"]) and total["std"] > 0
    assert 0.2 < rmu["calibration"]["total"]["std"] < 5.0
    with __import__("h5py").File(tmp_path / "extending-example" / "train.h5") as f:
        assert "targets/ln_rmu" in f
    assert "ln_rmu" in targets.TARGETS  # registered for the process; the fixture removes it
