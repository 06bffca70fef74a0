"""Step 1 of docs/physics.md: the primary particle and the shower geometry.

* Mass number A in {1, 4, 14, 56} (p, He, N, Fe) with configurable relative fractions.
* lg(E/eV) uniform in a configurable range.
* Zenith theta with pdf ~ sin(theta) cos(theta) up to ``max_zenith`` (isotropic flux on a
  flat detector: sin^2(theta) uniform); azimuth phi uniform in [0, 2 pi). Convention: phi
  is the direction the shower comes FROM, counter-clockwise from +x (east); the axis unit
  vector pointing to the source is (sin th cos ph, sin th sin ph, cos th).
* Core uniform over the area of a random array cell: a station drawn uniformly, then a
  point uniform in its hexagonal (Voronoi) cell, so the cores cover the whole array with
  uniform density.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from airshower.errors import ConfigError
from airshower.hexgrid import SPACING_M

MASS_NUMBERS: dict[str, int] = {"p": 1, "He": 4, "N": 14, "Fe": 56}


def primary_fractions(fractions: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(mass numbers, normalised probabilities) from a {name: fraction} mapping."""
    unknown = sorted(set(fractions) - set(MASS_NUMBERS))
    if unknown:
        raise ConfigError(f"simulation.primaries: unknown primary {unknown}; choose from {sorted(MASS_NUMBERS)}")
    names = [n for n in MASS_NUMBERS if fractions.get(n, 0.0) > 0]
    weights = np.array([float(fractions[n]) for n in names])
    if weights.size == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ConfigError(f"simulation.primaries = {dict(fractions)!r}: fractions must be >= 0 with a positive sum")
    return np.array([MASS_NUMBERS[n] for n in names], dtype=np.int32), weights / weights.sum()


def sample_primaries(
    rng: np.random.Generator,
    n: int,
    fractions: Mapping[str, float],
    lg_energy: tuple[float, float],
    max_zenith_deg: float,
) -> dict[str, np.ndarray]:
    """Draw ``n`` primaries: ``mass`` (A), ``lg_energy`` (lg E/eV), ``zenith``, ``azimuth`` [rad]."""
    masses, probs = primary_fractions(fractions)
    mass = masses[rng.choice(masses.size, size=n, p=probs)]
    lo, hi = float(lg_energy[0]), float(lg_energy[1])
    lg_e = rng.uniform(lo, hi, size=n)
    sin2_max = np.sin(np.radians(max_zenith_deg)) ** 2
    zenith = np.arcsin(np.sqrt(rng.uniform(0.0, sin2_max, size=n)))
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return {"mass": mass, "lg_energy": lg_e, "zenith": zenith, "azimuth": azimuth}


def sample_in_hexagon(rng: np.random.Generator, n: int, spacing: float = SPACING_M) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in the Voronoi hexagon of a lattice site at the origin [m].

    The cell of a triangular lattice with neighbours at 0, 60, ... deg is a hexagon with
    vertices at 30 + 60 k deg and circumradius spacing / sqrt(3). It is the union of three
    congruent rhombi spanned by the vertex vectors (v0, v2), (v2, v4), (v4, v0); a point
    uniform in a random rhombus is uniform in the hexagon.
    """
    radius = spacing / np.sqrt(3.0)
    k = rng.integers(0, 3, size=n)
    u = rng.random(n)
    w = rng.random(n)
    a1 = np.radians(30.0 + 120.0 * k)
    a2 = a1 + np.radians(120.0)
    x = radius * (u * np.cos(a1) + w * np.cos(a2))
    y = radius * (u * np.sin(a1) + w * np.sin(a2))
    return x, y


def axis_vector(zenith: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    """Unit vector(s) along the shower axis pointing to the source, shape (..., 3)."""
    st = np.sin(zenith)
    return np.stack([st * np.cos(azimuth), st * np.sin(azimuth), np.cos(zenith)], axis=-1)
