"""Whole showers against published Auger numbers: hadronic model, data/simulation muon factor,
energy calibration, S38 fluctuations, Xmax-S38 correlation, fluctuations beyond Xmax and Rmu.

S38 here is the expected (noise-free) signal at 1000 m from the axis (station on the line
through the core perpendicular to the shower's ground projection, so its DX is the core's),
turned to 38 deg with the Auger CIC curve (PRD 102, 062005 (2020)).
"""

from __future__ import annotations

import numpy as np
import pytest

from airshower.physics.atmosphere import vertical_depth
from airshower.physics.parameters import sd_parameters
from airshower.physics.showers import sample_showers
from airshower.physics.signals import expected_signals

X_GROUND = float(vertical_depth(1400.0))
MIX = (1, 4, 14, 56)


def _s38(rng: np.random.Generator, mass: np.ndarray, lg_energy: np.ndarray, model: str = "EPOS-LHC",
         muon_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(S38 [VEM], Xmax [g/cm2]) of showers with zenith drawn sin^2-uniform below 60 deg."""
    n = mass.size
    zen = np.arcsin(np.sqrt(rng.uniform(0.0, np.sin(np.radians(60.0)) ** 2, n)))
    sh = sample_showers(rng, lg_energy, mass, model, muon_scale)
    dx = X_GROUND / np.cos(zen) - sh.xmax
    s1000 = expected_signals(lg_energy, zen, dx, dx, 1000.0, sh.rmu_signal, sh.em_factor, sh.dbeta).sum(axis=0)
    cic = sd_parameters()["energy"]["cic"]
    x = np.cos(zen) ** 2 - np.cos(np.radians(38.0)) ** 2
    return s1000 / (1.0 + cic["a"] * x + cic["b"] * x**2 + cic["c"] * x**3), sh.xmax


def _calibrated_energy(s38: np.ndarray) -> np.ndarray:
    """E [EeV] = A S38^B (Auger calibration, PRD 102, 062005 (2020))."""
    cal = sd_parameters()["energy"]["calibration"]
    return cal["A_EeV"] * s38 ** cal["B"]


@pytest.mark.parametrize(("model", "data_factor"), [("EPOS-LHC", 1.33), ("QGSJetII-04", 1.61)])
def test_energy_calibration_returns_e_only_for_the_data_factor(model: str, data_factor: float) -> None:
    """Mixed composition (p/He/N/Fe, the default) at 10 EeV: with the measured data/simulation factor
    (PRL 117, 192001: 1.33 +- 0.16 EPOS-LHC, 1.61 +- 0.21 QGSJetII-04) the Auger calibration returns E
    within 8% (the energy rescaling of that analysis, 1.00 +- 0.08); the model's own showers
    (factor 1) are ~20% (EPOS-LHC) to ~35% (QGSJetII-04) short of data."""
    rng = np.random.default_rng(11)
    n = 40_000
    mass = rng.choice(MIX, n)
    lg = np.full(n, 19.0)
    ratio_data = _calibrated_energy(_s38(rng, mass, lg, model, data_factor)[0]).mean() / 10.0
    ratio_model = _calibrated_energy(_s38(rng, mass, lg, model, 1.0)[0]).mean() / 10.0
    assert ratio_data == pytest.approx(1.0, abs=0.08)
    assert ratio_model < 0.85
    if model == "EPOS-LHC":  # "a simulation at the level of EPOS-LHC is ~20% below data"
        assert ratio_model == pytest.approx(0.80, abs=0.06)


def test_hadronic_model_changes_the_ground_muons() -> None:
    """Muon signal 800-1200 m from the axis of 10 EeV protons: QGSJetII-04 / EPOS-LHC = 1.33/1.61 = 0.826
    (PRL 117, 192001) within 3% (it was 0.996 when the model changed only Xmax)."""
    rng = np.random.default_rng(12)
    n = 40_000
    means = {}
    for model in ("EPOS-LHC", "QGSJetII-04"):
        sh = sample_showers(rng, np.full(n, 19.0), np.ones(n, dtype=int), model)
        zen = np.arcsin(np.sqrt(rng.uniform(0.0, 0.75, n)))
        r = rng.uniform(800.0, 1200.0, n)
        dx = X_GROUND / np.cos(zen) - sh.xmax
        means[model] = expected_signals(19.0, zen, dx, dx, r, sh.rmu_signal, sh.em_factor, sh.dbeta)[0].mean()
    assert means["QGSJetII-04"] / means["EPOS-LHC"] == pytest.approx(1.33 / 1.61, rel=0.03)


def test_s38_resolution_above_30_eev() -> None:
    """Intrinsic sigma(S38)/S38 at fixed energy for lg E 19.5-20 of a He/N mix (the composition Auger
    infers above 30 EeV) is about the Auger energy resolution there, 0.078 + 0.16 exp(-E/6.6 EeV)
    = 8.0% at 30 EeV (PRD 102, 062005, arXiv:2008.06486): within 20%. (With the old proton muon
    spread of 0.17 it was 15%.)"""
    rng = np.random.default_rng(13)
    n = 60_000
    lg = rng.uniform(19.5, 20.0, n)
    s38, _ = _s38(rng, rng.choice((4, 14), n), lg)
    b = sd_parameters()["energy"]["calibration"]["B"]
    spread = np.std(np.log(s38) - np.log(10.0 ** (lg - 18.0)) / b)  # at fixed energy: S38 ~ E^(1/B)
    resolution = 0.078 + 0.16 * np.exp(-30.0 / 6.6)
    assert spread == pytest.approx(resolution, rel=0.2)


def test_xmax_s38_correlation_needs_a_mixed_beam() -> None:
    """Auger, PLB 762 (2016) 288 (arXiv:1609.08567): at lg E 18.5-19 the correlation r(X*max, S*38)
    is near zero or positive for every pure beam of every model and clearly negative only for mixed
    beams (data: -0.125 +- 0.024). Pure p and Fe here: > -0.05; p/Fe 50/50: < -0.2."""
    rng = np.random.default_rng(14)
    n = 40_000

    def r_g(masses: tuple[int, ...]) -> float:
        lg = rng.uniform(18.5, 19.0, n)
        s38, xmax = _s38(rng, rng.choice(masses, n), lg)
        x_star = xmax - 58.0 * (lg - 19.0)  # scaled to 10 EeV with the elongation rate ~58 g/cm2/decade
        s_star = np.log(s38) - np.log(10.0 ** (lg - 19.0)) / 1.031
        return float(np.corrcoef(x_star, s_star)[0, 1])

    assert r_g((1,)) > -0.05
    assert r_g((56,)) > -0.05
    assert r_g((1, 56)) < -0.2


def test_equal_showers_differ() -> None:
    """Showers of equal E, theta, Xmax and Rmu differ in their EM signal, lateral slope and time scale
    (the spreads of ``shower_fluctuations``)."""
    rng = np.random.default_rng(15)
    n = 50_000
    sh = sample_showers(rng, np.full(n, 19.5), np.full(n, 14), "EPOS-LHC")
    f = sd_parameters()["shower_fluctuations"]
    assert np.log(sh.em_factor).std() == pytest.approx(f["em_sigma_ln"]["value"], rel=0.03)
    assert sh.dbeta.std() == pytest.approx(f["ldf_beta_sigma"]["value"], rel=0.03)
    assert sh.time_shift.std() == pytest.approx(f["time_shower_sigma_ln"]["value"], rel=0.03)
    # the same (Xmax, Rmu) at 2 km: the signals of two such showers differ by the EM factor and the slope
    one = expected_signals(19.5, 0.5, 300.0, 300.0, 2000.0, 1.0, sh.em_factor[:2], sh.dbeta[:2]).sum(axis=0)
    assert abs(one[0] / one[1] - 1.0) > 1e-3
