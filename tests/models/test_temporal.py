"""``temporal``: activation checkpointing of the time blocks changes memory, not results."""

from __future__ import annotations

import pytest
import torch

from airshower.errors import ConfigError
from airshower.models.registry import build_model
from airshower.models.temporal import CHECKPOINT_AUTO_TOKENS, TimeTransformerEncoder, use_time_checkpoint
from tests.kit.temporal import build_temporal

G, T = 5, 24
TARGETS = ["xmax", "lg_energy", "axis", "core"]


def build(**extra) -> torch.nn.Module:
    return build_temporal(G, T, TARGETS, **extra)


def step(model: torch.nn.Module, batch) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Outputs and parameter gradients of one training step (dropout masks seeded)."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(123)
    out = model(batch)
    sum(v.square().mean() for v in out.values()).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in out.items()}, grads


@pytest.mark.parametrize("attention", ["fused", "materialized"])
@pytest.mark.parametrize("time_layers", [1, 3])
def test_checkpointing_keeps_outputs_and_gradients(attention, time_layers, make_batch):
    batch = make_batch(grid_size=G, trace_bins=T)
    plain = build(attention=attention, time_layers=time_layers, dropout=0.2, time_checkpoint="off")
    ckpt = build(attention=attention, time_layers=time_layers, dropout=0.2, time_checkpoint="on")
    assert not plain.encoder.checkpoint and ckpt.encoder.checkpoint
    out_plain, grad_plain = step(plain, batch)
    out_ckpt, grad_ckpt = step(ckpt, batch)
    for key in TARGETS:
        torch.testing.assert_close(out_ckpt[key], out_plain[key], rtol=1e-5, atol=1e-6)
    assert grad_ckpt.keys() == grad_plain.keys()
    assert any(name.startswith("encoder.blocks.") for name in grad_plain)  # the time blocks were trained
    for name in grad_plain:
        torch.testing.assert_close(grad_ckpt[name], grad_plain[name], rtol=1e-4, atol=1e-6, msg=name)


def test_checkpointing_saves_only_segment_inputs():
    """With checkpointing, autograd keeps the traces and the outputs between blocks, nothing else."""
    n, layers, dim = 6, 3, 16
    traces = torch.rand(n, T)

    def saved_bytes(checkpoint: bool) -> int:
        torch.manual_seed(0)
        encoder = TimeTransformerEncoder(T, dim, heads=4, layers=layers, checkpoint=checkpoint)
        params = {p.untyped_storage().data_ptr() for p in encoder.parameters()}
        storages: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            if t.untyped_storage().data_ptr() not in params:
                storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            codes = encoder.encode(traces)
        codes.square().sum().backward()
        assert all(p.grad is not None for p in encoder.parameters())
        return sum(storages.values())

    between_blocks = (layers - 1) * n * T * dim * 4  # float32 outputs of blocks 1 .. layers - 1
    assert saved_bytes(True) == traces.numel() * 4 + between_blocks
    assert saved_bytes(False) > 8 * between_blocks


def test_no_recompute_without_gradients(make_batch, monkeypatch):
    model = build(time_checkpoint="on").eval()
    calls = []
    monkeypatch.setattr(torch.utils.checkpoint, "checkpoint", lambda *a, **k: calls.append(1))
    with torch.no_grad():
        out = model(make_batch(grid_size=G, trace_bins=T))
    assert not calls and torch.isfinite(out["xmax"]).all()


def test_auto_checkpoints_long_token_sequences_only():
    assert use_time_checkpoint("auto", CHECKPOINT_AUTO_TOKENS)
    assert not use_time_checkpoint("auto", CHECKPOINT_AUTO_TOKENS - 1)
    assert use_time_checkpoint("on", 1) and not use_time_checkpoint("off", 10_000)
    with pytest.raises(ValueError, match="time_checkpoint"):
        use_time_checkpoint("yes", 10)

    def built(patch_bins: int) -> bool:
        spec = {"type": "temporal", "dim": 8, "heads": 2, "patch_bins": patch_bins}
        return build_model("net", spec, G, 360, ["xmax"]).encoder.checkpoint

    assert built(1) and built(2)  # 360 and 180 tokens per trace
    assert not built(4)  # 90 tokens (the default patching)


def test_bad_checkpoint_choice_is_a_config_error():
    with pytest.raises(ConfigError, match=r"models\.net\.time_checkpoint = 'yes'.*'auto', 'on', 'off'"):
        build(time_checkpoint="yes")
