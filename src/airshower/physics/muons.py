"""Step 3 of docs/physics.md: the muon content Rmu of a shower, relative to a proton shower.

Heitler-Matthews: N_mu ~ A^(1 - beta) E^beta with beta ~ 0.9; full simulations give
N_mu(Fe)/N_mu(p) ~ 1.3-1.4 and shower-to-shower fluctuations sigma(N_mu)/N_mu of
~0.15-0.2 for protons to ~0.05 for iron (``muon_number`` in sd_parameters.json; J. Matthews,
Astropart. Phys. 22 (2005) 387). The energy dependence N_mu ~ E^beta is carried by the
signal parametrisation (:mod:`airshower.physics.signals`), so Rmu only holds the mass
dependence and the fluctuations:

    ln Rmu ~ Normal(k ln A, s(A)),  k = ln(1.35) / ln(56)   (Fe/p = 1.35)
    s(A) = 0.17 + (0.05 - 0.17) ln A / ln 56                (linear in ln A)

times a global muon rescaling (``simulation.muon_scale``; 1.33 reproduces the measured
data/EPOS-LHC muon excess, Auger, PRL 117 (2016) 192001).
"""

from __future__ import annotations

import numpy as np

FE_OVER_P = 1.35
SIGMA_LN_RMU_P = 0.17
SIGMA_LN_RMU_FE = 0.05
_LN56 = np.log(56.0)
K_LN_A = np.log(FE_OVER_P) / _LN56


def rmu_distribution(mass: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sigma) of ln Rmu for mass number A (global muon scale excluded)."""
    ln_a = np.log(np.asarray(mass, dtype=np.float64))
    sigma = SIGMA_LN_RMU_P + (SIGMA_LN_RMU_FE - SIGMA_LN_RMU_P) * ln_a / _LN56
    return K_LN_A * ln_a, sigma


def sample_rmu(rng: np.random.Generator, mass: np.ndarray, muon_scale: float = 1.0) -> np.ndarray:
    """Draw Rmu per event (dimensionless), the global ``muon_scale`` included."""
    mean, sigma = rmu_distribution(mass)
    return muon_scale * np.exp(rng.normal(mean, sigma))
