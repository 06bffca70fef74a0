"""Real station positions on the lattice: an :class:`~airshower.detector.array.Array` from surveyed positions.

The networks address stations by axial lattice cells (:mod:`airshower.hexgrid`, spacing
:data:`~airshower.hexgrid.SPACING_M`); a real array gives station ids and positions in a site
frame (UTM easting/northing, or the local Cartesian frame of the Auger open-data event files),
with the lattice rotated by some angle, offset by some origin, and every station off its
nominal node by tens of metres. :func:`fit_lattice` finds the lattice in such positions:

1. **orientation**: the direction of the lattice rows, from the vectors between stations about
   one spacing apart (0.7 to 1.3 spacings): their angles modulo 60 deg, averaged as angles on
   the circle (mean of 6 x angle), so that the six bond directions agree;
2. **origin**: cell (0, 0) at a reference station (``reference_id``, by default the station
   nearest the median position), then moved by the median residual of all stations from their
   nodes (the reference's own deviation does not shift the lattice);
3. **refinement**: a least-squares rigid fit (rotation and translation, no scale) of the
   stations within the tolerance onto their nodes, three times, re-assigning cells each time;
4. **cells**: each station in the cell whose hexagon holds it (:func:`~airshower.hexgrid.xy_to_axial`).

Refused, each with a :class:`LatticeError` (a ``ValueError``) naming the station id(s): a
station farther than ``tolerance_m`` from its node (with its offset in m), and two stations
in one cell. The default tolerance, :data:`DEFAULT_TOLERANCE_M` = 300 m (a fifth of the
spacing): surveyed SD-1500 stations deviate from the nominal grid by tens of metres, some by
a few hundred (the public station list ``sdMap.csv`` of the Auger open data, as copied in the
public repositories FilipNeubauer/Auger and HenryDayHall/subshowers: 1640 ids in 1610 cells,
fitted with this module: median 7 m, 90% within 26 m, 99% within 110 m, the farthest 240 m),
while a station 750 m off would lie on the boundary between two cells, where the SD-750
infill stations between the SD-1500 nodes sit (750 m from the nearest node): they never pass.
The scale is not fitted: a site frame whose scale differs from metres by 6e-4 (UTM against
the Auger site frame) moves the edge of a 25-cell array by about 20 m, well inside the
tolerance.

The array frame: positions rotated by ``-angle`` about the origin so that lattice rows run
along +x, and shifted so that the origin is (0, 0); :meth:`LatticeFit.to_array_frame` maps
any other site position (a station of one event, a core) into it. The Array keeps the real
positions of the stations in that frame (not the nominal nodes), so that relative positions
in the windows are the real ones; z is kept as given.

:func:`array_from_cells` builds an Array for any set of cells (the lookup table of
:func:`~airshower.detector.array.sd1500` assumes a hexagon of radius 23 around the origin;
here its half-size is the largest |q| or |r| plus 2, the same margin).

For data sources whose events carry the stations' real positions (the Auger open data, events
files of other simulations with ``positions: site``), two steps:

* :func:`fit_sightings`: the lattice from *sightings*, (id, x, y, z) of every station in every
  event: each id at its median position over its sightings (:func:`station_medians`), then
  :func:`fit_lattice`;
* :meth:`LatticeFit.place`: one event's (or one chunk's) stations on the fitted array: array
  index and array-frame (x, y); a station whose id is not on the array, or that lies in another
  cell or beyond the tolerance from its node in this event (moved, or a bad position), raises
  :class:`LatticeError` with the offending ``row``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from airshower.detector.array import Array
from airshower.hexgrid import SPACING_M, axial_to_xy, xy_to_axial

DEFAULT_TOLERANCE_M = 300.0
NEIGHBOUR_RANGE = (0.7, 1.3)  # vectors of this many spacings count as lattice bonds for the orientation
_REFINE_STEPS = 3
_BLOCK = 1024  # rows of the pairwise-distance blocks (memory bound for large arrays)


class LatticeError(ValueError):
    """Station positions that cannot be put on the lattice; names the station(s).

    ``station_ids``: the real ids concerned; ``offset_m``: the offset from the node [m] (for a
    station off the lattice), else NaN; ``row``: for :meth:`LatticeFit.place`, the index of the
    offending station in the arrays given (so that the caller can name its file and event),
    else None.
    """

    def __init__(
        self, message: str, station_ids: tuple[int, ...] = (), offset_m: float = float("nan"), row: int | None = None
    ) -> None:
        super().__init__(message)
        self.station_ids = tuple(int(s) for s in station_ids)
        self.offset_m = float(offset_m)
        self.row = None if row is None else int(row)


def array_from_cells(q: np.ndarray, r: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> Array:
    """An :class:`Array` whose station ``i`` sits in cell (q[i], r[i]) at (x[i], y[i], z[i]) [m].

    Any set of distinct cells: the lookup table spans the largest |q| or |r| plus a margin of 2
    (as :func:`~airshower.detector.array.sd1500` does). Raises :class:`LatticeError` for
    two stations in one cell. The arrays are copied and made read-only.
    """
    q = np.array(q, dtype=np.int64).ravel()
    r = np.array(r, dtype=np.int64).ravel()
    x = np.array(x, dtype=np.float64).ravel()
    y = np.array(y, dtype=np.float64).ravel()
    z = np.array(z, dtype=np.float64).ravel()
    n = q.size
    if not all(a.size == n for a in (r, x, y, z)):
        raise ValueError(f"array_from_cells: q, r, x, y, z differ in length ({[a.size for a in (q, r, x, y, z)]})")
    offset = int(max(np.abs(q).max(initial=0), np.abs(r).max(initial=0))) + 2
    size = 2 * offset + 1
    lookup = np.full((size, size), -1, dtype=np.int32)
    flat = (q + offset) * size + (r + offset)
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if dup.size:
        a, b = int(order[dup[0]]), int(order[dup[0] + 1])
        raise LatticeError(f"stations {a} and {b} share lattice cell ({int(q[a])}, {int(r[a])})", (a, b))
    lookup[q + offset, r + offset] = np.arange(n, dtype=np.int32)
    for arr in (q, r, x, y, z, lookup):
        arr.setflags(write=False)
    return Array(q=q, r=r, x=x, y=y, z=z, lookup=lookup, offset=offset)


def _rotate(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(angle), np.sin(angle)
    return c * x - s * y, s * x + c * y


def lattice_angle(x: np.ndarray, y: np.ndarray, spacing: float = SPACING_M) -> float:
    """Direction [rad] of the lattice rows in (-pi/6, pi/6], from station pairs about one spacing apart.

    The angle of every such bond modulo 60 deg, averaged on the circle (the mean of 6 x angle).
    Raises :class:`LatticeError` when no two stations are about one spacing apart.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lo2, hi2 = (NEIGHBOUR_RANGE[0] * spacing) ** 2, (NEIGHBOUR_RANGE[1] * spacing) ** 2
    sin6 = cos6 = 0.0
    pairs = 0
    for start in range(0, x.size, _BLOCK):
        bx, by = x[start:start + _BLOCK, None], y[start:start + _BLOCK, None]
        dx, dy = x[None, :] - bx, y[None, :] - by
        d2 = dx * dx + dy * dy
        i, j = np.nonzero((d2 >= lo2) & (d2 <= hi2))
        keep = (i + start) < j  # each pair once
        a6 = 6.0 * np.arctan2(dy[i[keep], j[keep]], dx[i[keep], j[keep]])
        sin6 += float(np.sin(a6).sum())
        cos6 += float(np.cos(a6).sum())
        pairs += int(keep.sum())
    if pairs == 0:
        raise LatticeError(
            f"cannot find the lattice orientation: no two of the {x.size} stations are "
            f"{NEIGHBOUR_RANGE[0] * spacing:.0f}-{NEIGHBOUR_RANGE[1] * spacing:.0f} m apart"
        )
    angle = np.arctan2(sin6, cos6) / 6.0
    return float(angle if angle > -np.pi / 6 else angle + np.pi / 3)


@dataclass(frozen=True)
class LatticeFit:
    """The stations on the lattice: the :class:`Array` and how the site frame maps onto it.

    ``station_ids``: (n,) int64, the real id of every array index (indices sorted by (r, q) as
    in :func:`~airshower.detector.array.sd1500`; the smallest id where stations share a cell,
    :func:`fit_lattice` ``shared_cells="merge"``); ``angle_rad``: direction of the lattice rows
    in the site frame; ``origin``: site-frame position of cell (0, 0); ``offset_m``: (n,) each
    station's distance from its node [m]; ``spacing``: the lattice spacing [m]; ``tolerance_m``:
    the tolerance of the fit, the default of :meth:`place`. Array frame = site frame rotated by
    ``-angle_rad`` about ``origin``, ``origin`` at (0, 0).
    """

    array: Array
    station_ids: np.ndarray
    angle_rad: float
    origin: tuple[float, float]
    offset_m: np.ndarray
    spacing: float = SPACING_M
    tolerance_m: float = DEFAULT_TOLERANCE_M
    _sorted: tuple[np.ndarray, np.ndarray] = field(repr=False, compare=False, default=(np.zeros(0), np.zeros(0)))

    @property
    def index(self) -> dict[int, int]:
        """Real station id -> array index (every id, merged ones included)."""
        keys, index = self._sorted
        return {int(s): int(i) for s, i in zip(keys, index)}

    def indices(self, ids: np.ndarray) -> np.ndarray:
        """Array index of each real id (int64), -1 where the id is not on the array."""
        keys, index = self._sorted
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(ids.shape, -1, dtype=np.int64)
        if keys.size:
            pos = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
            hit = keys[pos] == ids
            out[hit] = index[pos[hit]]
        return out

    def to_array_frame(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Site-frame positions [m] in the array frame (the frame of :attr:`array`)."""
        x = np.asarray(x, dtype=np.float64) - self.origin[0]
        y = np.asarray(y, dtype=np.float64) - self.origin[1]
        return _rotate(x, y, -self.angle_rad)

    def place(
        self, ids: np.ndarray, x: np.ndarray, y: np.ndarray, tolerance_m: float | None = None
    ) -> Placement:
        """Stations ``ids`` seen at site positions (x, y) [m] (one event, or the stations of
        several events one after the other) on the array: their :class:`Placement`.

        Raises :class:`LatticeError` (``row``: the index of the station in ``ids``; the first
        such) for an id that is not on the array ("station <id> is not on the dataset's array"),
        and for a station that lies in another cell than the array's or farther than
        ``tolerance_m`` (default: the fit's) from its node ("station <id>: at (x, y) m it lies
        <d> m from the lattice node of cell (q, r); the dataset puts it in cell (q', r')
        (tolerance <t> m)", ``offset_m``: d), as a station moved in one event would. The
        messages name no file: the caller prefixes where the row came from.
        """
        tolerance = self.tolerance_m if tolerance_m is None else float(tolerance_m)
        ids = np.asarray(ids, dtype=np.int64).ravel()
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if not (x.size == ids.size and y.size == ids.size):
            raise ValueError(f"place: ids, x, y differ in length ({ids.size}, {x.size}, {y.size})")
        index = self.indices(ids)
        unknown = np.flatnonzero(index < 0)
        if unknown.size:
            s = int(unknown[0])
            raise LatticeError(f"station {int(ids[s])} is not on the dataset's array", (int(ids[s]),), row=s)
        ax, ay = self.to_array_frame(x, y)
        q, r = xy_to_axial(ax, ay, self.spacing)
        nx, ny = axial_to_xy(q, r, self.spacing)
        offset = np.hypot(ax - nx, ay - ny)
        arr = self.array
        moved = np.flatnonzero((q != arr.q[index]) | (r != arr.r[index]) | ~(offset <= tolerance))
        if moved.size:
            s = int(moved[0])
            raise LatticeError(
                f"station {int(ids[s])}: at ({x[s]:.0f}, {y[s]:.0f}) m it lies {offset[s]:.0f} m from the lattice "
                f"node of cell ({int(q[s])}, {int(r[s])}); the dataset puts it in cell "
                f"({int(arr.q[index[s]])}, {int(arr.r[index[s]])}) (tolerance {tolerance:.0f} m)",
                (int(ids[s]),),
                float(offset[s]),
                row=s,
            )
        return Placement(index, ax, ay, offset)


class Placement(NamedTuple):
    """Stations placed on a fitted array (:meth:`LatticeFit.place`), one entry per station given.

    ``index``: array index (int64); ``x``, ``y``: position in the array frame [m] (float64);
    ``offset_m``: distance from the node of its cell [m].
    """

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    offset_m: np.ndarray


def _kabsch(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> tuple[float, float, float]:
    """Rotation angle and translation (tx, ty) of the rigid map taking points a onto b (least squares)."""
    max_, may, mbx, mby = ax.mean(), ay.mean(), bx.mean(), by.mean()
    cx, cy, dx, dy = ax - max_, ay - may, bx - mbx, by - mby
    angle = float(np.arctan2(np.sum(cx * dy - cy * dx), np.sum(cx * dx + cy * dy)))
    rx, ry = _rotate(np.array(max_), np.array(may), angle)
    return angle, float(mbx - rx), float(mby - ry)


def fit_lattice(
    ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    spacing: float = SPACING_M,
    reference_id: int | None = None,
    shared_cells: str = "refuse",
) -> LatticeFit:
    """Put stations ``ids`` at site positions (x, y, z) [m] on the lattice (module docstring).

    ``shared_cells``: ``"refuse"`` (default) raises :class:`LatticeError` for two stations in
    one cell (both ids and the cell); ``"merge"`` makes them one station of the array (aliases:
    every id maps to the cell's index, the array position is their mean, :attr:`LatticeFit.station_ids`
    holds the smallest id). The real array has such pairs: the public station list of the Auger
    open data puts about 30 pairs of ids within tens of metres of one node (stations replaced
    under a new id, and the twin stations of the accuracy studies).

    Raises :class:`LatticeError` naming the station for one farther than ``tolerance_m`` from
    its node (with the offset), and ``ValueError`` for malformed input (lengths, non-finite
    positions, repeated ids, an unknown ``shared_cells``).
    """
    if shared_cells not in ("refuse", "merge"):
        raise ValueError(f"fit_lattice: shared_cells must be 'refuse' or 'merge', got {shared_cells!r}")
    ids = np.asarray(ids, dtype=np.int64).ravel()
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    z = np.asarray(z, dtype=np.float64).ravel()
    n = ids.size
    if n == 0:
        raise ValueError("fit_lattice: no stations")
    if not all(a.size == n for a in (x, y, z)):
        raise ValueError(f"fit_lattice: ids, x, y, z differ in length ({[a.size for a in (ids, x, y, z)]})")
    if not (tolerance_m > 0 and spacing > 0):
        raise ValueError(f"fit_lattice: tolerance_m and spacing must be positive, got {tolerance_m}, {spacing}")
    bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y) & np.isfinite(z)))
    if bad.size:
        raise LatticeError(f"station {int(ids[bad[0]])} has a non-finite position", (int(ids[bad[0]]),))
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise LatticeError(f"station id {int(uniq[counts > 1][0])} is given twice", (int(uniq[counts > 1][0]),))

    if reference_id is not None:
        where = np.flatnonzero(ids == int(reference_id))
        if where.size == 0:
            raise ValueError(f"fit_lattice: reference station {reference_id} is not among the stations")
        ref = int(where[0])
    else:
        ref = int(np.argmin(np.hypot(x - np.median(x), y - np.median(y))))
    angle = lattice_angle(x, y, spacing) if n > 1 else 0.0
    # array frame: R(-angle) p + c
    cx, cy = _rotate(np.array(-x[ref]), np.array(-y[ref]), -angle)
    cx, cy = float(cx), float(cy)

    def frame(angle: float, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
        u, v = _rotate(x, y, -angle)
        return u + cx, v + cy

    for _ in range(2):  # origin: median residual from the nodes
        u, v = frame(angle, cx, cy)
        nx, ny = axial_to_xy(*xy_to_axial(u, v, spacing), spacing)
        cx -= float(np.median(u - nx))
        cy -= float(np.median(v - ny))
    for _ in range(_REFINE_STEPS):  # rigid least-squares fit of the stations within tolerance
        u, v = frame(angle, cx, cy)
        nx, ny = axial_to_xy(*xy_to_axial(u, v, spacing), spacing)
        inside = np.hypot(u - nx, v - ny) <= tolerance_m
        if inside.sum() < 2:
            break
        d_angle, tx, ty = _kabsch(u[inside], v[inside], nx[inside], ny[inside])
        rcx, rcy = _rotate(np.array(cx), np.array(cy), d_angle)
        angle, cx, cy = angle - d_angle, float(rcx) + tx, float(rcy) + ty

    u, v = frame(angle, cx, cy)
    q, r = xy_to_axial(u, v, spacing)
    nx, ny = axial_to_xy(q, r, spacing)
    offset = np.hypot(u - nx, v - ny)
    far = np.flatnonzero(offset > tolerance_m)
    if far.size:
        s = int(far[np.argmax(offset[far])])
        raise LatticeError(
            f"station {int(ids[s])} lies {offset[s]:.0f} m from its lattice node (cell ({int(q[s])}, {int(r[s])})), "
            f"more than the tolerance of {tolerance_m:.0f} m"
            + (f" ({far.size} stations are)" if far.size > 1 else ""),
            (int(ids[s]),),
            float(offset[s]),
        )
    # cells in (r, q) order, as sd1500(); stations of one cell share it (merge) or are refused
    cells, first, inverse, members = np.unique(
        np.stack([r, q], axis=1), axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    if (members > 1).any() and shared_cells != "merge":
        c = int(np.flatnonzero(members > 1)[0])
        a, b = (int(i) for i in np.flatnonzero(inverse == c)[:2])
        raise LatticeError(
            f"stations {int(ids[a])} and {int(ids[b])} fall into the same lattice cell ({int(q[a])}, {int(r[a])}): "
            f"{offset[a]:.0f} m and {offset[b]:.0f} m from its node",
            (int(ids[a]), int(ids[b])),
        )
    k = cells.shape[0]
    weight = np.bincount(inverse, minlength=k).astype(np.float64)
    cu, cv, cz = (np.bincount(inverse, weights=w, minlength=k) / weight for w in (u, v, z))
    array = array_from_cells(cells[:, 1], cells[:, 0], cu, cv, cz)
    canonical = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(canonical, inverse, ids)  # the smallest real id of each cell
    canonical.setflags(write=False)
    nx, ny = axial_to_xy(cells[:, 1], cells[:, 0], spacing)
    off = np.hypot(cu - nx, cv - ny)
    off.setflags(write=False)
    sort = np.argsort(ids)
    # cell (0, 0) in the site frame: p with R(-angle) p + c = 0
    ox, oy = _rotate(np.array(-cx), np.array(-cy), angle)
    return LatticeFit(
        array=array,
        station_ids=canonical,
        angle_rad=float(angle),
        origin=(float(ox), float(oy)),
        offset_m=off,
        spacing=float(spacing),
        tolerance_m=float(tolerance_m),
        _sorted=(ids[sort], inverse[sort].astype(np.int64)),
    )


def station_medians(
    ids: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, x, y, z): every distinct id of the sightings (ascending) at its median position.

    ``ids``, ``x``, ``y``, ``z``: one entry per sighting, a station in an event (any number of
    sightings per id). The median per coordinate (the mean of the two middle values for an
    even count, as :func:`numpy.median`), so that a station moved or mis-measured in a few
    events keeps its usual position. ValueError for arrays of different lengths.
    """
    ids = np.asarray(ids, dtype=np.int64).ravel()
    cols = [np.asarray(c, dtype=np.float64).ravel() for c in (x, y, z)]
    if not all(c.size == ids.size for c in cols):
        raise ValueError(f"station_medians: ids, x, y, z differ in length ({[a.size for a in (ids, *cols)]})")
    uniq, count = np.unique(ids, return_counts=True)
    start = np.cumsum(count) - count  # first sighting of each id once sorted by id
    lo, hi = start + (count - 1) // 2, start + count // 2
    out = []
    for c in cols:
        v = c[np.lexsort((c, ids))]  # by id, then by value
        out.append(0.5 * (v[lo] + v[hi]))
    return uniq, out[0], out[1], out[2]


def fit_sightings(
    ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    spacing: float = SPACING_M,
    shared_cells: str = "refuse",
) -> LatticeFit:
    """The lattice of the stations seen in a dataset's events: :func:`fit_lattice` of each
    station id at its median position over its sightings (:func:`station_medians`).

    ``ids``, ``x``, ``y``, ``z``: one entry per station per event [m, site frame]. Errors as
    :func:`fit_lattice` (:class:`LatticeError` naming the station ids: the caller adds the
    files they came from); ValueError for no sightings.
    """
    uniq, mx, my, mz = station_medians(ids, x, y, z)
    if uniq.size == 0:
        raise ValueError("fit_sightings: no stations")
    return fit_lattice(uniq, mx, my, mz, tolerance_m=tolerance_m, spacing=spacing, shared_cells=shared_cells)
