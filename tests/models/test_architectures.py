"""Every architecture: shapes, backward, masks, edge cases, determinism, attention modes."""

from __future__ import annotations

import pytest
import torch

from airshower.batch import Batch
from airshower.models.registry import build_model
from airshower.models.transformer import set_attention_mode
from airshower.station_state import StationState

ALL_TARGETS = ["xmax", "lg_energy", "axis", "core"]
TINY = {
    "hexcnn": {
        "type": "hexcnn",
        "trace_channels": [4],
        "trace_kernel": 3,
        "trace_features": 4,
        "conv_channels": [6, 6],
        "head_hidden": [8],
    },
    "hexcnn_pool_r2": {
        "type": "hexcnn",
        "trace_channels": [4, 4],
        "trace_features": 4,
        "conv_channels": [6],
        "kernel_radius": 2,
        "readout": "pool",
        "head_hidden": [8],
    },
    "lstm_hexcnn": {"type": "lstm_hexcnn", "lstm_hidden": 6, "conv_channels": [6, 6], "head_hidden": [8]},
    "vit_window": {"type": "vit", "lstm_hidden": 6, "dim": 8, "heads": 2, "depth": 1, "head_hidden": [8]},
    "vit_stations": {
        "type": "vit",
        "lstm_hidden": 6,
        "dim": 8,
        "heads": 2,
        "depth": 2,
        "tokens": "stations",
        "pool": "mean",
        "head_hidden": [8],
    },
    "temporal": {
        "type": "temporal",
        "dim": 8,
        "heads": 2,
        "time_layers": 1,
        "station_layers": 1,
        "patch_bins": 1,
        "head_hidden": [8],
    },
    "temporal_patch5": {
        "type": "temporal",
        "dim": 8,
        "heads": 2,
        "time_layers": 1,
        "station_layers": 1,
        "patch_bins": 5,
        "head_hidden": [8],
    },
    "perceiver": {
        "type": "perceiver",
        "dim": 8,
        "heads": 2,
        "latents": 4,
        "cross_layers": 2,
        "self_layers": 1,
        "head_hidden": [8],
    },
}
ATTENTION = [name for name, spec in TINY.items() if spec["type"] in ("vit", "temporal", "perceiver")]
G, T = 5, 16


def build(name: str, targets=("xmax",), trace_bins: int = T, **extra) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, {**TINY[name], **extra}, G, trace_bins, list(targets))


def lone_station_batch(all_absent: bool) -> Batch:
    """One triggered station at the centre; the others silent (or all absent)."""
    b = 2
    state = torch.full((b, G, G), StationState.SILENT, dtype=torch.int64)
    if all_absent:
        state[:] = StationState.ABSENT
    state[:, 0, :2] = StationState.ABSENT
    state[:, G // 2, G // 2] = StationState.TRIGGERED
    traces = torch.zeros(b, G, G, T)
    traces[:, G // 2, G // 2, 3:8] = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5])
    offsets = torch.arange(G, dtype=torch.float32) - G // 2
    position = torch.zeros(b, G, G, 3)
    position[..., 0] = 1500.0 * (offsets[:, None] + offsets[None, :] / 2)
    position[..., 1] = 1500.0 * 0.866 * offsets[None, :]
    return Batch(traces=traces, start_time=torch.zeros(b, G, G), state=state, position=position)


@pytest.mark.parametrize("name", TINY)
def test_output_shapes(name, make_batch):
    model = build(name, ALL_TARGETS)
    out = model(make_batch())
    assert set(out) == set(ALL_TARGETS)
    assert out["xmax"].shape == (3,) and out["lg_energy"].shape == (3,)
    assert out["axis"].shape == (3, 3) and out["core"].shape == (3, 2)


@pytest.mark.parametrize("name", TINY)
def test_forward_backward_reaches_every_parameter(name, make_batch):
    model = build(name, ["xmax", "core"])
    out = model(make_batch())
    (out["xmax"].square().mean() + out["core"].square().mean()).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", TINY)
def test_absent_cells_change_no_output(name, make_batch, scramble):
    model = build(name, ALL_TARGETS)
    batch = make_batch()
    out = model(batch)
    out_scrambled = model(scramble(batch))
    for key in out:
        torch.testing.assert_close(out[key], out_scrambled[key], rtol=0, atol=1e-6)
    # ... while a working station's trace does change it (the check can fail)
    changed = scramble(batch)
    changed.traces[0, G // 2, G // 2] += 5.0
    assert not torch.allclose(model(changed)["xmax"][0], out["xmax"][0])


@pytest.mark.parametrize("all_absent", [False, True], ids=["silent-neighbours", "no-neighbours"])
@pytest.mark.parametrize("name", TINY)
def test_single_triggered_station_gives_finite_output(name, all_absent):
    model = build(name, ALL_TARGETS)
    out = model(lone_station_batch(all_absent))
    loss = sum(v.square().sum() for v in out.values())
    loss.backward()
    assert all(torch.isfinite(v).all() for v in out.values())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", TINY)
def test_eval_mode_is_deterministic(name, make_batch):
    model = build(name, ["xmax"], dropout=0.3)
    batch = make_batch()
    model.eval()
    with torch.no_grad():
        first = model(batch)["xmax"]
        second = model(batch)["xmax"]
    assert torch.equal(first, second)


@pytest.mark.parametrize("name", TINY)
def test_events_do_not_see_each_other(name, make_batch):
    model = build(name, ["xmax"]).eval()
    batch = make_batch()
    with torch.no_grad():
        together = model(batch)["xmax"]
        for i in range(len(batch)):
            alone = Batch(
                traces=batch.traces[i : i + 1],
                start_time=batch.start_time[i : i + 1],
                state=batch.state[i : i + 1],
                position=batch.position[i : i + 1],
            )
            torch.testing.assert_close(model(alone)["xmax"][0], together[i], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ATTENTION)
def test_fused_and_materialized_attention_agree(name, make_batch):
    model = build(name, ALL_TARGETS)
    batch = make_batch()
    fused = model(batch)
    set_attention_mode(model, "materialized")
    materialized = model(batch)
    for key in fused:
        torch.testing.assert_close(fused[key], materialized[key], rtol=1e-4, atol=1e-5)


def test_materialized_flag_from_config(make_batch):
    model = build("temporal", attention="materialized")
    modes = {m.mode for m in model.modules() if hasattr(m, "mode")}
    assert modes == {"materialized"}


@pytest.mark.parametrize("patch_bins", [1, 8])
def test_temporal_runs_with_360_bins(patch_bins, make_batch):
    batch = make_batch(trace_bins=360, batch_size=2)
    model = build("temporal", ALL_TARGETS, trace_bins=360, patch_bins=patch_bins)
    out = model(batch)
    sum(v.square().sum() for v in out.values()).backward()
    assert out["xmax"].shape == (2,) and torch.isfinite(out["axis"]).all()


def test_longer_traces_than_built_for_are_refused(make_batch):
    model = build("temporal")
    with pytest.raises(ValueError, match="bins"):
        model(make_batch(trace_bins=2 * T))
