"""Steps 2, 3 and 7 of docs/physics.md together: what one shower brings to every station.

A shower of energy E and mass A from the hadronic model ``model`` gets, coherently:

* Xmax from the model's generalised Gumbel (:mod:`airshower.physics.xmax`);
* its muon content Rmu from the model's muon number, times the data/simulation factor
  ``muon_scale``, fluctuating with a width that shrinks from p to Fe and correlated with
  the shower's standardised Xmax z_X = (Xmax - <Xmax>) / sigma(Xmax) of its primary
  (:mod:`airshower.physics.muons`);
* a factor on its pure electromagnetic signal, a shift of its lateral slopes and a shift of
  ln t of its arrival times (``shower_fluctuations`` in sd_parameters.json;
  :mod:`airshower.physics.signals`, :mod:`airshower.physics.timing`).

Everything is per shower (the station-to-station part is drawn with the traces,
:mod:`airshower.detector.station`). :func:`shower_averaged_s1000` averages S(1000) and its
muon fraction over such showers (the sanity numbers of docs/physics.md step 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from airshower.physics.atmosphere import vertical_depth
from airshower.physics.muons import muon_scale_factor, sample_rmu, signal_rmu
from airshower.physics.parameters import sd_parameters
from airshower.physics.signals import expected_signals
from airshower.physics.timing import shower_time_shift
from airshower.physics.xmax import gumbel_moments, sample_xmax


@dataclass(frozen=True)
class Showers:
    """Per-shower quantities, arrays of shape (n,)."""

    xmax: np.ndarray  # [g/cm2]
    rmu: np.ndarray  # muon content relative to EPOS-LHC protons, the data/simulation muon_scale included
    rmu_signal: np.ndarray  # the same in the unit of signal_components (what the signals take)
    muon_scale: np.ndarray  # the data/simulation factor at each shower's energy
    em_factor: np.ndarray  # factor on the pure EM component
    dbeta: np.ndarray  # shift of every lateral slope
    time_shift: np.ndarray  # shift of ln(t/ns) of every arrival-time template


def _sigma(name: str) -> float:
    return float(sd_parameters()["shower_fluctuations"][name]["value"])


def sample_showers(rng: np.random.Generator, lg_energy: np.ndarray, mass: np.ndarray, model: str = "EPOS-LHC",
                   muon_scale: Any = 1.0) -> Showers:
    """Draw the per-shower quantities of n showers (``lg_energy`` lg(E/eV), ``mass`` A, arrays (n,))."""
    lg_energy = np.asarray(lg_energy, dtype=np.float64)
    mass = np.asarray(mass)
    n = lg_energy.shape[0]
    xmax = sample_xmax(rng, lg_energy, mass, model)
    mean, sigma = gumbel_moments(lg_energy, mass, model)
    z_x = (xmax - mean) / sigma
    rmu = sample_rmu(rng, mass, muon_scale, lg_energy, model, xmax_z=z_x)
    em_factor = np.exp(rng.normal(0.0, _sigma("em_sigma_ln"), size=n))
    dbeta = rng.normal(0.0, _sigma("ldf_beta_sigma"), size=n)
    time_shift = shower_time_shift(rng, n)
    scale = np.broadcast_to(muon_scale_factor(muon_scale, lg_energy), (n,)).copy()
    return Showers(xmax=xmax, rmu=rmu, rmu_signal=signal_rmu(rmu), muon_scale=scale, em_factor=em_factor,
                   dbeta=dbeta, time_shift=time_shift)


def shower_averaged_s1000(
    mass: int, zenith: float, lg_energy: float = 19.0, model: str = "EPOS-LHC", n: int = 20_000,
    rng: np.random.Generator | None = None, muon_scale: float | dict = 1.0,
) -> tuple[float, float]:
    """(<S(1000)> [VEM], <muon fraction>) over the shower-to-shower fluctuations of primary ``mass``.

    The showers of ``model`` at ``muon_scale`` (1: the model's prediction) are drawn with
    :func:`sample_showers` (Xmax, the correlated Rmu, the EM factor).
    The station is at 1000 m from the axis on the line through the core perpendicular to
    the shower's ground projection, so its DX is that of the core: X_ground / cos(zenith) - Xmax.
    ``zenith`` in rad. The muon fraction is the ``muon`` component over the total.
    """
    rng = rng or np.random.default_rng(0)
    x_ground = float(vertical_depth(sd_parameters()["detector"]["altitude_m"]))
    sh = sample_showers(rng, np.full(n, float(lg_energy)), np.full(n, mass), model, muon_scale)
    dx = x_ground / np.cos(zenith) - sh.xmax
    comp = expected_signals(lg_energy, zenith, dx, dx, 1000.0, sh.rmu_signal, sh.em_factor)
    total = comp.sum(axis=0)
    return float(total.mean()), float((comp[0] / total).mean())
