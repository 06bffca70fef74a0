"""Checkpoints: atomic writes, weights_only loading, clear errors for files that are not ours."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airshower.errors import InputFileError
from airshower.training.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, load_checkpoint, save_checkpoint


def state(**extra) -> dict:
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "w": torch.arange(4.0), "inf": float("inf"), **extra}


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.pt"
    save_checkpoint(state(nested={"a": [1, 2.5, None, "x"]}), path)
    got = load_checkpoint(path)
    assert torch.equal(got["w"], torch.arange(4.0)) and got["nested"] == {"a": [1, 2.5, None, "x"]}
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temporary left behind


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(state(), path)

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(state(bad=Unsaveable()), path)
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


class Arbitrary:
    pass


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save(state(obj=Arbitrary()), path)
    with pytest.raises(InputFileError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_other_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputFileError, match=str(junk)):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"w": torch.zeros(1)}, other)
    with pytest.raises(InputFileError, match="not an airshower training checkpoint"):
        load_checkpoint(other)
    old = tmp_path / "old.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "version": 0}, old)
    with pytest.raises(InputFileError, match="version 0"):
        load_checkpoint(old)
