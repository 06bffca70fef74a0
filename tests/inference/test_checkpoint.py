"""Checkpoints: atomic writes, weights_only loading, clear errors for files that are not ours or are damaged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airshower.errors import InputFileError
from airshower.inference.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint,
    load_model,
    save_checkpoint,
    content_checksum,
    weights_checksum,
)
from airshower.inference.normalise import TargetNormaliser
from airshower.models.registry import build_model

SPEC = {"type": "hexcnn", "trace_channels": [4], "conv_channels": [4], "head_hidden": [8]}
PLANTED = "head.trunk.0.weight"  # (8, 100): filled with values found nowhere else in the file


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


def model_checkpoint(path: Path) -> torch.Tensor:
    """Save the checkpoint of a small registry network at ``path``; returns the planted weight tensor."""
    torch.manual_seed(0)
    net = build_model("hexcnn", dict(SPEC), 5, 16, ["xmax"])
    planted = torch.linspace(1001.0, 1800.0, 800).reshape(8, 100)
    weights = {k: v.detach().clone() for k, v in net.state_dict().items()} | {PLANTED: planted}
    save_checkpoint(state(
        model={"name": "hexcnn", "spec": SPEC, "grid_size": 5, "trace_bins": 16, "targets": ["xmax"],
               "uncertainty": False, "bin_ns": 25.0},
        epoch=1, best_epoch=1, model_state=weights, best_model_state={k: v.clone() for k, v in weights.items()},
        normaliser=TargetNormaliser({"xmax": torch.tensor([750.0])}, {"xmax": torch.tensor([60.0])}).state_dict(),
    ), path)
    return planted


def flip_signs(path: Path, values: torch.Tensor, count: int = 3) -> None:
    """Flip the sign bits of the first ``count`` float32 values of ``values`` where the file stores them, in place."""
    data = bytearray(path.read_bytes())
    at = data.find(values.contiguous().numpy().tobytes()[:64])
    assert at >= 0, f"the bytes of the tensor are not in {path}"
    for k in range(count):
        data[at + 4 * k + 3] ^= 0x80  # little endian: the sign is the top bit of the last byte
    with open(path, "r+b") as f:
        f.write(data)


def test_the_checksum_covers_the_weights(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    model_checkpoint(path)
    got = load_checkpoint(path)
    assert got["weights_sha256"] == weights_checksum(got)
    model, _, info = load_model(path)
    assert torch.equal(model.state_dict()[PLANTED], torch.linspace(1001.0, 1800.0, 800).reshape(8, 100))
    # same bytes, another shape or dtype: another checksum
    w = {"w": torch.arange(6.0)}
    assert weights_checksum({"model_state": w}) != weights_checksum({"model_state": {"w": w["w"].reshape(2, 3)}})
    assert weights_checksum({"model_state": w}) != weights_checksum({"model_state": {"w": w["w"].view(torch.int32)}})
    assert weights_checksum({"model_state": w}) != weights_checksum({"best_model_state": w})


def test_the_weights_checksum_keeps_its_byte_layout() -> None:
    """Files written since the checksum exists must keep loading: the digest of a fixed state is pinned."""
    state = {"model_state": {"a.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.tensor([1.5, -2.0])},
             "best_model_state": {"a.weight": torch.ones(2, 3, dtype=torch.bfloat16)}}
    assert weights_checksum(state) == "9a4df634d8d8fd7eb6c4aa8a196dcff8c0a86e17e9a9e838c71bd3cac38b6c5e"


def test_damaged_weights_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    planted = model_checkpoint(path)
    size = path.stat().st_size
    flip_signs(path, planted)
    assert path.stat().st_size == size
    assert torch.load(path, weights_only=True)  # torch itself reads the damaged file without a word
    with pytest.raises(InputFileError, match=rf"{path}: checksum mismatch of the weights: the file is damaged .*train again"):
        load_checkpoint(path)
    with pytest.raises(InputFileError, match=rf"{path}: checksum mismatch"):
        load_model(path)
    damaged = planted.clone()
    damaged.view(-1)[:3] *= -1
    flip_signs(path, damaged)  # flipped back: the same weights, accepted again
    assert torch.equal(load_checkpoint(path)["model_state"][PLANTED], planted)


def test_a_damaged_target_scaling_is_refused(tmp_path: Path) -> None:
    """The shift of the target scaling moves every prediction: it is checked like the weights."""
    path = tmp_path / "model.pt"
    model_checkpoint(path)
    got = load_checkpoint(path)
    assert got["content_sha256"] == content_checksum(got)
    flip_signs(path, torch.tensor([750.0]), count=1)
    assert torch.load(path, weights_only=True)["normaliser"]["shift"]["xmax"].item() == -750.0
    with pytest.raises(InputFileError, match=rf"{path}: checksum mismatch of the target scaling or model spec"):
        load_model(path)
    assert content_checksum({"model": {"bin_ns": 25.0}}) != content_checksum({"model": {"bin_ns": 8.33}})


def test_checkpoints_without_a_checksum_still_load(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    model_checkpoint(path)
    old = torch.load(path, weights_only=True)
    del old["weights_sha256"], old["content_sha256"]
    torch.save(old, path)
    model, _, _ = load_model(path)
    assert torch.equal(model.state_dict()[PLANTED], torch.linspace(1001.0, 1800.0, 800).reshape(8, 100))
