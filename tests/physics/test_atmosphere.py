"""The Linsley US-standard atmosphere: ground depth, depth <-> height, slant depth."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.physics.atmosphere import height_at_depth, slant_depth, vertical_depth
from airshower.physics.parameters import sd_parameters


def test_ground_depth_matches_the_parameters() -> None:
    det = sd_parameters()["detector"]
    ground = float(vertical_depth(det["altitude_m"]))
    assert ground == pytest.approx(det["ground_vertical_depth_gcm2"], rel=0.01)


def test_depth_decreases_with_height_and_inverts() -> None:
    h = np.linspace(-500.0, 110_000.0, 4001)
    x = vertical_depth(h)
    assert np.all(np.diff(x) < 0)
    assert vertical_depth(0.0) == pytest.approx(1036.1, abs=0.5)  # sea level, US standard
    np.testing.assert_allclose(height_at_depth(x), h, atol=1e-3)


def test_layer_boundaries_are_continuous() -> None:
    for h in (4_000.0, 10_000.0, 40_000.0, 100_000.0):
        assert vertical_depth(h - 1e-3) == pytest.approx(vertical_depth(h + 1e-3), rel=1e-4)


def test_slant_depth_scales_with_sec_zenith() -> None:
    assert slant_depth(1400.0, np.radians(60.0)) == pytest.approx(2 * vertical_depth(1400.0))
