"""Expected component signals: universality at 1000 m and the lateral shape (docs/physics.md step 5)."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.physics.showers import shower_averaged_s1000
from airshower.physics.signals import (
    expected_signals,
    gaisser_hillas_dx,
    lateral_shape,
    ldf_slopes,
)


def test_s1000_and_muon_fraction_at_10_eev() -> None:
    """10 EeV protons, averaged over their EPOS-LHC showers (muon_scale 1: the model's prediction;
    station DX = core DX).

    docs/physics.md: S1000 ~ 39 VEM at 38 deg with a muon fraction ~0.56; ~0.84 at 60 deg (within 15%).
    The data/simulation factor 1.33 (PRL 117, 192001) raises S1000 by ~25% (to data level).
    """
    rng = np.random.default_rng(21)
    s38, f38 = shower_averaged_s1000(1, np.radians(38.0), 19.0, "EPOS-LHC", rng=rng)
    _, f60 = shower_averaged_s1000(1, np.radians(60.0), 19.0, "EPOS-LHC", rng=rng)
    assert s38 == pytest.approx(39.0, rel=0.15)
    assert f38 == pytest.approx(0.56, rel=0.15)
    assert f60 == pytest.approx(0.84, rel=0.15)
    # iron has more muons, hence a larger muon fraction at the same zenith
    _, f38_fe = shower_averaged_s1000(56, np.radians(38.0), 19.0, "EPOS-LHC", rng=rng)
    assert f38_fe > f38 + 0.03
    s38_data, _ = shower_averaged_s1000(1, np.radians(38.0), 19.0, "EPOS-LHC", rng=rng, muon_scale=1.33)
    assert s38_data / s38 == pytest.approx(1.25, abs=0.05)


def test_shower_fluctuations_enter_the_signals() -> None:
    """The shower's EM factor multiplies the pure EM component only; its slope shift tilts the LDF
    about 1000 m (no change there)."""
    base = expected_signals(19.5, 0.5, 300.0, 300.0, np.array([1000.0, 2000.0]), 1.0)
    em = expected_signals(19.5, 0.5, 300.0, 300.0, np.array([1000.0, 2000.0]), 1.0, em_factor=1.1)
    np.testing.assert_allclose(em[1], 1.1 * base[1])
    np.testing.assert_allclose(np.delete(em, 1, axis=0), np.delete(base, 1, axis=0))
    tilted = expected_signals(19.5, 0.5, 300.0, 300.0, np.array([1000.0, 2000.0]), 1.0, dbeta=0.1)
    np.testing.assert_allclose(tilted[:, 0], base[:, 0])
    assert np.all(tilted[:, 1] > base[:, 1])


def test_energy_scaling_is_almost_linear() -> None:
    low = expected_signals(19.0, 0.5, 300.0, 300.0, 1000.0, 1.0).sum()
    high = expected_signals(20.0, 0.5, 300.0, 300.0, 1000.0, 1.0).sum()
    assert 8.0 < high / low < 10.0


def test_universality_shape_is_one_at_400() -> None:
    assert gaisser_hillas_dx(np.array(400.0), 336.59, -250.0, np.array(440.68)) == pytest.approx(1.0)
    # the EM component peaks near its DXmax and dies away in old showers
    dx = np.linspace(0, 1200, 1201)
    em = gaisser_hillas_dx(dx, 167.92, -500.0, np.full(dx.size, 82.64))
    assert abs(dx[np.argmax(em)] - 167.92) < 2
    assert em[-1] < 0.01 * em.max()


def test_lateral_shape() -> None:
    assert lateral_shape(1000.0, -2.5) == pytest.approx(1.0)
    r = np.array([500.0, 1000.0, 2000.0])
    comp = expected_signals(19.5, np.radians(30.0), 300.0, 300.0, r, 1.0)
    muon_fraction = comp[0] / comp.sum(axis=0)
    assert np.all(np.diff(muon_fraction) > 0)  # muons are flatter than the EM particles
    # effective slope of the total signal: ~ -2.6 near vertical, flatter (~ -1.9) at 60 deg
    beta_vertical = ldf_slopes(875.5 - 757.0)
    beta_inclined = ldf_slopes(2 * 875.5 - 757.0)
    assert np.all(beta_inclined > beta_vertical)
    assert -2.9 < beta_vertical.mean() < -2.3
    assert -2.3 < beta_inclined.mean() < -1.8
