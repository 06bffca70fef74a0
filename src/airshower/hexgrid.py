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

Symmetries of the hexagon (the dihedral group D6, 12 elements), numbered k = 0..11:
symmetry k is the rotation by 60 deg * (k % 6) counter-clockwise about the window centre,
preceded for k >= 6 by the reflection y -> -y. On axial offsets and Cartesian (x, y)::

    rotation by 60 deg:   (q, r) -> (-r, q + r)       (x, y) -> (x/2 - sqrt(3)/2 y, sqrt(3)/2 x + y/2)
    reflection y -> -y:   (q, r) -> (q + r, -r)       (x, y) -> (x, -y)

so that axial_to_xy(image of (q, r)) = image of axial_to_xy(q, r). On a window tensor the
cell at offset (dq, dr) from the centre moves to the offset of its image; the G x G square
is a rhombus, not a hexagon, so a cell whose image leaves the window is dropped and a cell
whose preimage lies outside it is filled with ``fill`` (0: StationState.ABSENT, no signal);
cells within hexagonal distance G // 2 of the centre (:func:`hexagon_mask`) are never lost.
Window tensors and vectors may be numpy arrays or torch tensors (torch is never imported
here: a torch tensor is recognised by its type, and index maps are moved to its device).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from airshower.targets import TARGETS

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


# --- windows -------------------------------------------------------------------------------


def check_grid_size(grid_size: int) -> int:
    """``grid_size`` as an int; raises ValueError unless it is odd and >= 1."""
    g = int(grid_size)
    if g < 1 or g % 2 == 0 or g != grid_size:
        raise ValueError(f"window size G must be an odd integer >= 1, got {grid_size!r}")
    return g


def window_offsets(grid_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(dq, dr), each (G, G) int64: the axial offset of every window cell from the centre."""
    g = check_grid_size(grid_size)
    span = np.arange(g, dtype=np.int64) - g // 2
    dq, dr = np.meshgrid(span, span, indexing="ij")
    return dq, dr


def window_cells(q0: np.ndarray, r0: np.ndarray, grid_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Axial cells (q, r) of the windows centred on (q0, r0): shape (*shape(q0), G, G) each."""
    dq, dr = window_offsets(grid_size)
    q0 = np.asarray(q0, dtype=np.int64)[..., None, None]
    r0 = np.asarray(r0, dtype=np.int64)[..., None, None]
    return q0 + dq, r0 + dr


def window_index(dq: np.ndarray, dr: np.ndarray, grid_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window indices (i, j) of axial offsets (dq, dr) from the centre, and whether they lie inside."""
    h = check_grid_size(grid_size) // 2
    i = np.asarray(dq, dtype=np.int64) + h
    j = np.asarray(dr, dtype=np.int64) + h
    inside = (i >= 0) & (i <= 2 * h) & (j >= 0) & (j <= 2 * h)
    return i, j, inside


def neighbours(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The six neighbours of cells (q, r): two arrays of shape (*shape, 6), in :data:`NEIGHBOURS` order."""
    d = np.asarray(NEIGHBOURS, dtype=np.int64)
    return np.asarray(q, dtype=np.int64)[..., None] + d[:, 0], np.asarray(r, dtype=np.int64)[..., None] + d[:, 1]


def window_neighbours(grid_size: int) -> np.ndarray:
    """(G * G, 6) int64: flat window index (i * G + j) of each cell's neighbours, -1 outside the window."""
    g = check_grid_size(grid_size)
    dq, dr = window_offsets(g)
    nq, nr = neighbours(dq.ravel(), dr.ravel())
    i, j, inside = window_index(nq, nr, g)
    return np.where(inside, i * g + j, -1)


def hexagon_mask(grid_size: int) -> np.ndarray:
    """(G, G) bool: cells within hexagonal distance G // 2 of the centre (mapped onto themselves by D6)."""
    dq, dr = window_offsets(grid_size)
    return hex_distance(dq, dr) <= grid_size // 2


# --- the twelve symmetries of the hexagon ----------------------------------------------------

N_SYMMETRIES = 12
_ROT_AXIAL = np.array([[0, -1], [1, 1]], dtype=np.int64)  # (q, r) -> (-r, q + r)
_REF_AXIAL = np.array([[1, 1], [0, -1]], dtype=np.int64)  # (q, r) -> (q + r, -r)


def _check_k(k: int) -> int:
    if int(k) != k or not 0 <= int(k) < N_SYMMETRIES:
        raise ValueError(f"symmetry index must be an integer in 0..{N_SYMMETRIES - 1}, got {k!r}")
    return int(k)


@lru_cache(maxsize=None)
def _axial_matrices() -> np.ndarray:
    mats = []
    for k in range(N_SYMMETRIES):
        m = np.linalg.matrix_power(_ROT_AXIAL, k % 6)
        mats.append(m @ _REF_AXIAL if k >= 6 else m)
    out = np.stack(mats)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def _xy_matrices() -> np.ndarray:
    mats = []
    for k in range(N_SYMMETRIES):
        a = np.pi / 3.0 * (k % 6)
        m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        mats.append(m @ np.diag([1.0, -1.0]) if k >= 6 else m)
    out = np.stack(mats)
    out.setflags(write=False)
    return out


def axial_matrix(k: int) -> np.ndarray:
    """2 x 2 int64 matrix of symmetry ``k`` acting on axial column vectors (q, r)."""
    return _axial_matrices()[_check_k(k)].copy()


def xy_matrix(k: int) -> np.ndarray:
    """2 x 2 float64 matrix of symmetry ``k`` acting on Cartesian column vectors (x, y)."""
    return _xy_matrices()[_check_k(k)].copy()


@lru_cache(maxsize=None)
def _composition_table() -> np.ndarray:
    mats = _axial_matrices()
    table = np.empty((N_SYMMETRIES, N_SYMMETRIES), dtype=np.int64)
    for a in range(N_SYMMETRIES):
        for b in range(N_SYMMETRIES):
            prod = mats[a] @ mats[b]
            table[a, b] = next(c for c in range(N_SYMMETRIES) if np.array_equal(mats[c], prod))
    table.setflags(write=False)
    return table


def compose(a: int, b: int) -> int:
    """The symmetry ``a`` after ``b`` (apply b first, then a)."""
    return int(_composition_table()[_check_k(a), _check_k(b)])


def inverse(k: int) -> int:
    """The symmetry that undoes ``k``."""
    return int(np.flatnonzero(_composition_table()[_check_k(k)] == 0)[0])


def transform_offsets(dq: np.ndarray, dr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Axial offsets (about the window centre) after symmetry ``k``."""
    m = _axial_matrices()[_check_k(k)]
    dq = np.asarray(dq, dtype=np.int64)
    dr = np.asarray(dr, dtype=np.int64)
    return m[0, 0] * dq + m[0, 1] * dr, m[1, 0] * dq + m[1, 1] * dr


def transform_xy(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian (x, y) after symmetry ``k`` (about the origin)."""
    m = _xy_matrices()[_check_k(k)]
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return m[0, 0] * x + m[0, 1] * y, m[1, 0] * x + m[1, 1] * y


@lru_cache(maxsize=None)
def window_sources(grid_size: int) -> np.ndarray:
    """(12, G * G) int64: for symmetry k and each window cell (flat i * G + j) after it, the flat
    index of the cell it comes from, or -1 where that cell lies outside the window."""
    g = check_grid_size(grid_size)
    dq, dr = window_offsets(g)
    out = np.empty((N_SYMMETRIES, g * g), dtype=np.int64)
    for k in range(N_SYMMETRIES):
        sq, sr = transform_offsets(dq.ravel(), dr.ravel(), inverse(k))
        i, j, inside = window_index(sq, sr, g)
        out[k] = np.where(inside, i * g + j, -1)
    out.setflags(write=False)
    return out


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


_TORCH_CACHE: dict[tuple[str, int, str], Any] = {}


def _torch_table(name: str, table: np.ndarray, key: int, like: Any) -> Any:
    """A numpy table as a torch tensor on the device of ``like`` (cached per device)."""
    import torch  # only reached when a torch tensor was passed in

    cache_key = (name, key, str(like.device))
    if cache_key not in _TORCH_CACHE:
        _TORCH_CACHE[cache_key] = torch.tensor(np.array(table), device=like.device)
    return _TORCH_CACHE[cache_key]


def _symmetry_indices(k: Any, batch: int | None) -> tuple[int | None, np.ndarray | Any | None]:
    """(scalar k, None) or (None, per-event ks) after checking range and length.

    The range of per-event indices in a tensor on an accelerator is not checked here: reading
    it back would make the host wait for the device on every call. Such indices must be drawn
    in range (as :meth:`airshower.training.augment.HexSymmetries.draw` does).
    """
    if _is_torch(k):
        if k.ndim == 0:
            return _check_k(int(k)), None
        ks = k
        if ks.device.type == "cpu" and ks.numel() and (int(ks.min()) < 0 or int(ks.max()) >= N_SYMMETRIES):
            raise ValueError(f"symmetry indices must lie in 0..{N_SYMMETRIES - 1}")
    else:
        arr = np.asarray(k)
        if arr.ndim == 0:
            return _check_k(arr.item()), None
        if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() >= N_SYMMETRIES)):
            raise ValueError(f"symmetry indices must be integers in 0..{N_SYMMETRIES - 1}")
        ks = arr.astype(np.int64)
    if ks.ndim != 1 or (batch is not None and ks.shape[0] != batch):
        raise ValueError(f"per-event symmetry indices must have shape ({batch},), got {tuple(ks.shape)}")
    return None, ks


def transform_window(t: Any, k: Any, axis: int = 1, fill: float = 0) -> Any:
    """Window tensor ``t`` after symmetry ``k``: cells moved, those from outside set to ``fill``.

    ``t`` has the window axes (q, r) at ``axis``, ``axis + 1`` (numpy array or torch tensor).
    ``k`` is one symmetry for all, or one per event (integer array/tensor of shape (B,),
    B = size of axis 0, which then must precede the window axes). Values are not changed:
    use :func:`transform_vectors` too for Cartesian cell contents (positions).
    """
    ndim = t.ndim
    axis = axis + ndim if axis < 0 else axis
    if not 0 <= axis < ndim - 1 or t.shape[axis] != t.shape[axis + 1]:
        raise ValueError(f"no G x G window at axes {axis}, {axis + 1} of a tensor of shape {tuple(t.shape)}")
    g = int(t.shape[axis])
    shape = tuple(t.shape)
    flat_shape = shape[:axis] + (g * g,) + shape[axis + 2 :]
    sources = window_sources(g)
    scalar, ks = _symmetry_indices(k, shape[0])
    if scalar is None and axis < 1:
        raise ValueError("per-event symmetries need the event axis (0) before the window axes")
    torch_in = _is_torch(t)
    flat = t.reshape(flat_shape)
    if scalar is not None:
        src = sources[scalar]
        valid = src >= 0
        if torch_in:
            idx = _torch_table("src", np.where(valid, src, 0), (g << 8) | scalar, t)
            out = flat.index_select(axis, idx)
            if not valid.all():
                mask = _torch_table("valid", valid, (g << 8) | scalar, t).reshape(
                    (g * g,) + (1,) * (len(flat_shape) - axis - 1)
                )
                out = out.masked_fill(~mask, fill)
        else:
            out = np.take(flat, np.where(valid, src, 0), axis=axis)
            if not valid.all():
                view = out.reshape(-1, g * g, int(np.prod(shape[axis + 2 :], dtype=np.int64)))
                view[:, ~valid, :] = fill
        return out.reshape(shape)
    # one symmetry per event: gather with the event's index map
    bshape = (shape[0],) + (1,) * (axis - 1) + (g * g,) + (1,) * (len(flat_shape) - axis - 1)
    if torch_in:
        table = _torch_table("sources", sources, g, t)
        src = table[ks.to(table.device).long()]
        valid = (src >= 0).reshape(bshape)
        idx = src.clamp(min=0).reshape(bshape).expand(flat_shape)
        out = flat.gather(axis, idx).masked_fill(~valid.expand(flat_shape), fill)
    else:
        src = sources[ks]
        valid = (src >= 0).reshape(bshape)
        out = np.take_along_axis(flat, np.maximum(src, 0).reshape(bshape), axis=axis)
        out = np.where(valid, out, np.asarray(fill, dtype=out.dtype))
    return out.reshape(shape)


def transform_vectors(v: Any, k: Any) -> Any:
    """Cartesian vectors ``v`` (..., 2) or (..., 3) after symmetry ``k``: x, y transformed, z kept.

    ``k``: one symmetry, or one per event (shape (B,), B = size of axis 0 of ``v``). The
    result has the dtype of ``v`` (numpy array or torch tensor).
    """
    if v.shape[-1] not in (2, 3):
        raise ValueError(f"vectors need a last axis of size 2 or 3, got shape {tuple(v.shape)}")
    scalar, ks = _symmetry_indices(k, v.shape[0] if v.ndim > 1 else None)
    if scalar is None and v.ndim < 2:
        raise ValueError("per-event symmetries need vectors of shape (B, ..., 2|3)")
    mats = _xy_matrices()
    torch_in = _is_torch(v)
    if scalar is not None:
        m = mats[scalar]
        if torch_in:
            m = _torch_table("xy", m, scalar, v).to(v.dtype)
        else:
            m = m.astype(v.dtype if np.issubdtype(v.dtype, np.floating) else np.float64)
        m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    else:
        bshape = (v.shape[0],) + (1,) * (v.ndim - 2)
        if torch_in:
            m = _torch_table("xy_all", mats, -1, v).to(v.dtype)[ks.to(v.device).long()]
        else:
            m = mats[ks].astype(v.dtype if np.issubdtype(v.dtype, np.floating) else np.float64)
        m00, m01, m10, m11 = (m[:, a, b].reshape(bshape) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)))
    x, y = v[..., 0], v[..., 1]
    nx, ny = m00 * x + m01 * y, m10 * x + m11 * y
    if torch_in:
        import torch

        parts = [nx.unsqueeze(-1), ny.unsqueeze(-1)] + ([v[..., 2:]] if v.shape[-1] == 3 else [])
        return torch.cat(parts, dim=-1)
    parts = [nx[..., None], ny[..., None]] + ([v[..., 2:]] if v.shape[-1] == 3 else [])
    return np.concatenate(parts, axis=-1)


WINDOW_FIELDS: tuple[str, ...] = ("traces", "start_time", "state", "position")


def vector_fields() -> tuple[str, ...]:
    """Station positions and every target with window-frame (x, y) components (axis, core)."""
    return ("position", *(name for name, t in TARGETS.items() if t.horizontal))


def transform_fields(
    k: Any,
    fields: Mapping[str, Any],
    window: Collection[str] = WINDOW_FIELDS,
    vectors: Collection[str] | None = None,
    axis: int = 1,
) -> dict[str, Any]:
    """One event set after symmetry ``k``: fields named in ``window`` are moved cell by cell
    (window axes at ``axis``), those named in ``vectors`` rotated/reflected as Cartesian
    vectors (a field in both, like ``position``, gets both), the rest passed through.

    With the defaults (``vectors``: :func:`vector_fields`) this augments the inputs and
    targets of the tensor file (traces, start_time, state, position; axis, core) consistently.
    """
    vectors = vector_fields() if vectors is None else vectors
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in window:
            value = transform_window(value, k, axis=axis)
        if name in vectors:
            value = transform_vectors(value, k)
        out[name] = value
    return out
