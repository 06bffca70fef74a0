"""The merit factor: how well an observable separates two primaries.

MF = |<X_1> - <X_2>| / sqrt(sigma_1^2 + sigma_2^2) (e.g. Kampert & Unger, Astropart.
Phys. 35 (2012) 660, eq. 5; used for the p/Fe separation of Xmax by the Auger
Collaboration, JINST 16 P07019), with sigma the sample standard deviation (ddof=1).
Computed per energy bin for reconstructed and true Xmax of protons (A = 1) and iron
(A = 56): the ratio reco/true says how much separation power the reconstruction keeps.
The uncertainty is the bootstrap standard error with both samples resampled independently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from airshower.evaluation.binned import bin_index
from airshower.evaluation.bootstrap import replicates2, rng_for, standard_error


def merit_factor_stat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merit factor of samples ``a`` and ``b`` along the last axis (works on replicates)."""
    diff = np.abs(np.mean(a, axis=-1) - np.mean(b, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff / np.sqrt(np.var(a, axis=-1, ddof=1) + np.var(b, axis=-1, ddof=1))


def merit_factor(
    a: np.ndarray, b: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> tuple[float | None, float | None]:
    """(MF, bootstrap error) of two 1D samples; (None, None) if either has fewer than 2 entries;
    (inf, None) if both are constant and differ (a discrete truth such as ln A of p and Fe)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        return None, None
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return (math.inf if a[0] != b[0] else None), None
    value = float(merit_factor_stat(a, b))
    if not np.isfinite(value):
        return None, None
    err = standard_error(replicates2(a, b, merit_factor_stat, n_resamples, rng))
    return value, (err if np.isfinite(err) else None)


def binned_merit_factor(
    x: np.ndarray,
    mass: np.ndarray,
    observables: dict[str, np.ndarray],
    edges: Sequence[float],
    n_resamples: int,
    seed: int,
    key: Sequence[int],
    light: int = 1,
    heavy: int = 56,
) -> dict[str, Any]:
    """Merit factor of each observable (e.g. ``{"reco": ..., "true": ...}``) in bins of ``x``.

    Returns ``{"total": entry, "bins": [entry, ...]}``, each entry with ``lo``, ``hi``,
    ``count_p``, ``count_fe`` (events of mass ``light`` and ``heavy``) and, per observable,
    ``<name>`` and ``<name>_err`` (None where a primary has fewer than two events) and
    ``<name>_infinite`` (true where both primaries have one value each, as true ln A: the
    merit factor is infinite and ``<name>`` is None, JSON having no infinity).
    """
    x = np.asarray(x, dtype=np.float64)
    mass = np.rint(np.asarray(mass, dtype=np.float64)).astype(np.int64)
    idx = bin_index(x, edges)
    is_light, is_heavy = mass == light, mass == heavy

    def entry(sel: np.ndarray, lo: float, hi: float, b: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lo": float(lo),
            "hi": float(hi),
            "count_p": int((sel & is_light).sum()),
            "count_fe": int((sel & is_heavy).sum()),
        }
        for j, (name, obs) in enumerate(observables.items()):
            obs = np.asarray(obs, dtype=np.float64)
            value, err = merit_factor(obs[sel & is_light], obs[sel & is_heavy], n_resamples,
                                      rng_for(seed, [*key, j, b]))
            infinite = value is not None and math.isinf(value)
            out[name], out[f"{name}_err"], out[f"{name}_infinite"] = None if infinite else value, err, infinite
        return out

    bins = [entry(idx == b, lo, hi, b) for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))]
    return {"total": entry(idx >= 0, edges[0], edges[-1], 1_000_000), "bins": bins}
