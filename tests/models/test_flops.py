"""Parameter and FLOP counts: positive, consistent with analytic values, and ordered sensibly."""

from __future__ import annotations

import torch

from airshower.models.flops import count_parameters, forward_flops, lstm_flops, make_example_batch
from airshower.models.registry import build_model
from airshower.models.transformer import set_attention_mode
from airshower.station_state import StationState

SMALL = {"dim": 16, "heads": 2, "head_hidden": [16]}


def test_count_parameters_matches_module_sum():
    model = build_model("m", {"type": "lstm_hexcnn", "lstm_hidden": 4, "conv_channels": [3]}, 5, 8, ["xmax"])
    lstm = 4 * 4 * (1 + 4) + 2 * 4 * 4  # 4 gates x hidden x (input + hidden) + two bias vectors
    conv = 3 * (4 + 9) * 9 + 3  # dense 3x3 kernel storage over (code + 9 station features)
    dense = (3 * 25) * 64 + 64 + 64 + 1
    assert count_parameters(model) == lstm + conv + dense
    model.encoder.lstm.weight_hh_l0.requires_grad_(False)
    assert count_parameters(model) == lstm + conv + dense - 4 * 4 * 4
    assert count_parameters(model, trainable_only=False) == lstm + conv + dense


def test_lstm_flops_formula():
    lstm = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    x = torch.zeros(7, 11, 3)
    assert lstm_flops(lstm, x) == 2 * 7 * 11 * 4 * 5 * ((3 + 5) + (5 + 5))


def test_example_batch_has_a_realistic_fill():
    batch = make_example_batch(13, 40, batch_size=8, seed=3)
    counts = {s: int((batch.state == s).sum()) for s in StationState}
    assert all(counts[s] > 0 for s in StationState if s != StationState.SATURATED)
    assert counts[StationState.SILENT] > counts[StationState.TRIGGERED] > 8  # more than the centre alone
    assert torch.all(batch.traces[batch.state < StationState.TRIGGERED] == 0)
    assert torch.all(batch.traces[batch.state >= StationState.TRIGGERED].sum(-1) > 0)
    assert torch.all(batch.position[batch.state == StationState.ABSENT] == 0)


def test_flops_positive_and_attention_counted_in_both_modes():
    model = build_model("t", {"type": "temporal", "time_layers": 1, "station_layers": 1, **SMALL}, 7, 32, ["xmax"])
    fused = forward_flops(model, 7, 32)
    set_attention_mode(model, "materialized")
    materialized = forward_flops(model, 7, 32)
    assert fused > 0
    # the CPU flash kernel is counted like the two explicit matrix products
    assert abs(fused - materialized) / materialized < 0.01
    assert model.training  # the flag is restored


def test_flop_ordering():
    g, t = 7, 32
    ex = make_example_batch(g, t, batch_size=4)

    def flops(spec, bins=t, batch=ex):
        return forward_flops(build_model("m", spec, g, bins, ["xmax"]), g, bins, batch)

    per_bin = flops({"type": "temporal", "patch_bins": 1, **SMALL})
    patched = flops({"type": "temporal", "patch_bins": 4, **SMALL})
    assert per_bin > 2 * patched
    # at the array's edge, window tokens (all G^2 cells) cost more than station tokens
    edge = make_example_batch(g, t, batch_size=4)
    edge.state[:, :, :3] = StationState.ABSENT
    window = flops({"type": "vit", "lstm_hidden": 8, **SMALL}, batch=edge)
    stations = flops({"type": "vit", "lstm_hidden": 8, "tokens": "stations", **SMALL}, batch=edge)
    assert window > stations
    # the perceiver's cost grows linearly with the trace length (O(latents x tokens))
    p_spec = {"type": "perceiver", "latents": 8, **SMALL}
    short = flops(p_spec, 32, make_example_batch(g, 32, 4))
    long = flops(p_spec, 128, make_example_batch(g, 128, 4))
    assert 3.0 < long / short < 4.5
    # a deeper stack costs more
    assert flops({"type": "hexcnn", "conv_channels": [16, 16, 16]}) > flops({"type": "hexcnn", "conv_channels": [16]})
