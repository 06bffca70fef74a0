"""Step 6 of docs/physics.md: from expected signals to particles, and their sampling.

Signal per particle [VEM] (``per_particle_vem`` in sd_parameters.json; M. Stadelmaier,
see docs/physics.md "Sources"), with lgr = lg(r / 1000 m) clipped to [-1, 0.6] (100 m - 4 km,
where the forms are positive and monotonic):

    muon:     (0.51 + 0.25 sec) + (-0.46 + 0.19 sec) lgr - 0.05 lgr^2
    electron: 0.066 + 0.035 lgr
    photon:   0.017 + 0.018 lgr + 0.032 lgr^2
    photons per electron: 25 - 28 lgr - 16 lgr^2   (at least 1)

An EM component of expected signal S holds S / v_em particles, v_em the mean over the
electron/photon mixture. Particle numbers are Poisson; each particle's signal varies
(track length through the tank, energy of the EM particle, photo-electron statistics)
with a relative spread cv, so that a station's signal is a compound Poisson sum with

    Var(S) = S v (1 + cv^2).

A muon's signal follows its track length, which the tank bounds: the longest chord of
the water volume (``detector.tank_radius_m``, ``water_height_m``) is 3.16 water heights,
so one muon gives at most ~3.16 VEM. Each muon's signal is drawn from a Beta distribution
on [0, MUON_SIGNAL_MAX_VEM] with mean v_mu and spread MUON_SIGNAL_CV (a bounded
track-length-like spectrum: a lone muon can never fire the 3.2 VEM-peak threshold
trigger, as in the real array).

The muon spread MUON_SIGNAL_CV = 0.8 and the EM spread (the e/gamma mixture and an
intrinsic EM_SIGNAL_CV = 1.0 per particle) make the station-signal fluctuations follow
the measured sigma_S = (0.34 + 0.46 sec theta) sqrt(S) (Auger, JINST 15 P10021,
arXiv:2007.09035; ``signal_uncertainty``), which tests/physics check. Muons dominate the
fluctuations because each carries ~1 VEM against ~0.02 VEM per EM particle. The draws
themselves (per muon, per time bin) are in :mod:`airshower.detector.station`.
"""

from __future__ import annotations

import numpy as np

from airshower.physics.parameters import sd_parameters

LGR_RANGE = (-1.0, 0.6)
MUON_SIGNAL_CV = 0.8
EM_SIGNAL_CV = 1.0


def _longest_chord_vem() -> float:
    det = sd_parameters()["detector"]
    return float(np.hypot(2.0 * det["tank_radius_m"], det["water_height_m"]) / det["water_height_m"])


MUON_SIGNAL_MAX_VEM = _longest_chord_vem()


def _lgr(r: np.ndarray) -> np.ndarray:
    r = np.maximum(np.asarray(r, dtype=np.float64), 1.0)
    return np.clip(np.log10(r / 1000.0), *LGR_RANGE)


def muon_vem(r: np.ndarray, sec_theta: np.ndarray) -> np.ndarray:
    """Mean signal of one muon [VEM] at axis distance ``r`` [m] and sec(zenith)."""
    lgr = _lgr(r)
    sec = np.asarray(sec_theta, dtype=np.float64)
    return (0.51 + 0.25 * sec) + (-0.46 + 0.19 * sec) * lgr - 0.05 * lgr**2


def em_vem_moments(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean signal per EM particle [VEM], relative spread cv) of the electron/photon mixture at ``r`` [m].

    cv combines the mixture of electron and photon signals with the intrinsic spread
    :data:`EM_SIGNAL_CV` of each particle: 1 + cv^2 = (<v^2>/<v>^2) (1 + EM_SIGNAL_CV^2).
    """
    lgr = _lgr(r)
    v_e = 0.066 + 0.035 * lgr
    v_g = 0.017 + 0.018 * lgr + 0.032 * lgr**2
    n_g = np.maximum(25.0 - 28.0 * lgr - 16.0 * lgr**2, 1.0)
    mean = (v_e + n_g * v_g) / (1.0 + n_g)
    second = (v_e**2 + n_g * v_g**2) / (1.0 + n_g)
    ratio = second / mean**2 * (1.0 + EM_SIGNAL_CV**2)
    return mean, np.sqrt(ratio - 1.0)


def muon_signal_beta(vem_per_muon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape parameters (a, b) of the Beta distribution of one muon's signal / MUON_SIGNAL_MAX_VEM.

    Mean m = v / v_max and relative spread cv give a + b = (1 - m) / (m cv^2) - 1.
    """
    m = np.clip(np.asarray(vem_per_muon, dtype=np.float64) / MUON_SIGNAL_MAX_VEM, 0.01, 0.5)
    total = (1.0 - m) / (m * MUON_SIGNAL_CV**2) - 1.0
    return m * total, (1.0 - m) * total


def sampling_sigma(signal_muon: np.ndarray, signal_em: np.ndarray, r: np.ndarray, sec_theta: np.ndarray) -> np.ndarray:
    """Std [VEM] of a station's total signal from particle sampling, sqrt(sum_c S_c v_c (1 + cv_c^2))."""
    v_em, cv_em = em_vem_moments(r)
    var = signal_muon * muon_vem(r, sec_theta) * (1.0 + MUON_SIGNAL_CV**2) + signal_em * v_em * (1.0 + cv_em**2)
    return np.sqrt(var)
