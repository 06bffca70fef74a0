"""Step 3 of docs/physics.md: the muon content Rmu of a shower.

Rmu is relative to the mean muon content of EPOS-LHC proton showers at the same energy
(the model's prediction, no data/simulation factor). Numbers in ``muon_number`` of
sd_parameters.json, each with its source:

    ln Rmu = ln f_data(E) + ln r_model(E) + k ln A + sigma_ln(A) z                   (dimensionless)

* f_data(E) = ``simulation.muon_scale``: the data/simulation muon factor (1 = the model's
  prediction). Auger measures 1.33 +- 0.16 for EPOS-LHC and 1.61 +- 0.21 for QGSJetII-04
  at 6-16 EeV (PRL 117, 192001 (2016)); a number, or ``{value, lg_energy_ref, slope}`` for
  f = value (E / 10^lg_energy_ref eV)^slope (see :func:`muon_scale_factor`).
* r_model(E) = ratio_to_epos exp(energy_slope (lg E - 19)): QGSJetII-04 carries
  1.33 / 1.61 = 0.826 of the EPOS-LHC muons (PRL 117, 192001); the ratio is constant in
  energy (no source for a slope) and, by superposition, in mass.
* k = ln(iron_over_proton) / ln 56: N_mu(Fe)/N_mu(p) = 1.35 (Heitler-Matthews, J. Matthews,
  Astropart. Phys. 22 (2005) 387; N_mu ~ A^(1-beta) E^beta; the E^beta is carried by the
  signal parametrisation).
* Shower-to-shower fluctuations: sigma_ln(A) linear in ln A from 0.10 (p; measured
  sigma(N_mu)/N_mu ~ 0.10, PRL 126, 152002 (2021)) to 0.05 (Fe), and correlated with the
  shower's Xmax within its primary: z = rho(A) z_X + sqrt(1 - rho^2) n, z_X the
  standardised Xmax of the shower (its Gumbel mean and width), rho(A) linear in ln A from
  -0.20 (p) to -0.10 (Fe): deeper showers carry fewer muons (see ``fluctuations`` for the
  source of the sign and how the size is fixed).

The signal parametrisation (``signal_components``) takes the muon content in its own unit,
Rmu = 1 being the EPOS-LHC proton of the universality model (M. Pothast 2022); the
simulator gives it n_EPOS Rmu (:func:`signal_rmu`), n_EPOS = ``epos_lhc_normalisation`` =
0.80: with n_EPOS = 1 the default mixed composition at 10 EeV already reproduced the Auger
energy calibration (PRD 102, 062005 (2020)) without any data factor, while Auger finds that
EPOS-LHC needs 1.33 (PRL 117, 192001); 0.80 makes 1.33 the factor that reproduces data
(docs/physics.md step 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from airshower.errors import ConfigError
from airshower.physics.parameters import sd_parameters

_LN56 = float(np.log(56.0))
MUON_SCALE_KEYS = ("value", "lg_energy_ref", "slope")


def _table() -> dict[str, Any]:
    return sd_parameters()["muon_number"]


def _value(entry: Mapping[str, Any]) -> float:
    return float(entry["value"])


def mass_slope() -> float:
    """k = ln(N_mu(Fe)/N_mu(p)) / ln 56."""
    return float(np.log(_value(_table()["iron_over_proton"]))) / _LN56


def check_muon_scale(muon_scale: Any) -> dict[str, float]:
    """The data/simulation muon factor as ``{value, lg_energy_ref, slope}``; raise ConfigError when malformed.

    A number v means ``{value: v, lg_energy_ref: 19, slope: 0}``.
    """
    if isinstance(muon_scale, bool):
        raise ConfigError(f"'simulation.muon_scale' = {muon_scale!r} must be a number > 0 or a mapping")
    if isinstance(muon_scale, (int, float)):
        spec = {"value": float(muon_scale), "lg_energy_ref": 19.0, "slope": 0.0}
    elif isinstance(muon_scale, Mapping):
        unknown = sorted(set(muon_scale) - set(MUON_SCALE_KEYS))
        if unknown or "value" not in muon_scale:
            raise ConfigError(f"'simulation.muon_scale' = {dict(muon_scale)!r}: a mapping needs 'value' and may "
                              f"hold {list(MUON_SCALE_KEYS[1:])} (unknown: {unknown})")
        spec = {"value": muon_scale["value"], "lg_energy_ref": muon_scale.get("lg_energy_ref", 19.0),
                "slope": muon_scale.get("slope", 0.0)}
        for key, v in spec.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ConfigError(f"'simulation.muon_scale.{key}' = {v!r} must be a finite number")
        spec = {k: float(v) for k, v in spec.items()}
    else:
        raise ConfigError(f"'simulation.muon_scale' = {muon_scale!r} must be a number > 0 or a mapping")
    if not (np.isfinite(spec["value"]) and spec["value"] > 0):
        raise ConfigError(f"'simulation.muon_scale' value {spec['value']!r} must be > 0")
    return spec


def muon_scale_factor(muon_scale: Any, lg_energy: np.ndarray | float) -> np.ndarray:
    """f_data(E) = value (E / 10^lg_energy_ref eV)^slope of the ``simulation.muon_scale`` setting."""
    spec = check_muon_scale(muon_scale)
    lg_e = np.asarray(lg_energy, dtype=np.float64)
    return spec["value"] * np.power(10.0, spec["slope"] * (lg_e - spec["lg_energy_ref"]))


def model_ratio(model: str, lg_energy: np.ndarray | float) -> np.ndarray:
    """r_model(E): the muon content of ``model`` relative to EPOS-LHC at the same energy and mass."""
    models = _table()["models"]
    if model not in models:
        raise ConfigError(f"hadronic model {model!r} has no muon-number entry; known: {sorted(models)}")
    entry = models[model]
    lg_e = np.asarray(lg_energy, dtype=np.float64)
    return _value(entry["ratio_to_epos"]) * np.exp(_value(entry["energy_slope"]) * (lg_e - 19.0))


def model_ln_rmu(model: str, lg_energy: np.ndarray | float, mass: np.ndarray | float) -> np.ndarray:
    """Mean ln Rmu of ``model`` (muon_scale 1) at lg(E/eV) and mass number A (0 for EPOS-LHC protons)."""
    ln_a = np.log(np.asarray(mass, dtype=np.float64))
    return np.log(model_ratio(model, lg_energy)) + mass_slope() * ln_a


def signal_rmu(rmu: np.ndarray | float) -> np.ndarray:
    """The muon content in the unit of ``signal_components``: n_EPOS Rmu (``epos_lhc_normalisation``)."""
    return _value(_table()["epos_lhc_normalisation"]) * np.asarray(rmu, dtype=np.float64)


def _linear_in_ln_a(mass: np.ndarray | float, at_p: float, at_fe: float) -> np.ndarray:
    ln_a = np.log(np.asarray(mass, dtype=np.float64))
    return at_p + (at_fe - at_p) * ln_a / _LN56


def fluctuation_parameters(mass: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(sigma of ln Rmu, correlation rho with the standardised Xmax) for mass number A."""
    f = _table()["fluctuations"]
    sigma = _linear_in_ln_a(mass, _value(f["sigma_ln_p"]), _value(f["sigma_ln_fe"]))
    rho = _linear_in_ln_a(mass, _value(f["rho_xmax_p"]), _value(f["rho_xmax_fe"]))
    return sigma, rho


def rmu_distribution(mass: np.ndarray | float, lg_energy: np.ndarray | float = 19.0, model: str = "EPOS-LHC",
                     muon_scale: Any = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sigma) of ln Rmu for mass number A at lg(E/eV), ``model`` and ``muon_scale``."""
    mean = model_ln_rmu(model, lg_energy, mass) + np.log(muon_scale_factor(muon_scale, lg_energy))
    sigma, _ = fluctuation_parameters(mass)
    return mean, sigma


def sample_rmu(rng: np.random.Generator, mass: np.ndarray, muon_scale: Any = 1.0, lg_energy: np.ndarray | float = 19.0,
               model: str = "EPOS-LHC", xmax_z: np.ndarray | None = None) -> np.ndarray:
    """Draw Rmu per event (dimensionless), the data/simulation ``muon_scale`` included.

    ``xmax_z``: the standardised Xmax of each shower within its primary (correlates the
    draw with it); without it the draw is independent of Xmax (same marginal distribution).
    """
    mass = np.asarray(mass)
    mean, sigma = rmu_distribution(mass, lg_energy, model, muon_scale)
    mean, sigma = np.broadcast_arrays(mean, sigma)
    n = rng.standard_normal(mean.shape)
    if xmax_z is not None:
        _, rho = fluctuation_parameters(mass)
        n = rho * np.asarray(xmax_z, dtype=np.float64) + np.sqrt(1.0 - rho**2) * n
    return np.exp(mean + sigma * n)
