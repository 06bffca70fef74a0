"""Which stations an event can touch: lattice offsets around the cell that holds the core.

The lattice is regular, so the stations within a radius R of any core in the cell of
station (q, r) are among (q + dq, r + dr) for a fixed list of offsets: those whose
centre lies within R + the cell's circumradius (spacing / sqrt 3). The simulator works on
this dense (event x offset) set, so no search over the 1660 stations is needed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from airshower.hexgrid import SPACING_M, axial_to_xy


@lru_cache(maxsize=4)
def candidate_offsets(radius_m: float, spacing: float = SPACING_M) -> tuple[np.ndarray, np.ndarray]:
    """Axial offsets (dq, dr) of every cell within ``radius_m`` [m] of some point of the central cell."""
    reach = radius_m + spacing / np.sqrt(3.0)
    n = int(np.ceil(reach / spacing * 2 / np.sqrt(3.0))) + 2
    span = np.arange(-n, n + 1)
    dq, dr = np.meshgrid(span, span, indexing="ij")
    dq, dr = dq.ravel(), dr.ravel()
    x, y = axial_to_xy(dq, dr, spacing)
    keep = np.hypot(x, y) <= reach
    dq, dr = dq[keep], dr[keep]
    for a in (dq, dr):
        a.setflags(write=False)
    return dq, dr
