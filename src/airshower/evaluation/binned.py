"""Sample statistics of residuals, in bins of a variable, each with a bootstrap uncertainty.

The statistics (all along the last axis, so they take bootstrap replicates in one call):

* ``bias``: mean of the residuals;
* ``std``: standard deviation (ddof=1), the usual "resolution";
* ``half68``: half-width of the central interval holding :data:`Q68` of the residuals,
  (Q[(1+Q68)/2] - Q[(1-Q68)/2]) / 2, which equals sigma for a Gaussian and is robust
  against tails (the definition used for Xmax resolutions in e.g. Auger, JINST 16 P07019);
* ``q68``: the :data:`Q68` quantile of a non-negative quantity (opening angle, core
  distance): the radius that contains 68% of the events (Auger angular resolution
  convention, e.g. Bonifazi et al., Nucl. Phys. B Proc. Suppl. 190 (2009) 20).

Bins are half-open ``[lo, hi)`` except the last, which includes its upper edge; values
outside all bins are counted in no bin. A bin with too few entries for a statistic
reports ``None`` for it (and for its uncertainty) instead of raising, together with its
count, so an empty bin reads ``count: 0`` and nulls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from airshower.evaluation.bootstrap import Statistic, replicates_many, rng_for, standard_error

# Fraction of a Gaussian within +-1 sigma (erf(1/sqrt(2))): the "68%" of resolutions.
Q68 = 0.682689492


def bias(values: np.ndarray) -> np.ndarray:
    """Mean along the last axis."""
    return np.mean(values, axis=-1)


def std(values: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof=1) along the last axis."""
    return np.std(values, axis=-1, ddof=1)


def half68(values: np.ndarray) -> np.ndarray:
    """Half-width of the central :data:`Q68` interval along the last axis (sigma for a Gaussian)."""
    lo, hi = np.quantile(values, [(1.0 - Q68) / 2.0, (1.0 + Q68) / 2.0], axis=-1)
    return 0.5 * (hi - lo)


def q68(values: np.ndarray) -> np.ndarray:
    """The :data:`Q68` quantile along the last axis (radius containing 68% of the events)."""
    return np.quantile(values, Q68, axis=-1)


# name -> (function, fewest entries for a value)
STATISTICS: dict[str, tuple[Statistic, int]] = {
    "bias": (bias, 1),
    "std": (std, 2),
    "half68": (half68, 2),
    "q68": (q68, 1),
}


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def summarise(
    values: np.ndarray,
    stats: Sequence[str],
    n_resamples: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """``count`` plus each statistic and its bootstrap error (``<name>_err``) of a 1D sample.

    All statistics are evaluated on the same ``n_resamples`` resamples. A statistic is ``None`` when the sample has fewer entries than it needs; an error is
    ``None`` below two entries (a resample of one value has no spread).
    """
    values = np.asarray(values, dtype=np.float64)
    out: dict[str, Any] = {"count": int(values.size)}
    for name in stats:
        func, needed = STATISTICS[name]
        out[name] = _finite_or_none(func(values)) if values.size >= needed else None
        out[f"{name}_err"] = None
    if values.size >= 2:
        reps = replicates_many(values, {name: STATISTICS[name][0] for name in stats}, n_resamples, rng)
        for name in stats:
            if out[name] is not None:
                out[f"{name}_err"] = _finite_or_none(standard_error(reps[name]))
    return out


def bin_index(x: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin of each ``x`` for ascending ``edges`` ([lo, hi) bins, last one closed); -1 outside."""
    edges = np.asarray(edges, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    idx = np.searchsorted(edges, x, side="right") - 1
    idx[x == edges[-1]] = edges.size - 2
    idx[(x < edges[0]) | (x > edges[-1]) | ~np.isfinite(x)] = -1
    return idx


def binned_summary(
    x: np.ndarray,
    values: np.ndarray,
    edges: Sequence[float],
    stats: Sequence[str],
    n_resamples: int,
    seed: int,
    key: Sequence[int],
) -> dict[str, Any]:
    """Statistics of ``values`` overall (``total``) and in bins of ``x`` (``bins``, a list).

    Each bin carries ``lo``, ``hi``, ``count``, ``x_mean`` (mean of ``x`` in the bin, where
    to draw it) and the statistics of :func:`summarise`. The bootstrap generator of each bin
    is ``rng_for(seed, [*key, bin])`` (``-1`` for the total), so results are reproducible
    bin by bin.
    """
    x = np.asarray(x, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    idx = bin_index(x, edges)
    bins = []
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        sel = idx == b
        entry: dict[str, Any] = {"lo": float(lo), "hi": float(hi)}
        entry["x_mean"] = float(x[sel].mean()) if sel.any() else None
        entry.update(summarise(values[sel], stats, n_resamples, rng_for(seed, [*key, b])))
        bins.append(entry)
    total: dict[str, Any] = {"lo": float(edges[0]), "hi": float(edges[-1])}
    inside = idx >= 0
    total["x_mean"] = float(x[inside].mean()) if inside.any() else None
    total.update(summarise(values[inside], stats, n_resamples, rng_for(seed, [*key, 1_000_000])))
    return {"total": total, "bins": bins}


def bin_containing(entries: Sequence[Mapping[str, Any]], x: float) -> Mapping[str, Any] | None:
    """The entry of a ``bins`` list whose [lo, hi] holds ``x`` (None if none does)."""
    for i, entry in enumerate(entries):
        last = i == len(entries) - 1
        if entry["lo"] <= x < entry["hi"] or (last and x == entry["hi"]):
            return entry
    return None
