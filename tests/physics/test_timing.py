"""Arrival-time templates, shower-front curvature (de Mauro) and start-time jitter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airshower.errors import ConfigError
from airshower.physics.atmosphere import vertical_depth
from airshower.physics.parameters import sd_parameters
from airshower.physics.timing import (
    C_M_PER_NS,
    curvature_parameters,
    curvature_radius,
    front_delay_ns,
    lognormal_cdf,
    lognormal_parameters,
    normal_cdf,
    start_time_extra_sigma,
)

TABLE = sd_parameters()["arrival_time_lognormal"]


def test_normal_cdf_is_accurate() -> None:
    z = np.linspace(-9, 9, 3001)
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in z])
    assert np.abs(normal_cdf(z) - ref).max() < 1e-6


def test_templates_reproduce_the_table() -> None:
    # at DX = 400 (u = 0) and a tabulated distance, m and s are the constant coefficients
    for i, r in enumerate(TABLE["r"]):
        m, s = lognormal_parameters(float(r), 400.0)
        for c, comp in enumerate(("muon", "em", "em_mu", "em_had")):
            assert m[c] == pytest.approx(TABLE["m"][comp][i][0])
            assert s[c] == pytest.approx(TABLE["s"][comp][i][0])


def test_muons_arrive_earlier_than_em_and_everything_later_far_out() -> None:
    m, s = lognormal_parameters(np.array([600.0, 1000.0, 1800.0]), 500.0)
    median = np.exp(m)
    assert np.all(median[:, 0] < median[:, 1])  # muon before pure EM
    assert np.all(np.diff(median, axis=0) > 0)  # later with distance
    assert lognormal_cdf(0.0, m[0, 0], s[0, 0]) == 0.0
    assert lognormal_cdf(median[1, 1], m[1, 1], s[1, 1]) == pytest.approx(0.5, abs=1e-6)


def test_deeper_showers_have_slower_signals() -> None:
    """In the templates, m decreases with DX: small DX (deep shower) -> later, wider arrival."""
    m_deep, _ = lognormal_parameters(1000.0, 150.0)
    m_shallow, _ = lognormal_parameters(1000.0, 700.0)
    assert np.all(m_deep > m_shallow)


def test_curvature_inverts_de_mauro() -> None:
    """Rc from DXmax satisfies DXmax = A + B (DX_Rc - 855.4 + C (lgE - 19.15)); deeper -> more curved."""
    p = curvature_parameters("simulation")
    zen = np.radians(np.array([10.0, 35.0, 50.0]))
    dxmax = np.array([150.0, 350.0, 600.0])
    lg_e = np.array([18.7, 19.3, 19.9])
    rc = curvature_radius(dxmax, zen, lg_e, "simulation")
    x_ground = vertical_depth(1400.0)
    dx_rc = (x_ground - vertical_depth(1400.0 + rc * np.cos(zen))) / np.cos(zen)
    back = p["A"] + p["B"] * (dx_rc - 855.4 + p["C"] * (lg_e - 19.15))
    np.testing.assert_allclose(back, dxmax, atol=0.5)
    deep, shallow = curvature_radius(np.array([100.0, 300.0]), 0.3, 19.0)
    assert deep < shallow


def test_curvature_scatter_and_variants() -> None:
    rng = np.random.default_rng(2)
    rc = curvature_radius(np.full(20_000, 400.0), np.radians(40.0), 19.0, "data", rng)
    assert 0.05 < np.std(np.log(rc)) < 0.5
    with pytest.raises(ConfigError, match="curvature"):
        curvature_parameters("spherical")


def test_front_delay_and_jitter() -> None:
    assert front_delay_ns(0.0, 10_000.0) == 0.0
    assert front_delay_ns(1000.0, 1e7) == pytest.approx(1000.0**2 / (2e7 * C_M_PER_NS), rel=1e-4)
    b = sd_parameters()["start_time_variance"]["b_ns"]
    assert start_time_extra_sigma(0.0, 0.3) == pytest.approx(b)
    assert start_time_extra_sigma(1500.0, 0.0) > start_time_extra_sigma(1500.0, 1.0)
