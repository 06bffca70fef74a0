"""Muon content Rmu: mass dependence, fluctuations, global scale."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.physics.muons import sample_rmu


def test_iron_over_proton_and_fluctuations() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    p = np.log(sample_rmu(rng, np.full(n, 1)))
    fe = np.log(sample_rmu(rng, np.full(n, 56)))
    assert np.exp(fe.mean() - p.mean()) == pytest.approx(1.35, rel=0.01)
    assert p.std() == pytest.approx(0.17, rel=0.03)
    assert fe.std() == pytest.approx(0.05, rel=0.03)


def test_global_scale_multiplies() -> None:
    a = sample_rmu(np.random.default_rng(6), np.full(1000, 14), 1.0)
    b = sample_rmu(np.random.default_rng(6), np.full(1000, 14), 1.33)
    np.testing.assert_allclose(b, 1.33 * a)
