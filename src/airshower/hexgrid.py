"""Axial coordinates of the triangular station lattice (the hexagonal grid of the SD-1500).

Addressing convention (used by the array, the converter, the windows and the hexagonal
convolution alike)::

    Cartesian position of cell (q, r), spacing d = 1500 m:
        x = d * (q + r / 2)
        y = d * (sqrt(3) / 2) * r

    The six neighbours of (q, r), counter-clockwise from +x:
        (q+1, r)  (q, r+1)  (q-1, r+1)  (q-1, r)  (q, r-1)  (q+1, r-1)

              (q-1,r+1)  (q,r+1)
           (q-1,r)   (q,r)   (q+1,r)
                (q,r-1)  (q+1,r-1)

    A window tensor of G x G cells stores cell (q, r) at index
    [..., q - q0 + G//2, r - r0 + G//2, ...]: the first window axis is q, the second is r,
    and the centre cell (q0, r0) is the hottest station. In the (q, r) square of the
    tensor, a cell's neighbours are the 3 x 3 block minus the corners (+1, +1), (-1, -1).

Hexagonal distance: (|dq| + |dr| + |dq + dr|) / 2.
"""

from __future__ import annotations

import numpy as np

SPACING_M = 1500.0
SQRT3_2 = np.sqrt(3.0) / 2.0

# (dq, dr) of the six neighbours, counter-clockwise starting at +x (angle 0, 60, ..., 300 deg)
NEIGHBOURS: tuple[tuple[int, int], ...] = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))


def axial_to_xy(q: np.ndarray, r: np.ndarray, spacing: float = SPACING_M) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian position [m] of axial cells (q, r) on a lattice of ``spacing`` [m]."""
    q = np.asarray(q, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    return spacing * (q + 0.5 * r), spacing * SQRT3_2 * r


def xy_to_axial(x: np.ndarray, y: np.ndarray, spacing: float = SPACING_M) -> tuple[np.ndarray, np.ndarray]:
    """The axial cell (q, r) whose hexagon contains the point (x, y) [m] (cube rounding)."""
    r_f = np.asarray(y, dtype=np.float64) / (spacing * SQRT3_2)
    q_f = np.asarray(x, dtype=np.float64) / spacing - 0.5 * r_f
    s_f = -q_f - r_f
    q, r, s = np.rint(q_f), np.rint(r_f), np.rint(s_f)
    dq, dr, ds = np.abs(q - q_f), np.abs(r - r_f), np.abs(s - s_f)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def hex_distance(dq: np.ndarray, dr: np.ndarray) -> np.ndarray:
    """Number of lattice steps between cells separated by (dq, dr)."""
    dq = np.asarray(dq)
    dr = np.asarray(dr)
    return (np.abs(dq) + np.abs(dr) + np.abs(dq + dr)) // 2
