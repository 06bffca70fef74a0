"""The p/Fe merit factor on distributions with a known answer."""

import numpy as np
import pytest

from airshower.evaluation.bootstrap import rng_for
from airshower.evaluation.merit import binned_merit_factor, merit_factor


def test_merit_factor_of_gaussians():
    rng = np.random.default_rng(0)
    p = 800.0 + 60.0 * rng.standard_normal(3000)
    fe = 700.0 + 20.0 * rng.standard_normal(3000)
    expected = 100.0 / np.sqrt(60.0**2 + 20.0**2)  # 1.58
    value, err = merit_factor(p, fe, 200, rng_for(0, [0]))
    assert 0.01 < err < 0.1
    assert abs(value - expected) < 3 * err


def test_smearing_lowers_the_merit_factor_as_expected():
    rng = np.random.default_rng(1)
    n = 4000
    p = 800.0 + 60.0 * rng.standard_normal(n)
    fe = 700.0 + 20.0 * rng.standard_normal(n)
    smear = 30.0
    mass = np.repeat([1, 56], n)
    x = np.full(2 * n, 19.2)
    true = np.concatenate([p, fe])
    reco = true + smear * rng.standard_normal(2 * n)
    out = binned_merit_factor(x, mass, {"reco": reco, "true": true}, [19.0, 19.5], 100, 3, key=[0])
    entry = out["bins"][0]
    assert entry["count_p"] == n and entry["count_fe"] == n
    expected_reco = 100.0 / np.sqrt(60.0**2 + 20.0**2 + 2 * smear**2)
    assert abs(entry["reco"] - expected_reco) < 3 * entry["reco_err"]
    assert entry["reco"] < entry["true"]


def test_bins_without_both_primaries_are_null():
    mass = np.array([1, 1, 1, 56, 56, 14])
    x = np.array([18.6, 18.7, 18.8, 19.6, 19.7, 19.8])
    xm = np.arange(6.0) * 10
    out = binned_merit_factor(x, mass, {"reco": xm}, [18.5, 19.0, 19.5, 20.0], 50, 0, key=[0])
    assert [b["reco"] for b in out["bins"]] == [None, None, None]
    assert [(b["count_p"], b["count_fe"]) for b in out["bins"]] == [(3, 0), (0, 0), (0, 2)]
    assert out["total"]["reco"] == pytest.approx(abs(10.0 - 35.0) / np.sqrt(100.0 + 50.0))


def test_a_truth_with_one_value_per_primary_has_an_infinite_merit_factor():
    mass = np.array([1] * 5 + [56] * 5)
    x = np.full(10, 19.2)
    ln_a = np.log(mass.astype(float))
    entry = binned_merit_factor(x, mass, {"true": ln_a}, [19.0, 19.5], 20, 3, key=[0])["total"]
    assert entry["true"] is None and entry["true_err"] is None and entry["true_infinite"] is True
