"""The worked examples of docs/extending.md run as written (a target and a data source added from user code)."""

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
    assert len(blocks) == 2
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


@pytest.fixture
def clean_sources():
    yield
    from airshower.sources.registry import unregister

    unregister("flat_hdf5")


def test_adding_a_source_runs_end_to_end(tmp_path, monkeypatch, capsys, clean_sources) -> None:
    import h5py

    block = python_blocks(DOC.read_text(encoding="utf-8"))[1]
    assert "class FlatHDF5Source" in block
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_source_example"}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    out = capsys.readouterr().out
    summary = namespace["summary"]
    assert f"{summary['events']} events from source 'flat_hdf5', truth True" in out
    assert summary["events"] > 20 and summary["files"] == 1
    with h5py.File(tmp_path / "source-example" / "mine-tensors.h5") as f:
        assert f.attrs["n_events"] == summary["events"] and "targets/xmax" in f
        assert 500 < float(f["targets/xmax"][()].mean()) < 1000
