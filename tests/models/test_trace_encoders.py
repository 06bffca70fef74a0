"""Per-station trace encoders: packed evaluation equals the encoder run station by station."""

from __future__ import annotations

import pytest
import torch

from airshower.models.features import trace_input, working_mask
from airshower.models.temporal import TimeTransformerEncoder
from airshower.models.trace_encoders import ConvTraceEncoder, LSTMTraceEncoder



@pytest.mark.parametrize(
    "encoder",
    [
        LSTMTraceEncoder(hidden=6, layers=2),
        ConvTraceEncoder(channels=(3, 4), kernel_size=3, out_features=5),
        TimeTransformerEncoder(trace_bins=16, dim=8, heads=2, layers=1, patch_bins=3),
    ],
    ids=["lstm", "conv", "time-transformer"],
)
def test_packed_equals_station_by_station(encoder, make_batch):
    torch.manual_seed(0)
    batch = make_batch()
    x = trace_input(batch)
    working = working_mask(batch.state)
    encoder.eval()
    with torch.no_grad():
        codes = encoder(x, working)
        b, g, _, _ = x.shape
        for i in range(b):
            for q in range(g):
                for r in range(g):
                    if working[i, q, r]:
                        expected = encoder.encode(x[i, q, r].unsqueeze(0))[0]
                    else:
                        expected = torch.zeros(encoder.out_features)
                    torch.testing.assert_close(codes[i, q, r], expected, rtol=1e-4, atol=1e-5)
    silent = working & (x == 0).all(-1)
    assert silent.any()  # the shortcut for empty traces was exercised
