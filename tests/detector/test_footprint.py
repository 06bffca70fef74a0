"""The candidate offsets cover every station within the radius of any core."""

from __future__ import annotations

import numpy as np

from airshower.detector.array import sd1500
from airshower.detector.footprint import candidate_offsets
from airshower.physics.primaries import sample_in_hexagon


def test_offsets_cover_the_radius() -> None:
    arr = sd1500()
    radius = 5000.0
    dq, dr = candidate_offsets(radius)
    rng = np.random.default_rng(0)
    cells = rng.integers(0, arr.n, 200)
    ox, oy = sample_in_hexagon(rng, 200)
    for cell, x, y in zip(cells, arr.x[cells] + ox, arr.y[cells] + oy):
        brute = set(np.nonzero(np.hypot(arr.x - x, arr.y - y) <= radius)[0].tolist())
        cand = arr.station_at(arr.q[cell] + dq, arr.r[cell] + dr)
        assert brute <= set(cand[cand >= 0].tolist())
