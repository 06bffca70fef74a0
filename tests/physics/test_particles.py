"""Particle sampling: total-signal fluctuations against the measured signal uncertainty."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.detector.station import station_traces
from airshower.detector.tank import electronics
from airshower.physics.particles import (
    MUON_SIGNAL_CV,
    MUON_SIGNAL_MAX_VEM,
    em_vem_moments,
    muon_signal_beta,
    muon_vem,
    sampling_sigma,
)
from airshower.physics.signals import expected_signals


def test_per_particle_signals() -> None:
    assert muon_vem(1000.0, 1.0) == pytest.approx(0.76)
    assert muon_vem(1000.0, 2.0) > muon_vem(1000.0, 1.0)  # longer tracks in inclined showers
    mean, cv = em_vem_moments(np.array([300.0, 1000.0, 3000.0]))
    assert np.all((mean > 0.01) & (mean < 0.07))
    assert np.all(cv > 0)


@pytest.mark.parametrize(("zenith_deg", "r", "lg_e"), [(0, 1000, 19.0), (25, 800, 19.5), (45, 1200, 19.3),
                                                       (60, 1000, 19.0), (60, 1600, 19.8), (35, 1500, 18.8)])
def test_total_signal_fluctuations_follow_the_measured_uncertainty(zenith_deg: float, r: float, lg_e: float) -> None:
    """Std of the recorded signal (trace sum) of identical stations vs sigma_S = (0.34 + 0.46 sec) sqrt(S): 25%."""
    zen = np.radians(zenith_deg)
    dx = 875.5 / np.cos(zen) - 750.0
    comp = expected_signals(lg_e, zen, dx, dx, r, 1.1)
    n = 2500
    expected = np.tile(comp, (n, 1)) if comp.ndim == 1 else np.tile(comp.reshape(1, 4), (n, 1))
    rng = np.random.default_rng(int(zenith_deg * 100 + r))
    out = station_traces(rng, expected, np.full(n, float(r)), np.full(n, dx), np.full(n, 1 / np.cos(zen)),
                         electronics("ub"), 200)
    signal = out.trace.sum(axis=1, dtype=np.float64)
    assert out.index.size == n
    total = comp.sum()
    measured = (0.34 + 0.46 / np.cos(zen)) * np.sqrt(total)
    assert signal.std() == pytest.approx(measured, rel=0.25)
    model = sampling_sigma(comp[0], comp[1:].sum(), r, 1 / np.cos(zen))
    assert signal.std() == pytest.approx(float(model), rel=0.1)
    assert signal.mean() == pytest.approx(total, rel=0.05)  # 200 bins (5 us) hold the signal


def test_single_muon_signal_is_bounded_by_the_tank() -> None:
    rng = np.random.default_rng(9)
    v = muon_vem(np.full(200_000, 1500.0), 1.6)
    a, b = muon_signal_beta(v)
    x = MUON_SIGNAL_MAX_VEM * rng.beta(a, b)
    assert MUON_SIGNAL_MAX_VEM == pytest.approx(np.hypot(3.6, 1.2) / 1.2)
    assert x.max() <= MUON_SIGNAL_MAX_VEM
    assert x.mean() == pytest.approx(v[0], rel=0.01)
    assert x.std() / x.mean() == pytest.approx(MUON_SIGNAL_CV, rel=0.02)
