"""Binned statistics and the bootstrap on samples with known answers."""

import numpy as np
import pytest

from airshower.evaluation.binned import Q68, bin_containing, bin_index, binned_summary, half68, q68, summarise
from airshower.evaluation.bootstrap import replicates, rng_for, standard_error


def test_bin_index_edges_and_outside():
    edges = [18.5, 19.0, 19.5, 20.0]
    x = np.array([18.4, 18.5, 18.99, 19.0, 19.7, 20.0, 20.1, np.nan])
    assert bin_index(x, edges).tolist() == [-1, 0, 0, 1, 2, 2, -1, -1]


def test_gaussian_bias_and_resolution_recovered_within_bootstrap_error():
    rng = np.random.default_rng(3)
    values = 7.0 + 20.0 * rng.standard_normal(4000)
    out = summarise(values, ["bias", "std", "half68"], 200, rng_for(1, [0]))
    assert out["count"] == 4000
    # the bootstrap error is close to the analytic standard error of the mean / std
    assert out["bias_err"] == pytest.approx(20.0 / np.sqrt(4000), rel=0.2)
    assert out["std_err"] == pytest.approx(20.0 / np.sqrt(2 * 4000), rel=0.25)
    assert abs(out["bias"] - 7.0) < 3 * out["bias_err"]
    assert abs(out["std"] - 20.0) < 3 * out["std_err"]
    assert abs(out["half68"] - 20.0) < 3 * out["half68_err"]


def test_half68_is_sigma_and_robust_to_tails():
    rng = np.random.default_rng(4)
    core = 10.0 * rng.standard_normal(20000)
    with_tail = np.concatenate([core, rng.uniform(-1000, 1000, 200)])
    assert half68(core) == pytest.approx(10.0, rel=0.03)
    assert half68(with_tail) == pytest.approx(10.0, rel=0.06)
    assert np.std(with_tail) > 3 * 10.0  # while the standard deviation is blown up


def test_q68_of_rayleigh_distances():
    rng = np.random.default_rng(5)
    sigma = 2.0
    dist = np.hypot(*(sigma * rng.standard_normal((2, 20000))))
    expected = sigma * np.sqrt(-2.0 * np.log(1.0 - Q68))
    assert q68(dist) == pytest.approx(expected, rel=0.03)


def test_empty_and_single_entry_bins_are_null_not_errors():
    out = summarise(np.array([]), ["bias", "std", "half68", "q68"], 50, rng_for(0, [0]))
    assert out == {"count": 0, "bias": None, "bias_err": None, "std": None, "std_err": None,
                   "half68": None, "half68_err": None, "q68": None, "q68_err": None}
    one = summarise(np.array([3.0]), ["bias", "std"], 50, rng_for(0, [0]))
    assert one["bias"] == 3.0 and one["bias_err"] is None and one["std"] is None


def test_binned_summary_counts_and_reproducibility():
    x = np.array([18.6, 18.7, 19.6, 19.7, 19.8, 25.0])
    v = np.array([1.0, 3.0, 10.0, 20.0, 30.0, 999.0])
    edges = [18.5, 19.0, 19.5, 20.0]
    a = binned_summary(x, v, edges, ["bias", "std"], 100, seed=9, key=[0])
    b = binned_summary(x, v, edges, ["bias", "std"], 100, seed=9, key=[0])
    assert a == b
    assert [e["count"] for e in a["bins"]] == [2, 0, 3]
    assert a["bins"][0]["bias"] == pytest.approx(2.0)
    assert a["bins"][1]["bias"] is None and a["bins"][1]["x_mean"] is None
    assert a["bins"][2]["std"] == pytest.approx(10.0)
    assert a["total"]["count"] == 5  # the event outside the edges is in no bin
    assert bin_containing(a["bins"], 19.6)["lo"] == 19.5
    assert bin_containing(a["bins"], 20.0)["lo"] == 19.5
    assert bin_containing(a["bins"], 21.0) is None


def test_bootstrap_chunks_give_the_same_replicates(monkeypatch):
    import airshower.evaluation.bootstrap as bs

    values = np.arange(50.0)
    full = replicates(values, lambda v: v.mean(axis=-1), 40, rng_for(2, [1]))
    monkeypatch.setattr(bs, "MAX_ELEMENTS", 120)  # two resamples per chunk
    chunked = replicates(values, lambda v: v.mean(axis=-1), 40, rng_for(2, [1]))
    assert chunked.shape == (40,)
    assert np.isfinite(standard_error(chunked))
    assert standard_error(full) == pytest.approx(np.std(values, ddof=0) / np.sqrt(50), rel=0.35)
