"""Step 2 of docs/physics.md: the depth of shower maximum, Xmax [g/cm2].

Generalised Gumbel distributions of Xmax per primary, energy and hadronic model
(M. De Domenico et al., JCAP 07 (2013) 050, arXiv:1305.2331), coefficients in
``xmax_gumbel`` of sd_parameters.json:

    lE = lg(E/eV) - 19,  D = (1, ln A, ln^2 A)
    mu     = (mu0 . D) + (mu1 . D) lE + (mu2 . D) lE^2      [g/cm2]
    sigma  = (s0 . D)  + (s1 . D) lE                        [g/cm2]
    lambda = (l0 . D)  + (l1 . D) lE

Sampling: Xmax = mu - sigma ln G with G ~ Gamma(shape lambda, scale 1/lambda), whose
density is the generalised Gumbel g(z) ~ exp(-lambda z - lambda e^(-z)), z = (x - mu)/sigma.
Moments: <Xmax> = mu + sigma (ln lambda - psi(lambda)), sigma(Xmax) = sigma sqrt(psi'(lambda)).
"""

from __future__ import annotations

import numpy as np

from airshower.errors import ConfigError
from airshower.physics.parameters import sd_parameters

HADRONIC_MODELS: tuple[str, ...] = ("EPOS-LHC", "QGSJetII-04")


def _coefficients(model: str) -> dict[str, np.ndarray]:
    table = sd_parameters()["xmax_gumbel"]
    if model not in table or model.startswith("_"):
        raise ConfigError(f"hadronic model {model!r} is not known; choose one of {list(HADRONIC_MODELS)}")
    return {k: np.asarray(v, dtype=np.float64) for k, v in table[model].items()}


def gumbel_parameters(
    lg_energy: np.ndarray | float, mass: np.ndarray | float, model: str = "EPOS-LHC"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu [g/cm2], sigma [g/cm2], lambda) of the generalised Gumbel at lg(E/eV) and mass number A."""
    c = _coefficients(model)
    ln_a = np.log(np.asarray(mass, dtype=np.float64))
    le = np.asarray(lg_energy, dtype=np.float64) - 19.0
    d = np.stack([np.ones_like(ln_a), ln_a, ln_a**2], axis=-1)  # (..., 3)
    mu = d @ c["mu"][0] + (d @ c["mu"][1]) * le + (d @ c["mu"][2]) * le**2
    sigma = d @ c["sigma"][0] + (d @ c["sigma"][1]) * le
    lam = d @ c["lambda"][0] + (d @ c["lambda"][1]) * le
    return mu, sigma, lam


def sample_xmax(
    rng: np.random.Generator, lg_energy: np.ndarray, mass: np.ndarray, model: str = "EPOS-LHC"
) -> np.ndarray:
    """Draw Xmax [g/cm2] per event: Xmax = mu - sigma ln G, G ~ Gamma(lambda, 1/lambda)."""
    mu, sigma, lam = gumbel_parameters(lg_energy, mass, model)
    g = rng.gamma(lam, 1.0 / lam)
    return mu - sigma * np.log(g)


def _digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) for x > 0: recurrence up to x >= 8, then the asymptotic series (error < 1e-10)."""
    x = np.array(x, dtype=np.float64, copy=True)
    acc = np.zeros_like(x)
    for _ in range(8):
        small = x < 8.0
        acc = acc - np.where(small, 1.0 / x, 0.0)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = np.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))
    return acc + series


def _trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x) for x > 0: recurrence up to x >= 8, then the asymptotic series."""
    x = np.array(x, dtype=np.float64, copy=True)
    acc = np.zeros_like(x)
    for _ in range(8):
        small = x < 8.0
        acc = acc + np.where(small, 1.0 / (x * x), 0.0)
        x = np.where(small, x + 1.0, x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv + 0.5 * inv2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))
    return acc + series


def gumbel_moments(
    lg_energy: np.ndarray | float, mass: np.ndarray | float, model: str = "EPOS-LHC"
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic (<Xmax>, sigma(Xmax)) [g/cm2] of the generalised Gumbel distribution."""
    mu, sigma, lam = gumbel_parameters(lg_energy, mass, model)
    mean = mu + sigma * (np.log(lam) - _digamma(lam))
    return mean, sigma * np.sqrt(_trigamma(lam))
