"""Arrival-time templates, their calibration to the measured rise time and their fluctuations, shower-front
curvature and start-time variance (de Mauro 2020)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airshower.errors import ConfigError
from airshower.physics.atmosphere import vertical_depth
from airshower.physics.parameters import sd_parameters
from airshower.detector.station import rise_times, station_traces
from airshower.detector.tank import electronics
from airshower.physics.signals import expected_signals
from airshower.physics.timing import (
    C_M_PER_NS,
    curvature_parameters,
    curvature_radius,
    front_delay_ns,
    lognormal_cdf,
    lognormal_parameters,
    normal_cdf,
    rise_time_de_mauro,
    start_time_extra_sigma,
    start_time_variance,
    station_template_fluctuations,
    template_parameters,
    template_shift,
    track_length_factor,
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


def test_start_time_floor_leaves_out_the_quantisation() -> None:
    """The 10 ns constant of the de Mauro variance includes the FADC quantisation (bin^2/12), which
    the simulated traces carry already."""
    b = sd_parameters()["start_time_variance"]["b_ns"]
    assert start_time_extra_sigma(0.0, 0.3, 25.0) == pytest.approx(math.sqrt(b**2 - 25.0**2 / 12.0))


def test_de_mauro_rise_time_takes_degrees() -> None:
    """de Mauro 2020: t1/2 = 0.9253 (r/m)^0.8471 exp(-0.01152 theta/deg) ns: ~290 ns at 1000 m for
    theta < 20 deg (287 at 10 deg), half the vertical value at 60 deg."""
    assert rise_time_de_mauro(1000.0, np.radians(10.0)) == pytest.approx(287.0, abs=1.0)
    assert rise_time_de_mauro(1000.0, np.radians(60.0)) / rise_time_de_mauro(1000.0, 0.0) == pytest.approx(
        math.exp(-0.01152 * 60.0))
    assert rise_time_de_mauro(2000.0, 0.0) / rise_time_de_mauro(1000.0, 0.0) == pytest.approx(2.0**0.8471)


def test_start_time_variance_model() -> None:
    """de Mauro: Var = a^2 (T^2/n^2 + c r^2 cos^2) + b^2, T = t1/2/0.59, n = S/track length; n = 12 below 10."""
    p = sd_parameters()["start_time_variance"]
    var = start_time_variance(300.0, 100.0, 1000.0, 0.0)  # vertical: track length factor 1, n = 100
    expected = p["a"] ** 2 * ((300.0 / 0.59) ** 2 / 100.0**2 + p["c_per_m2"] * 1000.0**2) + p["b_ns"] ** 2
    assert var == pytest.approx(expected)
    few = start_time_variance(300.0, 5.0, 1000.0, 0.0)
    t_half = rise_time_de_mauro(1000.0, 0.0)
    assert few == pytest.approx(p["a"] ** 2 * ((t_half / 0.59) ** 2 / 144.0 + p["c_per_m2"] * 1e6) + p["b_ns"] ** 2)
    assert track_length_factor(0.0) == pytest.approx(1.0)
    sixty = np.radians(60.0)
    assert track_length_factor(sixty) == pytest.approx(1.0 / (0.5 + 2.4 / (np.pi * 1.8) * np.sin(sixty)))


def _station_sample(zenith_deg: float, r: float, lg_e: float, n: int, seed: int):
    zen = np.radians(zenith_deg)
    dx = float(vertical_depth(1400.0)) / np.cos(zen) - 750.0
    comp = expected_signals(lg_e, zen, dx, dx, r, 1.0)
    expected = np.tile(comp.reshape(1, 4), (n, 1))
    return station_traces(np.random.default_rng(seed), expected, np.full(n, r), np.full(n, dx),
                          np.full(n, 1.0 / np.cos(zen)), electronics("ub"), 120)


@pytest.mark.parametrize(("zenith_deg", "r", "lg_e"), [(20.0, 1000.0, 19.0), (20.0, 1500.0, 19.5),
                                                       (40.0, 1000.0, 19.5), (40.0, 1500.0, 20.0),
                                                       (55.0, 1000.0, 19.5), (55.0, 1500.0, 19.5)])
def test_start_time_spread_follows_the_de_mauro_variance(zenith_deg: float, r: float, lg_e: float) -> None:
    """Start-time spread of stations at 1000 and 1500 m (signals >= 15 VEM): the simulated spread (first
    particles, per-station template fluctuations, the added front and clock jitter) is that of the
    de Mauro variance model within 30% (half-width of the central 68% of the start times)."""
    zen = np.radians(zenith_deg)
    out = _station_sample(zenith_deg, r, lg_e, 800, seed=int(zenith_deg + r))
    signal = out.trace.sum(axis=1)
    assert signal.mean() >= 15.0
    lo, hi = np.percentile(out.start_ns, [15.865, 84.135])
    sim = math.sqrt(((hi - lo) / 2.0) ** 2 + float(start_time_extra_sigma(r, zen, 25.0)) ** 2)
    t_half = float(np.nanmean(rise_times(out.trace, 25.0)))
    model = math.sqrt(float(np.mean(start_time_variance(t_half, signal, r, zen))))
    assert sim / model == pytest.approx(1.0, abs=0.3)


def test_simulated_rise_time_follows_de_mauro() -> None:
    """Mean t1/2 of simulated stations 900-1100 m from the axis (lg E 19-19.5, the default mixed
    composition, signal > 5 VEM, not saturated) against zenith: within 10% of de Mauro 2020
    (about 290 ns below 20 deg)."""
    from airshower.config import dataset_simulation, validate_config
    from airshower.physics.primaries import axis_vector
    from airshower.simulate import check_settings, simulate_chunk

    cfg = validate_config({"simulation": {"lg_energy": [19.0, 19.5]}})
    settings = check_settings(dataset_simulation(cfg, "train"))
    out, _ = simulate_chunk(np.random.default_rng(21), settings, 3000, 0)
    ev, st = out["events"], out["stations"]
    e = np.repeat(np.arange(out["counts"].size), out["counts"])
    axis = axis_vector(ev["mc_zenith"], ev["mc_azimuth"])
    dx, dy = st["x"] - ev["mc_core_x"][e], st["y"] - ev["mc_core_y"][e]
    along = dx * axis[e, 0] + dy * axis[e, 1]
    r = np.sqrt(np.maximum(dx**2 + dy**2 - along**2, 0.0))
    zen = ev["mc_zenith"][e]
    ok = st["triggered"] & ~st["saturated"] & (st["signal"] > 5.0) & (r > 900.0) & (r < 1100.0)
    t_half = rise_times(out["traces"], 25.0)
    for lo, hi in [(0, 20), (20, 30), (30, 40), (40, 50), (50, 60)]:
        sel = ok & (zen >= np.radians(lo)) & (zen < np.radians(hi))
        assert sel.sum() > 100
        data = rise_time_de_mauro(r[sel], zen[sel]).mean()
        assert t_half[sel].mean() == pytest.approx(data, rel=0.10), f"{lo}-{hi} deg"


def test_station_template_fluctuations() -> None:
    """Stations at equal (r, DX) get different templates: ln t shifted by time_station_sigma_ln, the
    widths scaled by exp(width_station_sigma_ln); the calibration shifts every component alike."""
    rng = np.random.default_rng(4)
    m0, s0 = template_parameters(np.full(40_000, 1000.0), np.full(40_000, 300.0), np.full(40_000, 1.2))
    m_raw, s_raw = lognormal_parameters(1000.0, 300.0)
    np.testing.assert_allclose(m0 - m_raw, template_shift(1000.0, 1.2)[..., None] + 0 * m0)
    np.testing.assert_allclose(s0, np.broadcast_to(s_raw, s0.shape))
    m, s = station_template_fluctuations(rng, m0, s0)
    f = sd_parameters()["shower_fluctuations"]
    assert (m - m0)[:, 0].std() == pytest.approx(f["time_station_sigma_ln"]["value"], rel=0.05)
    np.testing.assert_allclose((m - m0)[:, 0], (m - m0)[:, 1])  # one shift for all components of a station
    assert np.log(s / s0).std() == pytest.approx(f["width_station_sigma_ln"]["value"], rel=0.05)


def test_parameters_say_which_front_the_templates_follow() -> None:
    """The templates are phased to the curved (de Mauro) front, which the simulator adds to the plane front."""
    form = TABLE["_form"]
    assert "curved shower front" in form and "after the plane shower front" not in form
    assert front_delay_ns(1500.0, 5000.0) > 0.0
