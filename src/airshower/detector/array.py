"""The SD-1500 array: 1660 stations on a triangular lattice of 1500 m spacing (~3000 km2).

The layout is a hexagon of radius 23 cells around the origin (3 * 23 * 24 + 1 = 1657
stations) plus 3 stations of the next ring on its +x side, giving the 1660 stations of
the array (``detector.n_stations`` in sd_parameters.json); each station covers
sqrt(3)/2 * 1500^2 m^2 = 1.95 km2, 3236 km2 in all. Ground altitude 1400 m a.s.l.
Station ids are indices into the arrays of :class:`Array`, sorted by (r, q).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from airshower.hexgrid import SPACING_M, axial_to_xy, hex_distance

ARRAY_RADIUS_CELLS = 23
N_STATIONS = 1660
ALTITUDE_M = 1400.0


@dataclass(frozen=True)
class Array:
    """Station lattice: axial coordinates, positions [m] and an axial -> id lookup."""

    q: np.ndarray  # (n,) int64
    r: np.ndarray  # (n,) int64
    x: np.ndarray  # (n,) float64 [m]
    y: np.ndarray  # (n,) float64 [m]
    z: np.ndarray  # (n,) float64 [m] above sea level
    lookup: np.ndarray  # (2 * (R + 2) + 1,)^2 int32: id at [q + R + 2, r + R + 2], -1 where none
    offset: int  # R + 2

    @property
    def n(self) -> int:
        return int(self.q.size)

    def station_at(self, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Station id at axial cells (q, r); -1 where the cell holds no station (outside the array)."""
        q = np.asarray(q, dtype=np.int64) + self.offset
        r = np.asarray(r, dtype=np.int64) + self.offset
        size = self.lookup.shape[0]
        inside = (q >= 0) & (q < size) & (r >= 0) & (r < size)
        ids = np.full(np.broadcast(q, r).shape, -1, dtype=np.int32)
        ids[inside] = self.lookup[q[inside], r[inside]]
        return ids


@lru_cache(maxsize=1)
def sd1500() -> Array:
    """The 1660-station array (cached; treat the arrays as read-only)."""
    radius = ARRAY_RADIUS_CELLS
    span = np.arange(-radius - 1, radius + 2)
    qq, rr = np.meshgrid(span, span, indexing="ij")
    qq, rr = qq.ravel(), rr.ravel()
    dist = hex_distance(qq, rr)
    inside = dist <= radius
    # 3 extra stations on ring radius+1, on the +x side: (radius+1, -1), (radius+1, -2), (radius+1, -3)
    extra = (qq == radius + 1) & (rr < 0) & (rr >= -(N_STATIONS - int(inside.sum())))
    keep = inside | extra
    q, r = qq[keep], rr[keep]
    order = np.lexsort((q, r))
    q, r = q[order], r[order]
    x, y = axial_to_xy(q, r, SPACING_M)
    offset = radius + 2
    lookup = np.full((2 * offset + 1, 2 * offset + 1), -1, dtype=np.int32)
    lookup[q + offset, r + offset] = np.arange(q.size, dtype=np.int32)
    for arr in (q, r, x, y, lookup):
        arr.setflags(write=False)
    z = np.full(q.size, ALTITUDE_M)
    z.setflags(write=False)
    return Array(q=q, r=r, x=x, y=y, z=z, lookup=lookup, offset=offset)
