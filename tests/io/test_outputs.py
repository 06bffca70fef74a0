"""Every stage checks that its output can be written before it does any work, and says where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airshower.cli import main as cli_main
from airshower.errors import OutputFileError
from airshower.io.files import require_writable


def test_require_writable_creates_nothing(tmp_path: Path) -> None:
    assert require_writable(tmp_path / "a" / "b" / "x.h5", "tensor file") == tmp_path / "a" / "b" / "x.h5"
    assert require_writable(tmp_path / "models" / "m", "model folder", directory=True) == tmp_path / "models" / "m"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", [
    lambda p: p / "file.txt" / "x.h5",   # under a regular file: no folder can be made there
    lambda p: p / "folder",              # a file that would replace a folder
])
def test_require_writable_names_the_path(tmp_path: Path, make) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    target = make(tmp_path)
    with pytest.raises(OutputFileError, match=str(target)):
        require_writable(target, "output")


def _blocked(tmp_path: Path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is needed")
    return blocker / "out"


TINY = {"datasets": {"d": {"events": 5, "seed": 1}}, "train_dataset": "d", "test_datasets": ["d"],
        "simulation": {"trace_bins": 16}}


@pytest.mark.parametrize("stage", ["simulate", "convert", "train", "predict", "evaluate", "figures"])
def test_every_stage_refuses_an_unwritable_output_before_work(stage: str, tmp_path: Path, capsys) -> None:
    out = _blocked(tmp_path)
    some = tmp_path / "input.h5"
    some.write_bytes(b"\x89HDF\r\n\x1a\n")  # never read: the output is checked first
    cfg = ["--config-json", json.dumps(TINY)]
    args = {
        "simulate": ["--dataset", "d", "--shard", "0", "--output", str(out / "0.root")],
        "convert": ["--inputs", str(some), "--output", str(out / "d.h5")],
        "train": ["--model", "hexcnn", "--tensors", str(some), "--output", str(out / "m")],
        "predict": ["--model-dir", str(tmp_path), "--tensors", str(some), "--dataset", "d",
                    "--output", str(out / "p.h5")],
        "evaluate": ["--predictions", str(some), "--output", str(out / "m.json")],
        "figures": ["--results", str(tmp_path), "--tensors", str(some), "--output-dir", str(out / "fig")],
    }[stage]
    assert cli_main([stage, *cfg, *args]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "cannot write" in err, err
