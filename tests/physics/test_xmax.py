"""Xmax from the generalised Gumbel distributions (De Domenico et al. 2013)."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.errors import ConfigError
from airshower.physics.primaries import MASS_NUMBERS
from airshower.physics.parameters import sd_parameters
from airshower.physics.xmax import gumbel_moments, sample_xmax

CHECK = sd_parameters()["xmax_moments_check"]


@pytest.mark.parametrize("primary", ["p", "He", "N", "Fe"])
def test_sample_moments_match_the_auger_parametrisation(primary: str) -> None:
    """Mean and sigma per primary at lgE = 18.5 ... 20 within 10 g/cm2 of xmax_moments_check (EPOS-LHC)."""
    rng = np.random.default_rng(11)
    n = 100_000
    for lg_e, (mean_ref, sigma_ref) in zip(CHECK["lgE"], CHECK[primary]):
        x = sample_xmax(rng, np.full(n, lg_e), np.full(n, MASS_NUMBERS[primary]), "EPOS-LHC")
        assert abs(x.mean() - mean_ref) < 10.0, (primary, lg_e, x.mean(), mean_ref)
        assert abs(x.std() - sigma_ref) < 10.0, (primary, lg_e, x.std(), sigma_ref)


def test_analytic_moments_agree_with_the_sampler() -> None:
    rng = np.random.default_rng(12)
    n = 200_000
    for a in (1, 56):
        x = sample_xmax(rng, np.full(n, 19.3), np.full(n, a), "QGSJetII-04")
        mean, sigma = gumbel_moments(19.3, a, "QGSJetII-04")
        assert x.mean() == pytest.approx(float(mean), abs=0.5)
        assert x.std() == pytest.approx(float(sigma), rel=0.02)


def test_models_differ_and_elongate() -> None:
    # QGSJetII-04 protons are shallower than EPOS-LHC ones; Xmax grows with energy (elongation rate)
    epos, _ = gumbel_moments(19.0, 1, "EPOS-LHC")
    qgs, _ = gumbel_moments(19.0, 1, "QGSJetII-04")
    assert qgs < epos - 5
    low, _ = gumbel_moments(18.5, 56, "EPOS-LHC")
    high, _ = gumbel_moments(20.0, 56, "EPOS-LHC")
    assert 60 < high - low < 120


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="SIBYLL"):
        sample_xmax(np.random.default_rng(0), np.array([19.0]), np.array([1]), "SIBYLL")
