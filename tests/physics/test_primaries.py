"""Primary masses, energies, directions and cores."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.errors import ConfigError
from airshower.hexgrid import SPACING_M, xy_to_axial
from airshower.physics.primaries import axis_vector, primary_fractions, sample_in_hexagon, sample_primaries


def test_fractions_are_normalised_and_checked() -> None:
    masses, probs = primary_fractions({"p": 1.0, "Fe": 3.0, "He": 0.0})
    assert masses.tolist() == [1, 56]
    np.testing.assert_allclose(probs, [0.25, 0.75])
    with pytest.raises(ConfigError, match="unknown primary"):
        primary_fractions({"p": 1.0, "O": 1.0})
    with pytest.raises(ConfigError):
        primary_fractions({"p": 0.0})


def test_sampled_distributions() -> None:
    rng = np.random.default_rng(3)
    n = 40_000
    prim = sample_primaries(rng, n, {"p": 1.0, "Fe": 1.0}, (18.5, 20.0), 60.0)
    assert set(np.unique(prim["mass"])) == {1, 56}
    assert abs(np.mean(prim["mass"] == 56) - 0.5) < 0.02
    assert prim["lg_energy"].min() >= 18.5 and prim["lg_energy"].max() <= 20.0
    assert abs(prim["lg_energy"].mean() - 19.25) < 0.01
    assert prim["zenith"].max() <= np.radians(60.0)
    sin2 = np.sin(prim["zenith"]) ** 2  # uniform in [0, 3/4]
    assert abs(sin2.mean() - 0.375) < 0.005
    assert abs(np.var(sin2) - 0.75**2 / 12) < 0.002
    assert abs(np.mean(prim["azimuth"]) - np.pi) < 0.05


def test_core_uniform_in_the_hexagonal_cell() -> None:
    rng = np.random.default_rng(4)
    x, y = sample_in_hexagon(rng, 50_000)
    q, r = xy_to_axial(x, y)
    assert np.all((q == 0) & (r == 0))  # every point lies in the cell of the origin
    radius = SPACING_M / np.sqrt(3.0)
    # a regular hexagon of circumradius R has <r^2> = 5 R^2 / 12
    assert np.mean(x**2 + y**2) == pytest.approx(5 * radius**2 / 12, rel=0.02)
    assert abs(np.mean(x)) < 10 and abs(np.mean(y)) < 10


def test_axis_points_to_the_source() -> None:
    axis = axis_vector(np.radians([0.0, 90.0, 90.0]), np.radians([0.0, 0.0, 90.0]))
    np.testing.assert_allclose(axis, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-12)
