"""The device's numeric settings (airshower.inference.device): the amp choice, and
every network trained and evaluated under bf16 autocast (run on the CPU here; on a GPU
the same autocast is the default)."""

from __future__ import annotations

import pytest
import torch

from airshower.inference.device import autocast, autocast_dtype
from airshower.models.registry import MODEL_TYPES
from airshower.models.trace_encoders import LSTMTraceEncoder
from airshower.training.distributed import DistContext
from airshower.training.loop import train_step, validate

from tests.kit.training import STEP_TARGETS, network_step

CPU = torch.device("cpu")


def test_amp_setting_picks_the_autocast_dtype() -> None:
    assert autocast_dtype(CPU, "off") is None
    assert autocast_dtype(CPU, "auto") is None  # float32 on a CPU: bit-reproducible runs
    assert autocast_dtype(CPU, "bf16") is torch.bfloat16


def test_autocast_context_follows_the_dtype() -> None:
    x = torch.randn(4, 4)
    with autocast(CPU, None):
        assert (x @ x).dtype == torch.float32
    with autocast(CPU, torch.bfloat16):
        assert (x @ x).dtype == torch.bfloat16


@pytest.mark.parametrize("kind", sorted(MODEL_TYPES))
def test_every_network_trains_and_evaluates_under_bf16(kind: str) -> None:
    """Mixed dtypes in packing, scattering or attention masks would fail here before a GPU run."""
    sc, events = network_step(kind, amp_dtype=torch.bfloat16)
    model = sc.model
    before = [p.detach().clone() for p in model.parameters()]
    losses = [float(train_step(sc, events)) for _ in range(2)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    result = validate(model, iter([events]), sc.normaliser, sc.weights, CPU, torch.bfloat16,
                      DistContext(rank=0, world_size=1, local_rank=0, device=CPU))
    assert torch.isfinite(torch.tensor(result.loss)) and set(result.per_target) == set(STEP_TARGETS)


def test_lstm_encoder_runs_in_float32_under_cpu_autocast() -> None:
    """oneDNN has no bf16 LSTM on CPUs without AVX512-BF16: the encoder keeps it in float32."""
    torch.manual_seed(0)
    enc = LSTMTraceEncoder(hidden=8, layers=2)
    traces = torch.rand(5, 16)
    plain = enc.encode(traces)
    with autocast(CPU, torch.bfloat16):
        mixed = enc.encode(traces)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, plain, rtol=0, atol=0)
