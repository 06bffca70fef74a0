"""Synthetic predictions with known smearing: the ground truth that tests and benchmarks check against.

Truth: mass drawn from {1, 4, 14, 56}; lg(E/eV) uniform; sin^2(zenith) uniform up to 60 deg;
Xmax Gaussian around a rough elongation rate, <Xmax> = 750 + 55 (lgE - 19) - 25 ln A
[g/cm2], with a spread per primary (60, 45, 30, 20 g/cm2 for p, He, N, Fe; of the order
of the EPOS-LHC values, De Domenico et al., JCAP 07 (2013) 050). The reconstruction adds
known smearing: Xmax + N(bias, sigma); lg E + lg(1 + N(e_bias, e_sigma)); the axis rotated
by Gaussian angles of ``axis_sigma_deg`` in two perpendicular directions (so the opening
angle is Rayleigh distributed, 68.27% quantile = 1.515 sigma); the core shifted by
N(0, core_sigma) per coordinate (Rayleigh distance); ln A + N(ln_a_bias, ln_a_sigma).
Nothing here is a physics model.

``uncertainty=True`` adds the per-event standard deviation ``sigma`` of every reconstructed
component, equal to the true spread of its smearing times ``sigma_scale``: a calibrated model
(``sigma_scale`` 1) has pulls (rec - true) / sigma of width 1, an over-confident one
(``sigma_scale`` < 1) wider pulls. Exact for Xmax, the core and ln A (Gaussian smearing); to
first order for lg E (sigma of lg(1 + N(e_bias, e_sigma)) = e_sigma / ((1 + e_bias) ln 10)) and
the axis components (sigma_j^2 = s^2 (1 - a_j^2) + s^4 a_j^2, s = axis_sigma_deg in rad, a_j
the true component; the second term is the along-axis shrinking of the normalisation).
The smearing of ln A is drawn after all other random numbers, so the other values of a
given seed do not depend on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from airshower.evaluation.prediction_file import Predictions, write_predictions
from airshower.targets import zenith_deg

MASSES = np.array([1, 4, 14, 56])
XMAX_SPREAD = {1: 60.0, 4: 45.0, 14: 30.0, 56: 20.0}


def mean_xmax(lg_energy: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """The toy elongation rate of this module [g/cm2]."""
    return 750.0 + 55.0 * (np.asarray(lg_energy) - 19.0) - 25.0 * np.log(np.asarray(mass, dtype=np.float64))


def _perpendiculars(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(axis, u)


def synthetic_predictions(
    n: int,
    *,
    seed: int = 0,
    model: str = "toy",
    dataset: str = "test",
    lg_energy_range: tuple[float, float] = (18.5, 20.0),
    xmax_bias: float = 0.0,
    xmax_sigma: float = 25.0,
    energy_bias: float = 0.0,
    energy_sigma: float = 0.1,
    axis_sigma_deg: float = 0.5,
    core_sigma: float = 50.0,
    ln_a_bias: float = 0.0,
    ln_a_sigma: float = 0.6,
    targets: tuple[str, ...] = ("xmax", "lg_energy", "axis", "core"),
    masses: np.ndarray | None = None,
    uncertainty: bool = False,
    sigma_scale: float = 1.0,
) -> Predictions:
    """``n`` events with known truth and reconstruction (see the module docstring)."""
    rng = np.random.default_rng(seed)
    mass = rng.choice(MASSES if masses is None else np.asarray(masses), size=n)
    lg_e = rng.uniform(*lg_energy_range, size=n)
    zen = np.arcsin(np.sqrt(rng.uniform(0.0, np.sin(np.radians(60.0)) ** 2, size=n)))
    azi = rng.uniform(0.0, 2.0 * np.pi, size=n)
    axis = np.stack([np.sin(zen) * np.cos(azi), np.sin(zen) * np.sin(azi), np.cos(zen)], axis=1)
    spread = np.vectorize(XMAX_SPREAD.get)(mass).astype(np.float64)
    xmax = mean_xmax(lg_e, mass) + spread * rng.standard_normal(n)
    core = rng.uniform(-750.0, 750.0, size=(n, 2))
    truth = {"xmax": xmax, "lg_energy": lg_e, "axis": axis, "core": core, "ln_a": np.log(mass.astype(np.float64)),
             "mass": mass.astype(np.float64)}
    truth["zenith"] = zenith_deg(axis)

    u, v = _perpendiculars(axis)
    a, b = np.radians(axis_sigma_deg) * rng.standard_normal((2, n, 1))
    axis_rec = axis + np.tan(a) * u + np.tan(b) * v
    axis_rec /= np.linalg.norm(axis_rec, axis=1, keepdims=True)
    rel = np.clip(1.0 + energy_bias + energy_sigma * rng.standard_normal(n), 1e-3, None)
    reco_all = {
        "xmax": xmax + xmax_bias + xmax_sigma * rng.standard_normal(n),
        "lg_energy": lg_e + np.log10(rel),
        "axis": axis_rec,
        "core": core + core_sigma * rng.standard_normal((n, 2)),
    }
    reco_all["ln_a"] = truth["ln_a"] + ln_a_bias + ln_a_sigma * rng.standard_normal(n)
    reco = {t: reco_all[t] for t in targets}
    sigma: dict[str, np.ndarray] = {}
    if uncertainty:
        s_rad = np.radians(axis_sigma_deg)
        smearing = {
            "xmax": np.full(n, xmax_sigma),
            "lg_energy": np.full(n, energy_sigma / ((1.0 + energy_bias) * np.log(10.0))),
            "axis": np.sqrt(s_rad**2 * (1.0 - axis**2) + s_rad**4 * axis**2),
            "core": np.full((n, 2), core_sigma),
            "ln_a": np.full(n, ln_a_sigma),
        }
        sigma = {t: sigma_scale * smearing[t] for t in reco}
    return Predictions(
        model=model,
        dataset=dataset,
        targets=tuple(t for t in reco_all if t in reco),
        truth=truth,
        reco=reco,
        sigma=sigma,
        event_id=np.arange(n, dtype=np.int64),
        index=np.arange(n, dtype=np.int64),
        config={"synthetic": {"seed": seed, "xmax_bias": xmax_bias, "xmax_sigma": xmax_sigma,
                              "uncertainty": uncertainty, "sigma_scale": sigma_scale}},
        flags={"t5": np.ones(n, dtype=bool)},  # every event passes the 6T5 selection
    )


def write_synthetic(path: str | Path, n: int, **kwargs: Any) -> Predictions:
    """:func:`synthetic_predictions` written to ``path`` as a predictions file."""
    pred = synthetic_predictions(n, **kwargs)
    write_predictions(
        path,
        model=pred.model,
        dataset=pred.dataset,
        truth=pred.truth,
        reco=pred.reco,
        event_id=pred.event_id,
        index=pred.index,
        config=pred.config,
        sigma=pred.sigma,
        flags=pred.flags,
    )
    pred.path = Path(path)
    return pred
