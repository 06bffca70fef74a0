"""The measured matmul rate of a device (airshower.inference.peak), at tiny sizes on the CPU."""

from __future__ import annotations

import pytest
import torch

from airshower.inference.peak import device_peak, matmul_peak, peak_dtype


def test_matmul_peak_is_a_positive_rate_at_one_of_the_sizes() -> None:
    rate, n = matmul_peak(torch.device("cpu"), torch.float32, (16, 32), repeats=2, repeat_flop=1e6)
    assert n in (16, 32)
    assert 1e6 < rate < 1e15  # FLOP/s: more than a MFLOP/s, less than a PFLOP/s on one CPU


def test_matmul_peak_in_bfloat16() -> None:
    rate, n = matmul_peak(torch.device("cpu"), torch.bfloat16, (32,), repeats=1, repeat_flop=1e5)
    assert n == 32 and rate > 0


def test_no_sizes_is_an_error() -> None:
    with pytest.raises(ValueError, match="no matrix sizes"):
        matmul_peak(torch.device("cpu"), torch.float32, ())


def test_the_cpu_peak_is_float32_whatever_the_amp_setting() -> None:
    for amp in ("auto", "bf16", "off"):
        assert peak_dtype(torch.device("cpu"), amp) is torch.float32
    peak = device_peak(torch.device("cpu"), "bf16", sizes=(32,), repeat_flop=1e5)
    assert peak.dtype_name == "float32" and peak.n == 32 and peak.flops_per_s > 0
