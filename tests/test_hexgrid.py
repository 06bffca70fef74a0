"""Axial windows, neighbours and the twelve symmetries of the hexagon (numpy and torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from airshower import hexgrid as hg
from airshower.hexgrid import (
    N_SYMMETRIES,
    NEIGHBOURS,
    axial_to_xy,
    compose,
    hex_distance,
    hexagon_mask,
    inverse,
    neighbours,
    transform_fields,
    transform_offsets,
    transform_vectors,
    transform_window,
    transform_xy,
    window_cells,
    window_index,
    window_neighbours,
    window_offsets,
    window_sources,
)

# Window of G = 3 holding 1..9 at [i, j] = 3 i + j + 1 (i: q index, j: r index), by hand:
# rotation by 60 deg: the cell at offset d comes from R^-1 d = (dq + dr, -dq);
# reflection y -> -y: from (dq + dr, -dr); '0' where the source lies outside the window.
WINDOW3 = np.arange(1, 10).reshape(3, 3)
ROTATED3 = np.array([[0, 3, 6], [2, 5, 8], [4, 7, 0]])
REFLECTED3 = np.array([[0, 2, 4], [3, 5, 7], [6, 8, 0]])
NEIGHBOUR_COUNT3 = np.array([[2, 4, 3], [4, 6, 4], [3, 4, 2]])


def test_neighbour_counts_golden_3x3() -> None:
    counts = (window_neighbours(3) >= 0).sum(axis=1).reshape(3, 3)
    np.testing.assert_array_equal(counts, NEIGHBOUR_COUNT3)


def test_neighbour_counts_interior_and_edges_13() -> None:
    g = 13
    counts = (window_neighbours(g) >= 0).sum(axis=1).reshape(g, g)
    assert (counts[1:-1, 1:-1] == 6).all()
    # corners: (0, 0) and (G-1, G-1) lack the (-1, -1)/(+1, +1)-side neighbours
    assert counts[0, 0] == 2 and counts[-1, -1] == 2
    assert counts[0, -1] == 3 and counts[-1, 0] == 3
    edges = np.concatenate([counts[0, 1:-1], counts[-1, 1:-1], counts[1:-1, 0], counts[1:-1, -1]])
    assert (edges == 4).all()


def test_window_neighbours_point_at_adjacent_cells() -> None:
    g = 5
    table = window_neighbours(g)
    dq, dr = window_offsets(g)
    dq, dr = dq.ravel(), dr.ravel()
    for cell in range(g * g):
        for slot, target in enumerate(table[cell]):
            if target >= 0:
                assert (dq[target] - dq[cell], dr[target] - dr[cell]) == NEIGHBOURS[slot]
                assert hex_distance(dq[target] - dq[cell], dr[target] - dr[cell]) == 1


def test_neighbours_lie_at_60_degree_steps_counter_clockwise() -> None:
    nq, nr = neighbours(np.array(0), np.array(0))
    x, y = axial_to_xy(nq, nr, spacing=1.0)
    angles = np.degrees(np.arctan2(y, x)) % 360
    np.testing.assert_allclose(angles, [0, 60, 120, 180, 240, 300], atol=1e-9)
    np.testing.assert_allclose(np.hypot(x, y), 1.0)


def test_window_cells_and_index() -> None:
    q, r = window_cells(np.array([4, -2]), np.array([1, 7]), 5)
    assert q.shape == (2, 5, 5)
    assert (q[0, 2, 2], r[0, 2, 2]) == (4, 1) and (q[1, 2, 2], r[1, 2, 2]) == (-2, 7)
    assert (q[0, 0, 4], r[0, 0, 4]) == (2, 3)
    i, j, inside = window_index(np.array([-2, 2, 3, 0]), np.array([0, -2, 0, -3]), 5)
    np.testing.assert_array_equal(inside, [True, True, False, False])
    np.testing.assert_array_equal(i[:2], [0, 4])
    np.testing.assert_array_equal(j[:2], [2, 0])


@pytest.mark.parametrize("bad", [0, 4, -3, 2.5])
def test_even_or_bad_window_size_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="odd"):
        window_offsets(bad)  # type: ignore[arg-type]


def test_golden_rotation_and_reflection_3x3() -> None:
    np.testing.assert_array_equal(transform_window(WINDOW3[None], 1)[0], ROTATED3)
    np.testing.assert_array_equal(transform_window(WINDOW3[None], 6)[0], REFLECTED3)
    t = torch.as_tensor(WINDOW3)[None]
    np.testing.assert_array_equal(transform_window(t, 1)[0].numpy(), ROTATED3)
    np.testing.assert_array_equal(transform_window(t, torch.tensor([6]))[0].numpy(), REFLECTED3)


def test_six_rotations_and_two_reflections_are_the_identity() -> None:
    dq, dr = (a.ravel() for a in window_offsets(9))
    q, r = dq, dr
    for _ in range(6):
        q, r = transform_offsets(q, r, 1)
    np.testing.assert_array_equal((q, r), (dq, dr))
    q, r = transform_offsets(*transform_offsets(dq, dr, 6), 6)
    np.testing.assert_array_equal((q, r), (dq, dr))
    k = 0
    for _ in range(6):
        k = compose(1, k)
    assert k == 0
    assert compose(6, 6) == 0
    # on a window, the cells of the inscribed hexagon survive six rotations unchanged
    rng = np.random.default_rng(1)
    t = rng.normal(size=(2, 9, 9, 4))
    out = t
    for _ in range(6):
        out = transform_window(out, 1)
    mask = hexagon_mask(9)
    np.testing.assert_array_equal(out[:, mask], t[:, mask])


def test_twelve_distinct_symmetries_forming_a_group() -> None:
    mats = [hg.axial_matrix(k) for k in range(N_SYMMETRIES)]
    assert len({m.tobytes() for m in mats}) == 12
    assert len({row.tobytes() for row in window_sources(7)}) == 12
    for a in range(N_SYMMETRIES):
        assert compose(a, inverse(a)) == 0 and compose(inverse(a), a) == 0
        for b in range(N_SYMMETRIES):
            np.testing.assert_array_equal(hg.axial_matrix(compose(a, b)), mats[a] @ mats[b])
            np.testing.assert_allclose(hg.xy_matrix(compose(a, b)), hg.xy_matrix(a) @ hg.xy_matrix(b), atol=1e-12)
    # composing on offsets equals the composed symmetry, and windows compose alike on the hexagon
    dq, dr = (a.ravel() for a in window_offsets(7))
    t = np.random.default_rng(2).normal(size=(1, 7, 7))
    mask = hexagon_mask(7)
    for a, b in [(1, 7), (8, 3), (11, 11), (5, 2)]:
        np.testing.assert_array_equal(
            transform_offsets(*transform_offsets(dq, dr, b), a), transform_offsets(dq, dr, compose(a, b))
        )
        np.testing.assert_array_equal(
            transform_window(transform_window(t, b), a)[:, mask], transform_window(t, compose(a, b))[:, mask]
        )


def rotate_by_hand(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetry k written out: reflect y -> -y if k >= 6, then rotate by 60 deg * (k % 6)."""
    if k >= 6:
        y = -y
    a = np.radians(60.0 * (k % 6))
    return np.cos(a) * x - np.sin(a) * y, np.sin(a) * x + np.cos(a) * y


@pytest.mark.parametrize("k", range(N_SYMMETRIES))
def test_axial_and_cartesian_actions_agree(k: int) -> None:
    dq, dr = (a.ravel() for a in window_offsets(13))
    x, y = axial_to_xy(dq, dr)
    xk, yk = rotate_by_hand(x, y, k)
    np.testing.assert_allclose(transform_xy(x, y, k), (xk, yk), atol=1e-9)
    qk, rk = transform_offsets(dq, dr, k)
    np.testing.assert_allclose(axial_to_xy(qk, rk), (xk, yk), atol=1e-6)
    np.testing.assert_array_equal(hex_distance(qk, rk), hex_distance(dq, dr))


@pytest.mark.parametrize("k", [1, 2, 4, 7, 10])
def test_window_moves_a_station_to_its_rotated_position(k: int) -> None:
    g = 7
    h = g // 2
    for dq, dr in [(1, 0), (2, -1), (-1, 3), (0, -2)]:
        t = np.zeros((1, g, g))
        t[0, dq + h, dr + h] = 1.0
        out = transform_window(t, k)
        x, y = rotate_by_hand(*axial_to_xy(dq, dr), k)
        target_q, target_r = hg.xy_to_axial(x, y)
        assert out.sum() == 1.0
        assert out[0, int(target_q) + h, int(target_r) + h] == 1.0


def test_cells_from_outside_are_absent_and_hexagon_is_kept() -> None:
    g = 5
    t = np.full((1, g, g), 7, dtype=np.int8)
    mask = hexagon_mask(g)
    assert mask.sum() == 19  # 3 * 2 * 3 + 1 cells within distance 2
    for k in range(N_SYMMETRIES):
        out = transform_window(t, k, fill=0)
        assert (out[0][mask] == 7).all()
        moved_in = window_sources(g)[k].reshape(g, g) < 0
        assert (out[0][moved_in] == 0).all()
        assert (out[0][~moved_in] == 7).all()
    assert (transform_window(t, 0) == t).all()


def test_per_event_symmetries_match_single_ones_numpy_and_torch() -> None:
    rng = np.random.default_rng(3)
    t = rng.normal(size=(12, 5, 5, 3)).astype(np.float32)
    v = rng.normal(size=(12, 5, 5, 3)).astype(np.float32)
    ks = np.arange(12)[::-1].copy()
    out = transform_window(t, ks)
    vec = transform_vectors(v, ks)
    out_t = transform_window(torch.from_numpy(t), torch.from_numpy(ks))
    vec_t = transform_vectors(torch.from_numpy(v), torch.from_numpy(ks))
    for b, k in enumerate(ks):
        np.testing.assert_array_equal(out[b], transform_window(t[b : b + 1], int(k))[0])
        np.testing.assert_allclose(vec[b], transform_vectors(v[b], int(k)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(out_t.numpy(), out)
    np.testing.assert_allclose(vec_t.numpy(), vec, rtol=1e-6, atol=1e-6)
    assert vec.dtype == np.float32 and vec_t.dtype == torch.float32


def test_vectors_rotate_xy_and_keep_z() -> None:
    v = np.array([[1.0, 0.0, 0.5], [0.0, 2.0, -1.0]])
    out = transform_vectors(v, 1)
    np.testing.assert_allclose(out[0], [0.5, np.sqrt(3) / 2, 0.5])
    np.testing.assert_allclose(out[1], [-np.sqrt(3), 1.0, -1.0])
    np.testing.assert_allclose(transform_vectors(v[:, :2], 6), [[1.0, 0.0], [0.0, -2.0]])
    np.testing.assert_allclose(np.linalg.norm(transform_vectors(v, 9), axis=1), np.linalg.norm(v, axis=1))
    with pytest.raises(ValueError, match="size 2 or 3"):
        transform_vectors(np.zeros((2, 4)), 1)
    with pytest.raises(ValueError, match="0..11"):
        transform_vectors(v, 12)


def test_transform_fields_keeps_positions_on_the_lattice() -> None:
    """Rotating window and position vectors together puts each cell's position where its new cell is."""
    g = 7
    dq, dr = window_offsets(g)
    x, y = axial_to_xy(dq, dr)
    position = np.stack([x, y, np.full_like(x, 3.0)], axis=-1)[None].astype(np.float32)
    state = np.full((1, g, g), 2, dtype=np.int8)
    fields = {"position": position, "state": state, "axis": np.array([[0.6, 0.0, 0.8]]), "xmax": np.array([700.0])}
    for k in range(N_SYMMETRIES):
        out = transform_fields(k, fields)
        kept = out["state"][0] == 2
        np.testing.assert_allclose(out["position"][0][kept][:, 0], x[kept], atol=0.05)
        np.testing.assert_allclose(out["position"][0][kept][:, 1], y[kept], atol=0.05)
        assert (out["position"][0][~kept] == 0).all()
        np.testing.assert_allclose(out["axis"], transform_vectors(fields["axis"], k))
        assert out["xmax"] is fields["xmax"]


def test_per_event_indices_out_of_range_are_refused_on_the_cpu() -> None:
    t = torch.zeros(2, 3, 3)
    for bad in ([0, 12], [-1, 0]):
        with pytest.raises(ValueError, match="0..11"):
            transform_window(t, torch.tensor(bad))
        with pytest.raises(ValueError, match="0..11"):
            transform_vectors(torch.zeros(2, 3), torch.tensor(bad))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_per_event_symmetries_on_cuda_match_the_cpu() -> None:
    rng = np.random.default_rng(4)
    t = torch.from_numpy(rng.normal(size=(12, 5, 5, 3)).astype(np.float32))
    ks = torch.arange(12).flip(0)
    for fn in (transform_window, transform_vectors):
        torch.testing.assert_close(fn(t.cuda(), ks.cuda()).cpu(), fn(t, ks))
