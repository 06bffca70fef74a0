"""Pulse shape, digitisation, gains and saturation."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.detector.tank import digitise, electronics, pulse_kernel, pulse_matrix, pulse_shape
from airshower.errors import ConfigError


def test_electronics_constants() -> None:
    ub = electronics("ub")
    assert ub.bin_ns == 25.0
    assert ub.high_gain_max_vem == pytest.approx(1023 / 172)  # ~6 VEM charge per bin
    assert ub.low_gain_max_vem == pytest.approx(32 * 1023 / 172)
    assert ub.peak_to_charge == pytest.approx(51 / 172)
    assert electronics("uub").bin_ns == pytest.approx(8.333)
    with pytest.raises(ConfigError, match="electronics"):
        electronics("fadc")


def test_pulse_kernel_conserves_charge_and_decays() -> None:
    k = pulse_kernel(400, 25.0, 61.4)
    assert k.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(k[2:] / k[1:-1], np.exp(-25.0 / 61.4))
    # averaged over the arrival phase, one VEM peaks near the measured peak/charge ratio
    assert k.max() == pytest.approx(51 / 172, rel=0.1)
    m = pulse_matrix(50, 25.0, 61.4)
    assert np.all(np.tril(m, -1) == 0)
    dep = np.zeros((1, 50), dtype=np.float32)
    dep[0, 10] = 2.0
    out = pulse_shape(dep, electronics("ub"))
    assert out[0, :10].sum() == 0 and out[0].sum() == pytest.approx(2.0, rel=1e-3)


def test_digitise_gains_and_saturation() -> None:
    ub = electronics("ub")
    rng = np.random.default_rng(0)
    traces = np.array([[0.5, 5.0, 50.0, 0.0], [1.0, 300.0, 2.0, 0.0]], dtype=np.float32)
    out, sat = digitise(rng, traces, ub)
    assert out[0, 0] == pytest.approx(0.5, abs=2 / 172)  # high gain: ADC steps of 1/172 VEM
    assert out[0, 2] == pytest.approx(50.0, abs=32 * 2 / 172)  # low gain took over, coarser steps
    assert not sat[0]
    assert sat[1] and out[1, 1] == pytest.approx(ub.low_gain_max_vem)  # low gain clipped
    noise, _ = digitise(rng, np.zeros((1, 10_000), dtype=np.float32), ub)
    assert noise.std() == pytest.approx(0.6 / 172, rel=0.2)
