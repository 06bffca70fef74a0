"""Bootstrap uncertainties of sample statistics, vectorised and reproducibly seeded.

The bootstrap (Efron, Ann. Statist. 7 (1979) 1; Efron & Tibshirani, *An Introduction to
the Bootstrap*, 1993, ch. 6): draw ``n_resamples`` samples of the same size with
replacement, evaluate the statistic on each, and quote the standard deviation of those
replicates as the standard error of the statistic.

Resamples are drawn as one ``(k, n)`` index array at a time (``k`` chosen so that at most
:data:`MAX_ELEMENTS` values are in memory) and the statistic is evaluated along axis 1,
so a few hundred resamples of 10^5 values cost a handful of numpy calls. Every call gets
its own generator from :func:`rng_for` (seed plus a key naming what is resampled), so a
result never depends on which other bins were evaluated before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

MAX_ELEMENTS = 2_000_000  # values held at once per chunk of resamples

# statistic(values (k, n)) -> (k,): evaluated along axis 1
Statistic = Callable[[np.ndarray], np.ndarray]
# statistic(a (k, n_a), b (k, n_b)) -> (k,)
Statistic2 = Callable[[np.ndarray, np.ndarray], np.ndarray]


def rng_for(seed: int, key: Sequence[int]) -> np.random.Generator:
    """A generator determined by ``seed`` and an integer ``key`` (e.g. quantity, primary, bin)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *(int(k) for k in key)]))


def _chunks(n_resamples: int, n_values: int) -> list[int]:
    per_chunk = max(1, MAX_ELEMENTS // max(1, n_values))
    sizes = [per_chunk] * (n_resamples // per_chunk)
    if n_resamples % per_chunk:
        sizes.append(n_resamples % per_chunk)
    return sizes


def replicates(values: np.ndarray, statistic: Statistic, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_resamples`` bootstrap replicates of ``statistic`` on the 1D sample ``values``."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        raise ValueError("cannot bootstrap an empty sample")
    out = [statistic(values[rng.integers(0, n, size=(k, n))]) for k in _chunks(n_resamples, n)]
    return np.concatenate(out)


def replicates_many(
    values: np.ndarray, statistics: dict[str, Statistic], n_resamples: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Replicates of several statistics evaluated on the same resamples (one index draw for all)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        raise ValueError("cannot bootstrap an empty sample")
    out: dict[str, list[np.ndarray]] = {name: [] for name in statistics}
    for k in _chunks(n_resamples, n):
        resampled = values[rng.integers(0, n, size=(k, n))]
        for name, func in statistics.items():
            out[name].append(func(resampled))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def replicates2(
    a: np.ndarray, b: np.ndarray, statistic: Statistic2, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Replicates of a two-sample statistic; ``a`` and ``b`` are resampled independently."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("cannot bootstrap an empty sample")
    out = []
    for k in _chunks(n_resamples, a.size + b.size):
        ia = rng.integers(0, a.size, size=(k, a.size))
        ib = rng.integers(0, b.size, size=(k, b.size))
        out.append(statistic(a[ia], b[ib]))
    return np.concatenate(out)


def standard_error(reps: np.ndarray) -> float:
    """Bootstrap standard error: the standard deviation of the replicates (NaN-free ones)."""
    reps = np.asarray(reps, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        return float("nan")
    return float(np.std(reps, ddof=1))
