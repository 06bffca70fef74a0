"""Real station positions on the lattice (airshower.detector.positions)."""

from __future__ import annotations

import numpy as np
import pytest

from airshower.detector.array import sd1500
from airshower.detector.positions import (
    DEFAULT_TOLERANCE_M,
    LatticeError,
    array_from_cells,
    fit_lattice,
    fit_sightings,
    lattice_angle,
    station_medians,
)
from airshower.hexgrid import SPACING_M, axial_to_xy, transform_offsets, xy_to_axial

UTM = (469_000.0, 6_091_000.0)  # a UTM-like offset (easting, northing) [m]


def _site(angle_deg: float, jitter_m: float, seed: int = 1):
    """The SD-1500 stations rotated by ``angle_deg``, shifted to UTM-like coordinates and jittered."""
    arr = sd1500()
    rng = np.random.default_rng(seed)
    a = np.radians(angle_deg)
    x = arr.x + rng.normal(0.0, jitter_m, arr.n)
    y = arr.y + rng.normal(0.0, jitter_m, arr.n)
    ids = 100 + 3 * np.arange(arr.n)  # real ids: not the indices
    sx, sy = np.cos(a) * x - np.sin(a) * y + UTM[0], np.sin(a) * x + np.cos(a) * y + UTM[1]
    return ids, sx, sy, 1400.0 + rng.normal(0, 20, arr.n)


def test_rotated_shifted_jittered_sd1500_maps_back_to_its_cells() -> None:
    arr = sd1500()
    ids, x, y, z = _site(17.0, 30.0)
    fit = fit_lattice(ids, x, y, z)
    assert np.degrees(fit.angle_rad) == pytest.approx(17.0, abs=0.1)
    assert fit.array.n == arr.n
    index = fit.indices(ids)
    station = (ids - 100) // 3  # the sd1500 index each real id was made from
    np.testing.assert_array_equal(fit.array.q[index], arr.q[station])
    np.testing.assert_array_equal(fit.array.r[index], arr.r[station])
    np.testing.assert_array_equal(fit.station_ids[index], ids)
    # the array keeps the real positions: distances between stations are the site-frame ones
    d_site = np.hypot(x[5] - x[900], y[5] - y[900])
    d_arr = np.hypot(fit.array.x[index[5]] - fit.array.x[index[900]], fit.array.y[index[5]] - fit.array.y[index[900]])
    assert d_arr == pytest.approx(d_site, abs=1e-6)
    np.testing.assert_allclose(fit.array.z[index], z)
    # each station lies in the hexagon of its cell, tens of metres from its node
    q, r = xy_to_axial(fit.array.x, fit.array.y)
    np.testing.assert_array_equal(q, fit.array.q)
    np.testing.assert_array_equal(r, fit.array.r)
    assert fit.offset_m.max() < 150.0 and np.median(fit.offset_m) < 50.0
    # the array frame maps the site frame: the origin lands on cell (0, 0)
    ox, oy = fit.to_array_frame(np.array(fit.origin[0]), np.array(fit.origin[1]))
    assert abs(float(ox)) < 1e-6 and abs(float(oy)) < 1e-6
    np.testing.assert_array_equal(fit.array.station_at(fit.array.q, fit.array.r), np.arange(arr.n))


def test_orientation_is_found_modulo_sixty_degrees() -> None:
    arr = sd1500()
    ids, x, y, z = _site(47.0, 30.0, seed=2)
    assert np.degrees(lattice_angle(x, y)) == pytest.approx(47.0 - 60.0, abs=0.1)
    fit = fit_lattice(ids, x, y, z)
    index = fit.indices(ids)
    station = (ids - 100) // 3
    # the lattice read 60 deg off: the cells are those of sd1500 rotated by one symmetry of the hexagon
    q, r = transform_offsets(arr.q[station], arr.r[station], 1)
    np.testing.assert_array_equal(fit.array.q[index], q)
    np.testing.assert_array_equal(fit.array.r[index], r)


def test_station_far_off_its_node_is_refused_by_id_with_its_offset() -> None:
    ids, x, y, z = _site(-8.0, 10.0, seed=3)
    k = 700
    a = np.radians(-8.0)
    x[k] += 400.0 * np.cos(a + 0.3)  # 400 m off, not towards a neighbour
    y[k] += 400.0 * np.sin(a + 0.3)
    with pytest.raises(LatticeError, match=rf"station {ids[k]} lies 4\d\d m from its lattice node") as info:
        fit_lattice(ids, x, y, z)
    assert info.value.station_ids == (int(ids[k]),)
    assert 380.0 < info.value.offset_m < 420.0
    assert DEFAULT_TOLERANCE_M < 400.0
    fit_lattice(ids, x, y, z, tolerance_m=450.0)  # within a looser tolerance


def test_two_stations_in_one_cell_are_refused_or_merged() -> None:
    ids, x, y, z = _site(5.0, 10.0, seed=4)
    twin_x, twin_y = x[300] + 11.0, y[300] - 4.0  # a twin station 12 m from station 300
    ids2 = np.append(ids, 99_999)
    x2, y2, z2 = np.append(x, twin_x), np.append(y, twin_y), np.append(z, z[300])
    with pytest.raises(LatticeError, match=rf"stations {ids[300]} and 99999 fall into the same lattice cell"):
        fit_lattice(ids2, x2, y2, z2)
    fit = fit_lattice(ids2, x2, y2, z2, shared_cells="merge")
    assert fit.array.n == sd1500().n
    i = fit.indices(np.array([ids[300], 99_999]))
    assert i[0] == i[1] >= 0
    assert fit.station_ids[i[0]] == ids[300]  # the smaller real id names the cell
    assert fit.index[99_999] == i[0]
    ax, ay = fit.to_array_frame(np.array([x[300], twin_x]), np.array([y[300], twin_y]))
    assert fit.array.x[i[0]] == pytest.approx(ax.mean()) and fit.array.y[i[0]] == pytest.approx(ay.mean())


def test_malformed_input_is_refused() -> None:
    ids, x, y, z = _site(0.0, 5.0)
    with pytest.raises(LatticeError, match="given twice"):
        fit_lattice(np.append(ids, ids[0]), np.append(x, 0.0), np.append(y, 0.0), np.append(z, 0.0))
    x_bad = x.copy()
    x_bad[3] = np.nan
    with pytest.raises(LatticeError, match=f"station {ids[3]} has a non-finite position"):
        fit_lattice(ids, x_bad, y, z)
    with pytest.raises(ValueError, match="differ in length"):
        fit_lattice(ids, x[:-1], y, z)
    with pytest.raises(LatticeError, match="cannot find the lattice orientation"):
        fit_lattice(np.array([1, 2]), np.array([0.0, 5000.0]), np.array([0.0, 0.0]), np.zeros(2))
    with pytest.raises(ValueError, match="shared_cells"):
        fit_lattice(ids, x, y, z, shared_cells="keep")


def test_a_few_stations_and_a_chosen_reference() -> None:
    # seven stations of a hexagon far from the origin, in a local frame rotated by 0.2 deg
    q = np.array([0, 1, 0, -1, -1, 0, 1]) + 7
    r = np.array([0, 0, 1, 1, 0, -1, -1]) - 3
    x, y = axial_to_xy(q, r)
    a = np.radians(0.2)
    sx, sy = np.cos(a) * x - np.sin(a) * y - 4000.0, np.sin(a) * x + np.cos(a) * y + 500.0
    ids = np.arange(501, 508)
    fit = fit_lattice(ids, sx, sy, np.full(7, 2.0), reference_id=501)
    assert fit.station_ids[fit.array.station_at(0, 0)] == 501  # the reference station sits in cell (0, 0)
    assert fit.origin == pytest.approx((sx[0], sy[0]), abs=1e-6)
    assert set(zip(fit.array.q.tolist(), fit.array.r.tolist())) == set(zip((q - 7).tolist(), (r + 3).tolist()))
    assert fit.indices(np.array([999])).tolist() == [-1]
    single = fit_lattice(np.array([42]), np.array([10.0]), np.array([20.0]), np.array([1400.0]))
    assert single.array.n == 1 and single.station_ids.tolist() == [42]


def test_array_from_cells_builds_the_lookup_for_any_extent() -> None:
    q = np.array([40, 41, -35, 0])
    r = np.array([-50, -50, 12, 0])
    x, y = axial_to_xy(q, r, SPACING_M)
    arr = array_from_cells(q, r, x, y, np.full(4, 1400.0))
    np.testing.assert_array_equal(arr.station_at(q, r), np.arange(4))
    assert arr.station_at(np.array([39, 100]), np.array([-50, 0])).tolist() == [-1, -1]
    assert arr.offset == 52 and arr.lookup.shape == (105, 105)
    assert not arr.x.flags.writeable
    with pytest.raises(LatticeError, match="share lattice cell"):
        array_from_cells(np.array([1, 1]), np.array([2, 2]), np.zeros(2), np.zeros(2), np.zeros(2))


def test_station_medians_per_id_as_numpy_median() -> None:
    ids = np.array([7, 3, 7, 7, 3, 9, 7])
    x = np.array([1.0, 2.0, 3.0, 10.0, 4.0, 7.0, 2.0])
    uniq, mx, my, mz = station_medians(ids, x, -x, np.zeros(7))
    assert uniq.tolist() == [3, 7, 9]
    np.testing.assert_allclose(mx, [np.median([2.0, 4.0]), np.median([1.0, 3.0, 10.0, 2.0]), 7.0])
    np.testing.assert_allclose(my, -mx)
    with pytest.raises(ValueError, match="differ in length"):
        station_medians(ids, x[:-1], x, x)


def _sightings(ids, x, y, z, events: int = 5, seed: int = 6):
    """Every station seen in ``events`` events (its position the same each time), in random order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(ids.size * events)
    return tuple(np.tile(a, events)[order] for a in (ids, x, y, z))


def test_fit_sightings_takes_each_station_at_its_median_position() -> None:
    ids, x, y, z = _site(12.0, 30.0, seed=7)
    sid, sx, sy, sz = _sightings(ids, x, y, z)
    first = np.flatnonzero(sid == ids[200])[0]
    sx[first] += 900.0  # one sighting far off: the median ignores it
    fit = fit_sightings(sid, sx, sy, sz)
    ref = fit_lattice(ids, x, y, z)
    assert fit.angle_rad == pytest.approx(ref.angle_rad) and fit.origin == pytest.approx(ref.origin)
    np.testing.assert_array_equal(fit.indices(ids), ref.indices(ids))
    np.testing.assert_allclose(fit.array.x, ref.array.x)
    assert fit.tolerance_m == DEFAULT_TOLERANCE_M
    with pytest.raises(ValueError, match="no stations"):
        fit_sightings(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))


def test_place_maps_stations_and_refuses_by_row() -> None:
    ids, x, y, z = _site(-21.0, 30.0, seed=8)
    fit = fit_lattice(ids, x, y, z, tolerance_m=250.0)
    some = np.array([17, 400, 1001, 3])
    placed = fit.place(ids[some], x[some], y[some])
    np.testing.assert_array_equal(placed.index, fit.indices(ids[some]))
    np.testing.assert_allclose(placed.x, fit.array.x[placed.index], atol=1e-6)
    np.testing.assert_allclose(placed.y, fit.array.y[placed.index], atol=1e-6)
    np.testing.assert_allclose(placed.offset_m, fit.offset_m[placed.index], atol=1e-6)
    with pytest.raises(LatticeError, match="station 5 is not on the dataset's array") as info:
        fit.place(np.array([ids[17], 5]), x[[17, 17]], y[[17, 17]])
    assert info.value.row == 1 and info.value.station_ids == (5,)
    # moved in this event: 280 m (beyond the fit's tolerance of 250 m), or into the next cell
    a = np.radians(-21.0)
    mx, my = x[some].copy(), y[some].copy()
    mx[2] += 280.0 * np.cos(a + 0.4)
    my[2] += 280.0 * np.sin(a + 0.4)
    with pytest.raises(LatticeError, match=rf"station {ids[1001]}: at \(\d+, \d+\) m it lies (2[5-9]|3[0-4])\d m "
                       r"from the lattice node of cell .*; the dataset puts it in cell .* \(tolerance 250 m\)") as info:
        fit.place(ids[some], mx, my)
    assert info.value.row == 2 and 250.0 < info.value.offset_m < 350.0
    assert fit.place(ids[some], mx, my, tolerance_m=400.0).index.tolist() == placed.index.tolist()
    mx[2] += 1500.0 * np.cos(a)  # one spacing along a lattice row: the neighbouring cell
    my[2] += 1500.0 * np.sin(a)
    with pytest.raises(LatticeError, match=rf"station {ids[1001]}: .*the dataset puts it in cell") as info:
        fit.place(ids[some], mx, my, tolerance_m=400.0)
    assert info.value.row == 2
