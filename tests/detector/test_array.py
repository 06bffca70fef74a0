"""The SD-1500 array lattice."""

from __future__ import annotations

import numpy as np

from airshower.detector.array import sd1500
from airshower.hexgrid import hex_distance, xy_to_axial


def test_station_count_altitude_and_unique_cells() -> None:
    arr = sd1500()
    assert arr.n == 1660
    assert np.all(arr.z == 1400.0)
    assert len(set(zip(arr.q.tolist(), arr.r.tolist()))) == 1660


def test_spacing() -> None:
    arr = sd1500()
    d = np.hypot(arr.x[:, None] - arr.x[None, :], arr.y[:, None] - arr.y[None, :])
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(d.min(axis=1), 1500.0)
    assert np.sum(np.isclose(d, 1500.0)) // 2 > 4000  # lattice bonds
    # an interior station has exactly six neighbours at 1500 m
    centre = int(arr.station_at(0, 0))
    assert np.sum(np.isclose(d[centre], 1500.0)) == 6


def test_ids_round_trip() -> None:
    arr = sd1500()
    ids = np.arange(arr.n)
    np.testing.assert_array_equal(arr.station_at(arr.q, arr.r), ids)
    q, r = xy_to_axial(arr.x, arr.y)
    np.testing.assert_array_equal(arr.station_at(q, r), ids)
    assert arr.station_at(100, 100) == -1
    span = np.arange(-26, 27)  # the array edge: cells beyond hex distance 24 hold no station
    q, r = (a.ravel() for a in np.meshgrid(span, span, indexing="ij"))
    beyond = hex_distance(q, r) >= 25
    assert np.all(arr.station_at(q[beyond], r[beyond]) == -1)
    assert np.sum(arr.station_at(q, r) >= 0) == 1660
